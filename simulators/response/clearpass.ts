/**
 * A simulated Aruba ClearPass Policy Manager API (response.md §2, `data/vendors/clearpass/api_shapes.json`):
 * `POST /api/oauth` (client_credentials → `{access_token, expires_in, token_type, scope}`), endpoint
 * GET/PATCH by MAC (12 lower-case hex digits; PATCH merges `attributes`), the HAL endpoint list with a
 * `filter` JSON, and `POST /api/session-action/coa|disconnect/mac/{mac}?async=false` (CoA without
 * `enforcement_profile` is a 422 — it is mandatory; an unknown profile is a 422 too).
 *
 * Failure modes besides the common ones: `expireTokens()` invalidates every issued token (the next
 * call gets 401 and the client must fetch a new one), `ignorePatch` answers 200 to PATCH and changes
 * nothing (the "2xx is not proof" case).
 */
import { randomBytes } from "node:crypto";
import { json, type LoopbackServer, type SimReply, startLoopback } from "./common.ts";

export interface ClearPassSimulator extends LoopbackServer {
  clientId: string;
  clientSecret: string;
  /** MAC (12 lower-case hex) → endpoint. */
  endpoints: Map<string, { id: number; status: string; attributes: Record<string, string> }>;
  /** Session actions applied, newest last. */
  sessionActions: { mac: string; action: "coa" | "disconnect"; profiles: string[] }[];
  /** Enforcement profiles that exist. */
  profiles: Set<string>;
  modes: { ignorePatch: boolean };
  /** Endpoints without an active session (CoA/disconnect answer 404). */
  offline: Set<string>;
  expireTokens(): void;
}

const problem = (status: number, detail: string): SimReply => ({
  status,
  body: { type: "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html", title: "Error", status, detail },
  headers: { "content-type": "application/problem+json" },
});

export async function startClearPassSimulator(
  options: { macs?: Iterable<string>; port?: number; tokenTtlSeconds?: number } = {},
): Promise<ClearPassSimulator> {
  const clientId = "medsoc-soar";
  const clientSecret = `cp-secret-${randomBytes(8).toString("hex")}`;
  const tokens = new Map<string, number>();
  const endpoints: ClearPassSimulator["endpoints"] = new Map();
  let nextId = 3001;
  for (const m of options.macs ?? [])
    endpoints.set(m.toLowerCase().replace(/[^0-9a-f]/g, ""), {
      id: nextId++,
      status: "Known",
      attributes: { "Device Type": "Infusion Pump" },
    });
  const sessionActions: ClearPassSimulator["sessionActions"] = [];
  const profiles = new Set(["IoMT Quarantine VLAN", "IoMT Restricted Access"]);
  const modes = { ignorePatch: false };
  const offline = new Set<string>();
  const view = (mac: string) => {
    const e = endpoints.get(mac);
    return (
      e && {
        id: e.id,
        mac_address: mac,
        status: e.status,
        attributes: { ...e.attributes },
        device_insight_tags: [],
      }
    );
  };
  const base = await startLoopback(
    (req): SimReply => {
      if (req.method === "POST" && req.path === "/api/oauth") {
        const b = json(req.body);
        if (b?.grant_type !== "client_credentials")
          return { status: 400, body: { error: "unsupported_grant_type", error_description: "grant_type" } };
        if (b.client_id !== clientId || b.client_secret !== clientSecret)
          return {
            status: 400,
            body: { error: "invalid_client", error_description: "Invalid client credentials" },
          };
        const token = randomBytes(16).toString("hex");
        const ttl = options.tokenTtlSeconds ?? 28_800;
        tokens.set(token, Date.now() + ttl * 1000);
        return {
          status: 200,
          body: { access_token: token, expires_in: ttl, token_type: "Bearer", scope: null },
        };
      }
      const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
      if (!auth || (tokens.get(auth) ?? 0) < Date.now())
        return problem(401, "Invalid or expired access token");
      if (req.method === "GET" && req.path === "/api/endpoint") {
        let mac: string | undefined;
        try {
          mac = (JSON.parse(req.query.get("filter") ?? "{}") as { mac_address?: string }).mac_address;
        } catch {
          return problem(400, "filter is not valid JSON");
        }
        const limit = Number(req.query.get("limit") ?? 25);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
          return problem(400, "limit must be 1-1000");
        const items = (mac ? [mac] : [...endpoints.keys()]).flatMap((m) => view(m) ?? []).slice(0, limit);
        return { status: 200, body: { _links: { self: { href: req.path } }, _embedded: { items } } };
      }
      const ep = /^\/api\/endpoint\/mac-address\/([^/]+)$/.exec(req.path);
      if (ep) {
        const mac = ep[1] as string;
        if (!/^[0-9a-f]{12}$/.test(mac)) return problem(400, `invalid mac_address ${mac}`);
        const e = endpoints.get(mac);
        if (!e) return problem(404, `Endpoint with mac_address ${mac} not found`);
        if (req.method === "GET") return { status: 200, body: view(mac) };
        if (req.method === "PATCH") {
          const b = json(req.body);
          if (!b) return problem(415, "body must be JSON");
          const attrs = b.attributes;
          if (attrs !== undefined && (typeof attrs !== "object" || attrs === null || Array.isArray(attrs)))
            return problem(422, "attributes must be an object");
          if (b.status !== undefined && !["Known", "Unknown", "Disabled"].includes(String(b.status)))
            return problem(422, "status must be Known, Unknown or Disabled");
          if (!modes.ignorePatch) {
            for (const [k, v] of Object.entries((attrs as Record<string, unknown>) ?? {}))
              e.attributes[k] = String(v);
            if (b.status) e.status = String(b.status);
          }
          return { status: 200, body: view(mac) };
        }
      }
      const sa = /^\/api\/session-action\/(coa|disconnect)\/mac\/([^/]+)$/.exec(req.path);
      if (req.method === "POST" && sa) {
        const action = sa[1] as "coa" | "disconnect";
        const mac = sa[2] as string;
        if (!endpoints.has(mac) || offline.has(mac)) return problem(404, `No active session for ${mac}`);
        const b = json(req.body) ?? {};
        const list = b.enforcement_profile;
        if (action === "coa") {
          if (!Array.isArray(list) || list.length === 0)
            return problem(422, "enforcement_profile is mandatory for CoA");
          const unknown = list.filter((p) => !profiles.has(String(p)));
          if (unknown.length) return problem(422, `Enforcement profile ${unknown.join(", ")} does not exist`);
        }
        sessionActions.push({ mac, action, profiles: Array.isArray(list) ? list.map(String) : [] });
        if (req.query.get("async") === "true") return { status: 202, body: { status: "Accepted" } };
        return { status: 200, body: { mac_address: mac, action, status: "Success" } };
      }
      return problem(404, `no route ${req.method} ${req.path}`);
    },
    { port: options.port, unauthorizedBody: problem(401, "Invalid or expired access token") },
  );
  return Object.assign(base, {
    clientId,
    clientSecret,
    endpoints,
    sessionActions,
    profiles,
    modes,
    offline,
    expireTokens: () => tokens.clear(),
  });
}
