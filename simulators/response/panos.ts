/**
 * A simulated PAN-OS XML API (response.md §3, `data/vendors/panos/`): `type=keygen` (POST form),
 * `type=user-id` with a `<uid-message>` register/unregister of IP tags (with `timeout` seconds), and
 * `type=op` `<show><object><registered-ip>…` to read the registered IPs back. An invalid key gets
 * `<response status="error" code="403">…Invalid credential…`.
 *
 * Like a real firewall (PAN-OS 6.0+; the XML is the one quoted in kevinsteves/pan-python pull
 * request #1, and pan-os-python's `UserId.send` matches the same texts), registering a tag an IP
 * already carries and unregistering one it does not carry are ERRORS: HTTP 200 with
 * `<response status="error"><msg><line><uid-response>…<entry ip="…" message="tag T already exists,
 * ignore"/>` (or `… does not exist, ignore unreg`). ASSUMED where no source says: the other entries
 * of the same message are still applied (only the offending entries are listed); a duplicate
 * register does not refresh the tag's timeout; the answer to a message that mixes both kinds lists
 * them under `<register>` and `<unregister>` respectively.
 */
import { randomBytes } from "node:crypto";
import { XMLParser } from "fast-xml-parser";
import { type LoopbackServer, type SimReply, startLoopback } from "./common.ts";

export interface PanosSimulator extends LoopbackServer {
  username: string;
  password: string;
  /** IP → tag → expiry (epoch ms; Infinity when no timeout). */
  registered: Map<string, Map<string, number>>;
  /** Revokes every issued key (the next calls get 403 until a new keygen). */
  revokeKeys(): void;
  modes: { ignoreRegister: boolean };
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  isArray: (n) => ["entry", "member"].includes(n),
});
const xml = (status: number, text: string): SimReply => ({
  status,
  text,
  headers: { "content-type": "application/xml" },
});
const err = (code: number, msg: string) =>
  xml(200, `<response status="error" code="${code}"><result><msg>${msg}</msg></result></response>`);

type Entry = { "@ip"?: string; tag?: { member?: (string | { "#text": string; "@timeout"?: string })[] } };

export async function startPanosSimulator(options: { port?: number } = {}): Promise<PanosSimulator> {
  const username = "medsoc-api";
  const password = "panos-password-sim";
  const keys = new Set<string>();
  const registered = new Map<string, Map<string, number>>();
  const modes = { ignoreRegister: false };
  const tagsOf = (ip: string) => {
    const now = Date.now();
    const m = registered.get(ip);
    if (!m) return [];
    for (const [t, exp] of m) if (exp <= now) m.delete(t);
    return [...m.keys()];
  };
  const base = await startLoopback((req) => {
    const form = new URLSearchParams(req.method === "POST" ? req.body : "");
    for (const [k, v] of req.query) if (!form.has(k)) form.set(k, v);
    if (req.path !== "/api/" && req.path !== "/api") return xml(404, "<html>Not Found</html>");
    const type = form.get("type");
    if (type === "keygen") {
      if (form.get("user") !== username || form.get("password") !== password)
        return xml(
          403,
          `<response status="error" code="403"><result><msg>Invalid Credential</msg></result></response>`,
        );
      const key = randomBytes(24).toString("base64");
      keys.add(key);
      return xml(200, `<response status="success"><result><key>${key}</key></result></response>`);
    }
    const key = form.get("key") ?? req.headers["x-pan-key"];
    if (typeof key !== "string" || !keys.has(key))
      return xml(
        403,
        `<response status="error" code="403"><result><msg>Invalid credential</msg></result></response>`,
      );
    const cmd = form.get("cmd") ?? "";
    if (type === "user-id") {
      let doc: {
        "uid-message"?: { payload?: { register?: { entry?: Entry[] }; unregister?: { entry?: Entry[] } } };
      };
      try {
        doc = parser.parse(cmd);
      } catch {
        return err(400, "Malformed uid-message");
      }
      const payload = doc["uid-message"]?.payload;
      if (!payload) return err(400, "Malformed uid-message: no payload");
      const regErrors: string[] = [];
      const unregErrors: string[] = [];
      for (const e of payload.register?.entry ?? []) {
        const ip = e["@ip"];
        if (!ip) return err(400, "entry without ip");
        for (const m of e.tag?.member ?? []) {
          const tag = typeof m === "string" ? m : m["#text"];
          const timeout = typeof m === "string" ? 0 : Number(m["@timeout"] ?? 0);
          if (timeout > 2_592_000) return err(400, `timeout ${timeout} exceeds 2592000`);
          if (tagsOf(ip).includes(tag)) {
            regErrors.push(`<entry ip="${ip}" message="tag ${tag} already exists, ignore"/>`);
            continue;
          }
          if (modes.ignoreRegister) continue;
          const m2 = registered.get(ip) ?? new Map<string, number>();
          m2.set(tag, timeout > 0 ? Date.now() + timeout * 1000 : Number.POSITIVE_INFINITY);
          registered.set(ip, m2);
        }
      }
      for (const e of payload.unregister?.entry ?? []) {
        const ip = e["@ip"] ?? "";
        for (const m of e.tag?.member ?? []) {
          const tag = typeof m === "string" ? m : m["#text"];
          if (!tagsOf(ip).includes(tag)) {
            unregErrors.push(`<entry ip="${ip}" message="tag ${tag} does not exist, ignore unreg"/>`);
            continue;
          }
          registered.get(ip)?.delete(tag);
        }
      }
      if (regErrors.length || unregErrors.length) {
        const parts = [
          regErrors.length ? `<register>${regErrors.join("")}</register>` : "",
          unregErrors.length ? `<unregister>${unregErrors.join("")}</unregister>` : "",
        ].join("");
        return xml(
          200,
          `<response status="error"><msg><line><uid-response><version>2.0</version><payload>${parts}</payload></uid-response></line></msg></response>`,
        );
      }
      return xml(
        200,
        `<response status="success"><result><uid-response><version>2.0</version><payload>${payload.unregister ? "<unregister/>" : "<register/>"}</payload></uid-response></result></response>`,
      );
    }
    if (type === "op") {
      const m =
        /<registered-ip>(?:<tag><entry name="([^"]+)"\/><\/tag>)?(?:<ip>([^<]+)<\/ip>)?<\/registered-ip>/.exec(
          cmd,
        );
      if (!cmd.includes("<registered-ip>") || !m) return err(400, "Unsupported op command");
      const tag = m[1];
      const onlyIp = m[2];
      const rows: string[] = [];
      for (const ip of registered.keys()) {
        if (onlyIp && ip !== onlyIp) continue;
        const tags = tagsOf(ip);
        if (!tags.length || (tag && !tags.includes(tag))) continue;
        rows.push(
          `<entry ip="${ip}" from_agent="0" persistent="1"><tag>${tags.map((t) => `<member>${t}</member>`).join("")}</tag></entry>`,
        );
      }
      return xml(
        200,
        `<response status="success"><result>${rows.join("")}<count>${rows.length}</count></result></response>`,
      );
    }
    return err(400, `Unsupported type ${type}`);
  }, options);
  return Object.assign(base, { username, password, registered, modes, revokeKeys: () => keys.clear() });
}
