/**
 * CyberArk Privileged Access (PVWA REST API, response.md §7) as standalone credential actions —
 * `credential.rotate` is built on the Vault client and has no pluggable store, so CyberArk-managed
 * device accounts are rotated by the CPM instead:
 * - `cyberark.change`: logon → find the account(s) → `Change` (random, CPM-generated) or
 *   `SetNextPassword` (a fresh unique password generated here, never returned) → poll the account
 *   until `secretManagement.lastModifiedTime` moves past the request (the CPM works asynchronously)
 *   or its status says failure → logoff. verify() reads the account back.
 * - `cyberark.verify`: `Verify` → poll until `lastVerifiedTime` moves → the CPM's verdict.
 *
 * Idempotency per (run, step): before requesting a change the action stamps the account with a
 * `MedsocRotation` platform property (`<idempotency key>@<epoch s>`, JSON-Patch `PATCH
 * Accounts/{id}`); a re-run that finds its own stamp waits for that change instead of requesting a
 * second one, and one that finds the change done does nothing. No undo: the API never returns the
 * previous password (response.md §7 "Undo"); recovering a half-done change is `Reconcile`, an
 * operator decision.
 */
import { z } from "zod";
import { secretSchema } from "../../core/config-fields.ts";
import { PermanentError } from "../../core/errors.ts";
import { Secret } from "../../core/secret.ts";
import { generatePassword } from "./credentials.ts";
import { type CallResponse, call, withReauth } from "./http.ts";
import type { Action, ActionContext } from "./types.ts";
import { defineSystem } from "./types.ts";

/** `playbooks.systems.cyberark` as parsed (declared once, below: `cyberarkConfigSchema`). */
export type CyberArkConfig = z.output<typeof cyberarkConfigSchema>;

type Account = {
  id: string;
  name?: string;
  address?: string;
  userName?: string;
  safeName?: string;
  platformAccountProperties?: Record<string, unknown>;
  secretManagement?: {
    automaticManagementEnabled?: boolean;
    status?: string;
    lastModifiedTime?: number;
    lastVerifiedTime?: number;
    manualManagementReason?: string;
  };
};

const target = {
  accountIds: z.array(z.string().min(1)).optional(),
  /** PVWA search words (`<username> <address>`), `searchType=contains`. */
  search: z.string().min(1).optional(),
  safe: z.string().min(1).optional(),
};
const changeInput = z
  .strictObject({
    ...target,
    /** `change`: the CPM generates the password; `set_next`: a unique password generated here. */
    method: z.enum(["change", "set_next"]).default("change"),
  })
  .refine((i) => (i.accountIds?.length ?? 0) > 0 || i.search, { message: "give accountIds or search" });
const verifyInput = z
  .strictObject(target)
  .refine((i) => (i.accountIds?.length ?? 0) > 0 || i.search, { message: "give accountIds or search" });
type ChangeInput = z.infer<typeof changeInput>;
type VerifyInput = z.infer<typeof verifyInput>;
type Changed = { id: string; requestedAt: number; completedAt: number; reused: boolean };
type Verified = { id: string; verified: boolean; at: number; status: string };

const MARK = "MedsocRotation";
const API = "/PasswordVault/API";
const nowS = () => Math.floor(Date.now() / 1000);

/** One PVWA session (logon … logoff). */
class PvwaSession {
  #token?: Secret;
  constructor(
    readonly c: CyberArkConfig,
    readonly ctx: ActionContext,
  ) {}
  async logon(): Promise<void> {
    const r = await call(this.ctx, {
      system: "cyberark",
      method: "POST",
      url: new URL(`${API}/auth/${this.c.authType}/Logon`, this.c.baseUrl).toString(),
      body: { username: this.c.username, password: this.c.password.reveal(), concurrentSession: true },
      secrets: [this.c.password],
      context: "logging on to CyberArk PVWA",
    });
    if (typeof r.body !== "string" || !r.body)
      throw new PermanentError("logging on to CyberArk PVWA: the answer is not a session token");
    this.#token = new Secret(r.body);
  }
  async logoff(): Promise<void> {
    if (!this.#token) return;
    try {
      await this.send("POST", "/auth/Logoff", "logging off CyberArk PVWA");
    } catch (error) {
      this.ctx.log.warn({ error: (error as Error).message }, "CyberArk logoff failed.");
    }
    this.#token = undefined;
  }
  async send(
    method: "GET" | "POST" | "PATCH",
    path: string,
    context: string,
    body?: unknown,
  ): Promise<CallResponse> {
    if (!this.#token) await this.logon();
    const go = () =>
      call(this.ctx, {
        system: "cyberark",
        method,
        url: new URL(`${API}${path}`, this.c.baseUrl).toString(),
        headers: { authorization: (this.#token as Secret).reveal() },
        body,
        secrets: [this.#token as Secret, this.c.password],
        context,
      });
    // An expired or revoked session token: log on again once.
    return withReauth(go, () => this.logon());
  }
  async account(id: string): Promise<Account> {
    const r = await this.send("GET", `/Accounts/${encodeURIComponent(id)}`, `reading CyberArk account ${id}`);
    return r.body as Account;
  }
  async resolve(i: { accountIds?: string[]; search?: string; safe?: string }): Promise<string[]> {
    if (i.accountIds?.length) return [...new Set(i.accountIds)];
    const safe = i.safe ?? this.c.safe;
    const q = new URLSearchParams({
      search: i.search ?? "",
      searchType: "contains",
      offset: "0",
      limit: "50",
    });
    if (safe) q.set("filter", `safeName eq ${safe}`);
    let path: string | undefined = `/Accounts?${q}`;
    const ids: string[] = [];
    for (let page = 0; path && page < 20; page++) {
      const r = await this.send("GET", path, `searching CyberArk accounts "${i.search}"`);
      const b = r.body as { value?: Account[]; nextLink?: string };
      ids.push(...(b.value ?? []).map((a) => a.id));
      // nextLink is relative to /PasswordVault/ (`api/Accounts?offset=…`).
      path = b.nextLink ? `/${b.nextLink.replace(/^\/?api\//i, "")}` : undefined;
    }
    if (!ids.length)
      throw new PermanentError(`no CyberArk account matches "${i.search}"${safe ? ` in safe ${safe}` : ""}`);
    return ids;
  }
  /** Polls the account until `done` says so, the CPM reports failure, or the time is up. */
  async poll(id: string, done: (a: Account) => boolean, what: string): Promise<Account> {
    const until = Date.now() + this.c.pollTimeoutMs;
    for (;;) {
      const a = await this.account(id);
      if (done(a)) return a;
      if (Date.now() >= until)
        throw new PermanentError(
          `CyberArk account ${id}: the CPM did not ${what} within ${this.c.pollTimeoutMs} ms (status ${a.secretManagement?.status ?? "unknown"})`,
        );
      await new Promise((r) => setTimeout(r, this.c.pollIntervalMs));
      if (this.ctx.signal?.aborted) throw new PermanentError(`CyberArk account ${id}: ${what} aborted`);
    }
  }
}

async function withSession<T>(
  c: CyberArkConfig,
  ctx: ActionContext,
  fn: (s: PvwaSession) => Promise<T>,
): Promise<T> {
  const s = new PvwaSession(c, ctx);
  try {
    return await fn(s);
  } finally {
    await s.logoff();
  }
}

const stampOf = (a: Account): { key: string; at: number } | undefined => {
  const m = /^(.+)@(\d+)$/.exec(String(a.platformAccountProperties?.[MARK] ?? ""));
  return m ? { key: m[1] as string, at: Number(m[2]) } : undefined;
};
const changedSince = (a: Account, at: number) =>
  (a.secretManagement?.lastModifiedTime ?? 0) >= at && a.secretManagement?.status !== "failure";
/** The CPM reported failure after the request (an account already failing before it does not count). */
const failedAfter = (before: Account) => (a: Account, at: number) =>
  before.secretManagement?.status !== "failure" &&
  a.secretManagement?.status === "failure" &&
  (a.secretManagement?.lastModifiedTime ?? 0) < at;

export function cyberArkActions(config: CyberArkConfig): Action[] {
  const change: Action<ChangeInput, { accounts: Changed[]; method: string }> = {
    name: "cyberark.change",
    description:
      "CyberArk PVWA: have the CPM change the account password (random Change or SetNextPassword), wait for the asynchronous result, read it back.",
    kind: "credential",
    input: changeInput,
    async plan(i) {
      const who = i.accountIds?.length
        ? `account(s) ${i.accountIds.join(", ")}`
        : `accounts matching "${i.search}"`;
      const verb = i.method === "set_next" ? "SetNextPassword" : "Change";
      return {
        summary: `logon to CyberArk PVWA, ${verb} ${who} through the CPM, wait up to ${config.pollTimeoutMs} ms for it, logoff`,
        calls: [
          {
            system: "cyberark",
            method: "POST",
            url: `${config.baseUrl}${API}/auth/${config.authType}/Logon`,
          },
          ...(i.accountIds ?? ["<found by search>"]).map((id) => ({
            system: "cyberark",
            method: "POST",
            url: `${config.baseUrl}${API}/Accounts/${id}/${verb}`,
            body:
              i.method === "set_next"
                ? { ChangeImmediately: true, NewCredentials: "[redacted]" }
                : { ChangeEntireGroup: true },
          })),
        ],
      };
    },
    async execute(i, ctx) {
      return withSession(config, ctx, async (s) => {
        const accounts: Changed[] = [];
        for (const id of await s.resolve(i)) {
          const a = await s.account(id);
          const failed = failedAfter(a);
          const stamp = stampOf(a);
          if (stamp?.key === ctx.idempotencyKey) {
            // A previous attempt of this step requested the change: wait for it, never request twice.
            const done = await s.poll(
              id,
              (x) => changedSince(x, stamp.at) || failed(x, stamp.at),
              "change the password",
            );
            if (failed(done, stamp.at))
              throw new PermanentError(
                `CyberArk CPM failed to change account ${id}: ${done.secretManagement?.manualManagementReason ?? "status failure"}`,
              );
            accounts.push({
              id,
              requestedAt: stamp.at,
              completedAt: done.secretManagement?.lastModifiedTime ?? 0,
              reused: true,
            });
            continue;
          }
          const at = Math.max(nowS(), (a.secretManagement?.lastModifiedTime ?? 0) + 1);
          await s.send("PATCH", `/Accounts/${encodeURIComponent(id)}`, `stamping CyberArk account ${id}`, [
            { op: "add", path: `/platformAccountProperties/${MARK}`, value: `${ctx.idempotencyKey}@${at}` },
          ]);
          if (i.method === "set_next") {
            const pw = new Secret(generatePassword());
            await s.send(
              "POST",
              `/Accounts/${encodeURIComponent(id)}/SetNextPassword`,
              `setting the next password of ${id}`,
              {
                ChangeImmediately: true,
                NewCredentials: pw.reveal(),
              },
            );
          } else
            await s.send(
              "POST",
              `/Accounts/${encodeURIComponent(id)}/Change`,
              `requesting a CPM change of ${id}`,
              {
                ChangeEntireGroup: true,
              },
            );
          const done = await s.poll(id, (x) => changedSince(x, at) || failed(x, at), "change the password");
          if (failed(done, at))
            throw new PermanentError(
              `CyberArk CPM failed to change account ${id}: ${done.secretManagement?.manualManagementReason ?? "status failure"}`,
            );
          accounts.push({
            id,
            requestedAt: at,
            completedAt: done.secretManagement?.lastModifiedTime ?? 0,
            reused: false,
          });
        }
        return { accounts, method: i.method };
      });
    },
    async verify(_i, o, ctx) {
      return withSession(config, ctx, async (s) => {
        const bad: string[] = [];
        for (const c of o.accounts) {
          const a = await s.account(c.id);
          if (!changedSince(a, c.requestedAt))
            bad.push(
              `${c.id} last modified ${a.secretManagement?.lastModifiedTime ?? "never"} (requested ${c.requestedAt}), status ${a.secretManagement?.status ?? "unknown"}`,
            );
        }
        return bad.length
          ? { ok: false, detail: `CyberArk shows no completed change for ${bad.join("; ")}` }
          : {
              ok: true,
              detail: `CyberArk shows the password of ${o.accounts.map((c) => c.id).join(", ")} changed by the CPM`,
            };
      });
    },
  };

  const verifyAction: Action<VerifyInput, { accounts: Verified[] }> = {
    name: "cyberark.verify",
    description:
      "CyberArk PVWA: have the CPM verify the stored password against the device, wait for its verdict.",
    kind: "credential",
    input: verifyInput,
    async plan(i) {
      return {
        summary: `CyberArk CPM Verify of ${i.accountIds?.length ? i.accountIds.join(", ") : `accounts matching "${i.search}"`}`,
        calls: (i.accountIds ?? ["<found by search>"]).map((id) => ({
          system: "cyberark",
          method: "POST",
          url: `${config.baseUrl}${API}/Accounts/${id}/Verify`,
          body: {},
        })),
      };
    },
    async execute(i, ctx) {
      return withSession(config, ctx, async (s) => {
        const accounts: Verified[] = [];
        for (const id of await s.resolve(i)) {
          const before = await s.account(id);
          // Epoch seconds: the verdict counts only when it is stamped after this request.
          const at = Math.max(nowS(), (before.secretManagement?.lastVerifiedTime ?? 0) + 1);
          // Verify only reads the target: repeating it on a re-run is harmless.
          await s.send(
            "POST",
            `/Accounts/${encodeURIComponent(id)}/Verify`,
            `requesting a CPM verify of ${id}`,
            {},
          );
          const a = await s.poll(
            id,
            (x) => (x.secretManagement?.lastVerifiedTime ?? 0) >= at,
            "verify the password",
          );
          const status = a.secretManagement?.status ?? "unknown";
          accounts.push({
            id,
            verified: status === "success",
            at: a.secretManagement?.lastVerifiedTime ?? 0,
            status,
          });
        }
        return { accounts };
      });
    },
    async verify(_i, o, ctx) {
      const bad = o.accounts.filter((a) => !a.verified);
      if (bad.length)
        return {
          ok: false,
          detail: `the CPM could not verify ${bad.map((a) => `${a.id} (${a.status})`).join(", ")}`,
        };
      return withSession(config, ctx, async (s) => {
        for (const v of o.accounts) {
          const a = await s.account(v.id);
          if (a.secretManagement?.status === "failure")
            return { ok: false, detail: `CyberArk account ${v.id} now shows status failure` };
        }
        return {
          ok: true,
          detail: `the CPM verified ${o.accounts.map((a) => a.id).join(", ")} against the device`,
        };
      });
    },
  };
  return [change as Action, verifyAction as Action];
}

const url = z.string().url();

/** `playbooks.systems.cyberark`: CyberArk PVWA (CPM-driven password change and verify). */
export const cyberarkConfigSchema = z.strictObject({
  baseUrl: url,
  /** @defaultValue "CyberArk" */
  authType: z.enum(["CyberArk", "LDAP", "RADIUS", "Windows"]).default("CyberArk"),
  username: z.string().min(1),
  password: secretSchema,
  safe: z.string().min(1).optional(),
  /** @defaultValue 2000 */
  pollIntervalMs: z.number().int().min(10).default(2000),
  /** @defaultValue 25000 */
  pollTimeoutMs: z.number().int().min(100).default(25_000),
});

/** CyberArk PVWA (CPM-driven password change and verify): the one declaration of this system (settings, actions). */
export const cyberarkSystem = defineSystem({
  id: "cyberark",
  title: "CyberArk PVWA (CPM-driven password change and verify).",
  config: cyberarkConfigSchema,
  actions: ["cyberark.change", "cyberark.verify"],
  create: (config) => cyberArkActions(config),
});
