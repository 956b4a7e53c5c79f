/**
 * A simulated HashiCorp Vault KV version 2 mount (response.md §6, `data/vendors/vault/`):
 * `X-Vault-Token` auth (403 `permission denied` otherwise, as Vault answers), AppRole login with a
 * `lease_duration` after which the token stops working, `GET/POST /v1/<mount>/data/<path>` with
 * `options.cas` (a mismatch is a 400), `?version=N` reads, `GET /v1/<mount>/metadata/<path>`, and
 * soft `delete`/`undelete`. `destroy` is refused: a playbook must never destroy a version.
 */
import { randomBytes } from "node:crypto";
import { json, type LoopbackServer, type SimReply, startLoopback } from "./common.ts";

interface Version {
  data: Record<string, unknown>;
  created_time: string;
  deletion_time: string;
  destroyed: boolean;
}

export interface VaultSimulator extends LoopbackServer {
  /** A root-like static token. */
  token: string;
  roleId: string;
  secretId: string;
  mount: string;
  /** path → versions (index 0 = version 1). */
  secrets: Map<string, Version[]>;
  /** AppRole token lifetime (seconds) for the next logins. */
  setTokenTtl(seconds: number): void;
}

const denied: SimReply = { status: 403, body: { errors: ["permission denied"] } };

export async function startVaultSimulator(
  options: { mount?: string; port?: number } = {},
): Promise<VaultSimulator> {
  const mount = options.mount ?? "secret";
  const token = `hvs.${randomBytes(12).toString("hex")}`;
  const roleId = randomBytes(8).toString("hex");
  const secretId = randomBytes(16).toString("hex");
  const tokens = new Map<string, number>([[token, Number.POSITIVE_INFINITY]]);
  const secrets = new Map<string, Version[]>();
  let ttl = 3600;
  const current = (vs: Version[]) => vs.length;
  const base = await startLoopback(
    (req): SimReply => {
      if (req.method === "POST" && req.path === "/v1/auth/approle/login") {
        const b = json(req.body);
        if (b?.role_id !== roleId || b?.secret_id !== secretId)
          return { status: 400, body: { errors: ["invalid role or secret ID"] } };
        const t = `hvs.${randomBytes(12).toString("hex")}`;
        tokens.set(t, Date.now() + ttl * 1000);
        return {
          status: 200,
          body: {
            auth: {
              client_token: t,
              accessor: randomBytes(8).toString("hex"),
              policies: ["default", "medsoc"],
              token_policies: ["default", "medsoc"],
              lease_duration: ttl,
              renewable: true,
              token_type: "service",
            },
          },
        };
      }
      const t = req.headers["x-vault-token"];
      const exp = typeof t === "string" ? tokens.get(t) : undefined;
      if (exp === undefined || exp < Date.now()) return denied;
      const m = new RegExp(`^/v1/${mount}/(data|metadata|delete|undelete|destroy)/(.+)$`).exec(req.path);
      if (!m) return { status: 404, body: { errors: [] } };
      const [, kind, path] = m as unknown as [string, string, string];
      const vs = secrets.get(path) ?? [];
      if (kind === "data" && req.method === "GET") {
        const want = req.query.get("version") ? Number(req.query.get("version")) : current(vs);
        const v = vs[want - 1];
        if (!v) return { status: 404, body: { errors: [] } };
        const metadata = {
          created_time: v.created_time,
          custom_metadata: null,
          deletion_time: v.deletion_time,
          destroyed: v.destroyed,
          version: want,
        };
        if (v.deletion_time) return { status: 404, body: { data: { data: null, metadata } } };
        return {
          status: 200,
          body: { request_id: randomBytes(8).toString("hex"), data: { data: v.data, metadata } },
        };
      }
      if (kind === "data" && (req.method === "POST" || req.method === "PUT")) {
        const b = json(req.body) as
          | { data?: Record<string, unknown>; options?: { cas?: number } }
          | undefined;
        if (!b?.data || typeof b.data !== "object")
          return { status: 400, body: { errors: ["no data provided"] } };
        const cas = b.options?.cas;
        if (cas !== undefined && cas !== current(vs))
          return {
            status: 400,
            body: { errors: ["check-and-set parameter did not match the current version"] },
          };
        const v: Version = {
          data: b.data,
          created_time: new Date().toISOString(),
          deletion_time: "",
          destroyed: false,
        };
        vs.push(v);
        secrets.set(path, vs);
        return {
          status: 200,
          body: {
            data: { created_time: v.created_time, deletion_time: "", destroyed: false, version: vs.length },
          },
        };
      }
      if (kind === "metadata" && req.method === "GET") {
        if (!vs.length) return { status: 404, body: { errors: [] } };
        const versions: Record<string, unknown> = {};
        vs.forEach((v, i) => {
          versions[String(i + 1)] = {
            created_time: v.created_time,
            deletion_time: v.deletion_time,
            destroyed: v.destroyed,
          };
        });
        return {
          status: 200,
          body: {
            data: {
              current_version: vs.length,
              oldest_version: 1,
              max_versions: 0,
              cas_required: false,
              custom_metadata: null,
              versions,
            },
          },
        };
      }
      if ((kind === "delete" || kind === "undelete") && req.method === "POST") {
        const b = json(req.body) as { versions?: number[] } | undefined;
        for (const n of b?.versions ?? []) {
          const v = vs[n - 1];
          if (v) v.deletion_time = kind === "delete" ? new Date().toISOString() : "";
        }
        return { status: 204 };
      }
      if (kind === "destroy")
        return { status: 403, body: { errors: ["destroy is not allowed for medsoc (simulator policy)"] } };
      return { status: 405, body: { errors: ["unsupported"] } };
    },
    { port: options.port, unauthorizedBody: denied },
  );
  return Object.assign(base, {
    token,
    roleId,
    secretId,
    mount,
    secrets,
    setTokenTtl: (s: number) => {
      ttl = s;
    },
  });
}
