/**
 * A simulated Forescout appliance for containment (response.md §5, monitors.md §6): DEX
 * `POST /fsapi/niCore/Hosts` (HTTP Basic, XML `FSAPI` request with `TRANSACTION TYPE="update|delete"`,
 * `HOST_KEY NAME="ip|mac"`, `PROPERTIES`), answering XML with `CODE`/`MESSAGE` (`FSAPI_OK` and the
 * "Successfully updated [1] properties …" message as in the Splunk SOAR Forescout connector docs;
 * errors with HTTP 200 and a non-OK code — the case "HTTP 200 alone does not mean success"), and the
 * eyeSight Web API: `POST /api/login` (form) → the JWT as the body, `GET /api/hosts/ip/{ip}?fields=…`
 * → `{"host":{"id","ip","mac","fields":{"<name>":{"value","timestamp"}}}}` (absent when unset).
 *
 * Assumed (no public sample): the response envelope `<FSAPI TYPE="response"><STATUS><CODE>…`, the
 * non-OK code names, and the raw JWT in `Authorization`. Failure modes besides the common ones:
 * `ignoreUpdate` (FSAPI_OK, nothing changes), `expireJwt()` (the next Web API call gets 401).
 * ASSUMED: an update to the value already set, and a delete of a property the host does not carry,
 * answer FSAPI_OK (the action reads first and sends neither).
 */
import { randomBytes } from "node:crypto";
import { XMLParser } from "fast-xml-parser";
import { basicUser, type LoopbackServer, type SimReply, startLoopback } from "./common.ts";

export interface ForescoutResponseSimulator extends LoopbackServer {
  dexUsername: string;
  dexPassword: string;
  webUsername: string;
  webPassword: string;
  /** IP → {mac, properties}. */
  hosts: Map<string, { id: number; mac: string; properties: Map<string, { value: string; at: number }> }>;
  /** DEX properties defined in the plugin. */
  propertyNames: Set<string>;
  modes: { ignoreUpdate: boolean };
  expireJwt(): void;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  isArray: (n) => n === "PROPERTY",
});
const fsapi = (code: string, message: string): SimReply => ({
  status: 200,
  text: `<?xml version="1.0" encoding="UTF-8"?><FSAPI TYPE="response" API_VERSION="2.0"><STATUS><CODE>${code}</CODE><MESSAGE>${message}</MESSAGE></STATUS></FSAPI>`,
  headers: { "content-type": "application/xml" },
});

export async function startForescoutResponseSimulator(
  options: { hosts?: { ip: string; mac: string }[]; port?: number } = {},
): Promise<ForescoutResponseSimulator> {
  const dexUsername = "medsoc@dex";
  const dexPassword = `dex-${randomBytes(8).toString("hex")}`;
  const webUsername = "medsoc-web";
  const webPassword = `web-${randomBytes(8).toString("hex")}`;
  const jwts = new Set<string>();
  let nextId = 100;
  const hosts: ForescoutResponseSimulator["hosts"] = new Map(
    (options.hosts ?? []).map((h) => [
      h.ip,
      { id: nextId++, mac: h.mac.toLowerCase().replace(/[^0-9a-f]/g, ""), properties: new Map() },
    ]),
  );
  const propertyNames = new Set(["iomt_quarantine"]);
  const modes = { ignoreUpdate: false };
  const base = await startLoopback(
    (req): SimReply => {
      if (req.method === "POST" && req.path === "/fsapi/niCore/Hosts") {
        const u = basicUser(req.headers);
        if (!u || u.user !== dexUsername || u.password !== dexPassword)
          return { status: 401, text: "Unauthorized" };
        let doc: Record<string, unknown>;
        try {
          doc = parser.parse(req.body, true) as Record<string, unknown>;
        } catch {
          return fsapi("FSAPI_BAD_REQUEST", "Malformed XML");
        }
        const tx = (doc.FSAPI as { TRANSACTION?: Record<string, unknown> } | undefined)?.TRANSACTION;
        const type = tx?.["@TYPE"];
        const key = tx?.HOST_KEY as { "@NAME"?: string; "@VALUE"?: string } | undefined;
        if (!tx || (type !== "update" && type !== "delete") || !key?.["@VALUE"])
          return fsapi("FSAPI_BAD_REQUEST", "TRANSACTION TYPE and HOST_KEY are required");
        const want = String(key["@VALUE"]).toLowerCase();
        const ip =
          key["@NAME"] === "mac"
            ? [...hosts].find(([, h]) => h.mac === want.replace(/[^0-9a-f]/g, ""))?.[0]
            : hosts.has(want)
              ? want
              : undefined;
        if (!ip)
          return fsapi(
            "FSAPI_HOST_NOT_FOUND",
            `Host [${key["@NAME"]}=${key["@VALUE"]}] not found and CREATE_NEW_HOST is false`,
          );
        const props =
          (tx.PROPERTIES as { PROPERTY?: { "@NAME": string; VALUE?: unknown }[] } | undefined)?.PROPERTY ??
          [];
        const unknown = props.filter((p) => !propertyNames.has(p["@NAME"]));
        if (unknown.length)
          return fsapi("FSAPI_PROPERTY_NOT_FOUND", `Property [${unknown[0]?.["@NAME"]}] is not defined`);
        const host = hosts.get(ip) as NonNullable<ReturnType<typeof hosts.get>>;
        if (!modes.ignoreUpdate)
          for (const p of props) {
            if (type === "update")
              host.properties.set(p["@NAME"], {
                value: String(p.VALUE ?? ""),
                at: Math.floor(Date.now() / 1000),
              });
            else host.properties.delete(p["@NAME"]);
          }
        return fsapi(
          "FSAPI_OK",
          type === "update"
            ? `Successfully updated [${props.length}] properties for host [ip=${ip}]`
            : `Successfully deleted [${props.length}] properties for host [ip=${ip}]`,
        );
      }
      if (req.method === "POST" && req.path === "/api/login") {
        const form = new URLSearchParams(req.body);
        if (form.get("username") !== webUsername || form.get("password") !== webPassword)
          return { status: 401, text: "Invalid credentials" };
        const jwt = `eyJ${randomBytes(24).toString("base64url")}`;
        jwts.add(jwt);
        return { status: 200, text: jwt, headers: { "content-type": "text/plain" } };
      }
      const h = /^\/api\/hosts\/ip\/([^/]+)$/.exec(req.path);
      if (req.method === "GET" && h) {
        if (!jwts.has(req.headers.authorization ?? ""))
          return { status: 401, body: { error: "Unauthorized" } };
        const ip = decodeURIComponent(h[1] as string);
        const host = hosts.get(ip);
        if (!host) return { status: 404, body: { error: `Host ${ip} not found` } };
        const wanted = (req.query.get("fields") ?? "").split(",").filter(Boolean);
        const fields: Record<string, unknown> = {};
        for (const f of wanted) {
          const p = host.properties.get(f);
          if (p) fields[f] = { value: p.value, timestamp: p.at };
        }
        return {
          status: 200,
          body: { host: { id: host.id, ip, mac: host.mac, fields } },
          headers: { "content-type": "application/hal+json" },
        };
      }
      return { status: 404, text: "Not Found" };
    },
    { port: options.port, unauthorizedBody: { status: 401, text: "Unauthorized" } },
  );
  return Object.assign(base, {
    dexUsername,
    dexPassword,
    webUsername,
    webPassword,
    hosts,
    propertyNames,
    modes,
    expireJwt: () => jwts.clear(),
  });
}
