/**
 * A simulated CyberArk PVWA (response.md §7, `data/vendors/cyberark/`): `POST
 * /PasswordVault/API/auth/{CyberArk|LDAP|RADIUS|Windows}/Logon` → the session token as a JSON string
 * (sent back raw in `Authorization`), `auth/Logoff`, account search (`search`, `searchType`,
 * `offset`/`limit`, `filter=safeName eq …`; PVWA 12.1 list shape `{count, nextLink, value}`), account
 * GET, JSON-Patch `PATCH Accounts/{id}`, `Activities`, and the asynchronous CPM operations
 * `Change` / `SetNextPassword` / `Verify` / `Reconcile` (empty 200; the CPM acts `cpmDelayMs` later
 * and updates `secretManagement.{status, lastModifiedTime, lastVerifiedTime}`). Errors carry
 * `{ErrorCode, ErrorMessage}`.
 *
 * Assumed (single source / not in the samples): `secretManagement.status` and `lastVerifiedTime`,
 * the JSON-Patch body of the account update, and the error codes. Failure modes besides the common
 * ones: `expireSessions()` (401 on the next call), `cpmIgnores` (the CPM never acts: 200 and nothing
 * changes), `cpmFails` (account ids whose change the CPM reports as failed).
 */
import { randomBytes } from "node:crypto";
import { json, type LoopbackServer, type SimReply, startLoopback } from "./common.ts";

export interface PvwaAccount {
  id: string;
  name: string;
  address: string;
  userName: string;
  platformId: string;
  safeName: string;
  secretType: "password";
  platformAccountProperties: Record<string, string>;
  secretManagement: {
    automaticManagementEnabled: boolean;
    status?: "success" | "failure";
    lastModifiedTime: number;
    lastVerifiedTime?: number;
    manualManagementReason?: string;
  };
}

export interface CyberArkSimulator extends LoopbackServer {
  username: string;
  password: string;
  accounts: Map<string, PvwaAccount>;
  /** Account id → the password the vault holds / the device accepts. */
  vaultPassword: Map<string, string>;
  devicePassword: Map<string, string>;
  activities: Map<string, { Action: string; ActionID: number; Date: number; User: string }[]>;
  /** Requests per account operation (`Change`, `SetNextPassword`, …). */
  operations: { id: string; op: string }[];
  modes: { cpmIgnores: boolean; cpmFails: Set<string>; cpmDelayMs: number };
  expireSessions(): void;
}

const pvwaError = (status: number, code: string, message: string): SimReply => ({
  status,
  body: { ErrorCode: code, ErrorMessage: message, message },
});

export async function startCyberArkSimulator(
  options: {
    accounts?: { id: string; userName: string; address: string; safeName?: string }[];
    port?: number;
  } = {},
): Promise<CyberArkSimulator> {
  const username = "svc_soar";
  const password = `pvwa-${randomBytes(8).toString("hex")}`;
  const sessions = new Set<string>();
  const accounts = new Map<string, PvwaAccount>();
  const vaultPassword = new Map<string, string>();
  const devicePassword = new Map<string, string>();
  const activities: CyberArkSimulator["activities"] = new Map();
  const operations: CyberArkSimulator["operations"] = [];
  const modes = { cpmIgnores: false, cpmFails: new Set<string>(), cpmDelayMs: 30 };
  const t0 = Math.floor(Date.now() / 1000) - 86_400;
  for (const a of options.accounts ?? []) {
    accounts.set(a.id, {
      id: a.id,
      name: `${a.address}-${a.userName}`,
      address: a.address,
      userName: a.userName,
      platformId: "IoMTDevice",
      safeName: a.safeName ?? "IoMT-Pumps",
      secretType: "password",
      platformAccountProperties: {},
      secretManagement: { automaticManagementEnabled: true, lastModifiedTime: t0 },
    });
    const initial = `initial-${randomBytes(6).toString("hex")}`;
    vaultPassword.set(a.id, initial);
    devicePassword.set(a.id, initial);
  }
  const log = (id: string, Action: string, ActionID: number) => {
    const list = activities.get(id) ?? [];
    list.unshift({ Action, ActionID, Date: Math.floor(Date.now() / 1000), User: username });
    activities.set(id, list);
  };
  const cpm = (id: string, op: string, next?: string) => {
    if (modes.cpmIgnores) return;
    setTimeout(() => {
      const a = accounts.get(id);
      if (!a) return;
      const now = Math.floor(Date.now() / 1000);
      if (op === "Verify") {
        // Epoch seconds that never repeat: a CPM operation takes longer than a second on real vaults.
        a.secretManagement.lastVerifiedTime = Math.max(now, (a.secretManagement.lastVerifiedTime ?? 0) + 1);
        a.secretManagement.status = vaultPassword.get(id) === devicePassword.get(id) ? "success" : "failure";
        log(id, "CPM Verify Password", 30);
        return;
      }
      if (modes.cpmFails.has(id)) {
        a.secretManagement.status = "failure";
        a.secretManagement.manualManagementReason = "CPM: the target refused the password change";
        log(id, "CPM Change Password Failed", 31);
        return;
      }
      const pw =
        op === "Reconcile"
          ? (vaultPassword.get(id) as string)
          : (next ?? `cpm-${randomBytes(10).toString("hex")}`);
      vaultPassword.set(id, pw);
      devicePassword.set(id, pw);
      a.secretManagement.status = "success";
      a.secretManagement.lastModifiedTime = Math.max(now, a.secretManagement.lastModifiedTime + 1);
      delete a.secretManagement.manualManagementReason;
      log(id, op === "Reconcile" ? "CPM Reconcile Password" : "CPM Change Password", 294);
    }, modes.cpmDelayMs).unref();
  };
  const base = await startLoopback(
    (req): SimReply => {
      const p = req.path.replace(/\/+$/, "");
      const logon = /^\/PasswordVault\/API\/auth\/(CyberArk|LDAP|RADIUS|Windows)\/Logon$/i.exec(p);
      if (req.method === "POST" && logon) {
        const b = json(req.body);
        if (b?.username !== username || b.password !== password)
          return pvwaError(
            403,
            "ITATS004E",
            `Authentication failure for User [${String(b?.username ?? "")}].`,
          );
        const token = randomBytes(24).toString("base64");
        sessions.add(token);
        return { status: 200, body: token };
      }
      const tok = req.headers.authorization ?? "";
      if (!sessions.has(tok))
        return pvwaError(401, "PASWS006E", "Your session has expired. Please log in again.");
      if (req.method === "POST" && p === "/PasswordVault/API/auth/Logoff") {
        sessions.delete(tok);
        return { status: 200, text: "" };
      }
      if (req.method === "GET" && p === "/PasswordVault/API/Accounts") {
        const words = (req.query.get("search") ?? "").toLowerCase().split(/\s+/).filter(Boolean);
        const filter = req.query.get("filter") ?? "";
        const safe = /^safeName eq (.+)$/.exec(filter)?.[1];
        if (filter && !safe) return pvwaError(400, "PASWS167E", `Invalid filter ${filter}`);
        const offset = Number(req.query.get("offset") ?? 0);
        const limit = Math.min(1000, Number(req.query.get("limit") ?? 50));
        const hits = [...accounts.values()].filter(
          (a) =>
            (!safe || a.safeName === safe) &&
            words.every((w) => `${a.name} ${a.userName} ${a.address}`.toLowerCase().includes(w)),
        );
        const page = hits.slice(offset, offset + limit);
        return {
          status: 200,
          body: {
            count: hits.length,
            ...(offset + limit < hits.length
              ? {
                  nextLink: `api/Accounts?offset=${offset + limit}&limit=${limit}&search=${encodeURIComponent(req.query.get("search") ?? "")}${safe ? `&filter=${encodeURIComponent(filter)}` : ""}`,
                }
              : {}),
            value: page,
          },
        };
      }
      const acc = /^\/PasswordVault\/API\/Accounts\/([^/]+)(?:\/(.+))?$/.exec(p);
      if (acc) {
        const id = decodeURIComponent(acc[1] as string);
        const a = accounts.get(id);
        if (!a) return pvwaError(404, "PASWS004E", `Account ${id} was not found.`);
        const op = acc[2];
        if (!op && req.method === "GET") return { status: 200, body: a };
        if (!op && req.method === "PATCH") {
          let ops: unknown;
          try {
            ops = JSON.parse(req.body);
          } catch {
            return pvwaError(400, "PASWS001E", "The request body is not valid JSON.");
          }
          if (!Array.isArray(ops)) return pvwaError(400, "PASWS001E", "Expected a JSON Patch array.");
          for (const o of ops as { op?: string; path?: string; value?: unknown }[]) {
            const m = /^\/platformAccountProperties\/([A-Za-z0-9_]+)$/.exec(o.path ?? "");
            if (!m || !["add", "replace", "remove"].includes(o.op ?? ""))
              return pvwaError(400, "PASWS001E", `Unsupported patch ${o.op} ${o.path}`);
            if (o.op === "remove") delete a.platformAccountProperties[m[1] as string];
            else a.platformAccountProperties[m[1] as string] = String(o.value ?? "");
          }
          return { status: 200, body: a };
        }
        if (op === "Activities" && req.method === "GET")
          return { status: 200, body: { Activities: activities.get(id) ?? [] } };
        if (
          req.method === "POST" &&
          op &&
          ["Change", "SetNextPassword", "Verify", "Reconcile"].includes(op)
        ) {
          const b = json(req.body) ?? {};
          if (op === "SetNextPassword" && (typeof b.NewCredentials !== "string" || !b.NewCredentials))
            return pvwaError(400, "PASWS164E", "NewCredentials is required.");
          operations.push({ id, op });
          log(id, `${op} requested`, 7);
          cpm(id, op, op === "SetNextPassword" ? (b.NewCredentials as string) : undefined);
          return { status: 200, text: "" };
        }
      }
      return pvwaError(404, "PASWS000E", `no route ${req.method} ${req.path}`);
    },
    {
      port: options.port,
      unauthorizedBody: pvwaError(401, "PASWS006E", "Your session has expired. Please log in again."),
    },
  );
  return Object.assign(base, {
    username,
    password,
    accounts,
    vaultPassword,
    devicePassword,
    activities,
    operations,
    modes,
    expireSessions: () => sessions.clear(),
  });
}
