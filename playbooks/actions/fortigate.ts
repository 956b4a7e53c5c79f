/**
 * FortiGate containment by IP (response.md §4), REST API administrator token, `?vdom=`:
 * - `full`: the quarantine ban list — `POST /api/v2/monitor/user/banned/add_users` with an `expiry`
 *   (the safety net), read back from `banned/select`, cleared with `clear_users`;
 * - `restricted`: the ban list would cut the clinical servers off too, so the device gets an address
 *   object (one per device IP) in the `IoMT-Restricted` address group, which the customer's policies
 *   use to allow only the `IoMT-Clinical-Servers` group; the clinical servers are put in that group
 *   the same way. Read back from the group members; undo removes the member and deletes the address.
 *
 * Concurrency and idempotency: membership changes go through the group's `member` child table, one
 * member per request (`POST …/addrgrp/{group}/member`, `DELETE …/member/{name}`), never GET-append-
 * PUT (PUT replaces the whole list, so two runs at once lose a member). FortiOS answers a duplicate
 * object or member with `error: -5` (HTTP 500) and a missing one with `error: -3` (HTTP 404): both
 * mean "already done" here, and the read-back decides. A member or ban that was there before this
 * step (`preexisting`) is left alone by undo: someone else contained that device.
 */
import { z } from "zod";
import { secretSchema } from "../../core/config-fields.ts";
import { PermanentError } from "../../core/errors.ts";
import { type CallResponse, call } from "./http.ts";
import type { Action, ActionContext } from "./types.ts";
import { defineSystem, needIp } from "./types.ts";

/** `playbooks.systems.fortigate` as parsed (declared once, below: `fortigateConfigSchema`). */
export type FortiGateConfig = z.output<typeof fortigateConfigSchema>;

const input = z.strictObject({
  ips: z.array(z.string().min(1)).min(1),
  mode: z.enum(["full", "restricted"]),
  clinicalServers: z.array(z.string()).default([]),
  /** Overrides the configured ban expiry (seconds). */
  expirySeconds: z.number().int().min(0).optional(),
});
type Input = z.infer<typeof input>;
type Output = {
  mode: "full" | "restricted";
  ips: string[];
  group?: string;
  addresses?: string[];
  /** Banned IPs / group members that were there before this step: undo keeps them. */
  preexisting?: string[];
};

/** The FortiOS `error` code in an error answer (`{"status":"error","error":-5,…}`), if any. */
export function fortiCode(error: unknown): number | undefined {
  const m = /"error":\s*(-?\d+)/.exec(error instanceof Error ? error.message : "");
  return m ? Number(m[1]) : undefined;
}
/** -5: "a duplicate entry already exists". */
const DUPLICATE = -5;
/** -3: "entry not found". */
const NOT_FOUND = -3;
/** -23: "entry is used by other entries" (an address still referenced). */
const IN_USE = -23;

type Envelope = { status?: string; results?: unknown; http_status?: number; error?: number };

class FortiGateClient {
  constructor(readonly c: FortiGateConfig) {}
  url(path: string) {
    const u = new URL(path, this.c.baseUrl);
    u.searchParams.set("vdom", this.c.vdom);
    return u.toString();
  }
  async send(
    ctx: ActionContext,
    method: "GET" | "POST" | "PUT" | "DELETE",
    path: string,
    context: string,
    body?: unknown,
  ): Promise<CallResponse> {
    // A REST API token does not expire: a 401 means it was revoked; no re-auth (final).
    const r = await call(ctx, {
      system: "fortigate",
      method,
      url: this.url(path),
      headers: { authorization: `Bearer ${this.c.token.reveal()}` },
      body,
      secrets: [this.c.token],
      context,
    });
    const env = r.body as Envelope | undefined;
    if (env?.status && env.status !== "success")
      throw new PermanentError(
        `${context}: FortiGate answered status ${env.status} (error ${env.error ?? "?"})`,
      );
    return r;
  }
  async banned(ctx: ActionContext): Promise<Map<string, number | undefined>> {
    const r = await this.send(
      ctx,
      "GET",
      "/api/v2/monitor/user/banned/select",
      "reading the FortiGate banned list",
    );
    const now = Date.now() / 1000;
    const out = new Map<string, number | undefined>();
    for (const e of ((r.body as Envelope).results ?? []) as { ip_address?: string; expires?: number }[])
      if (e.ip_address && (e.expires === undefined || e.expires > now)) out.set(e.ip_address, e.expires);
    return out;
  }
  addressName(kind: "dev" | "srv", ip: string) {
    return `${this.c.addressPrefix}${kind}-${ip}`;
  }
  /** Member names of `group`; a missing group is an error unless `missingOk` (release paths: nothing to undo). */
  async members(ctx: ActionContext, group: string, missingOk = false): Promise<string[]> {
    try {
      const r = await this.send(
        ctx,
        "GET",
        `/api/v2/cmdb/firewall/addrgrp/${encodeURIComponent(group)}`,
        `reading FortiGate address group ${group}`,
      );
      const res = ((r.body as Envelope).results ?? []) as { member?: { name: string }[] }[];
      return (res[0]?.member ?? []).map((m) => m.name);
    } catch (error) {
      if (error instanceof PermanentError && /HTTP 404/.test(error.message)) {
        if (missingOk) return [];
        throw new PermanentError(
          `FortiGate address group ${group} does not exist (create it once with its policy: response.md §4)`,
          { cause: error },
        );
      }
      throw error;
    }
  }
  /** Creates the address object of `ip` unless it exists; -5 (created meanwhile) is fine. */
  async ensureAddress(ctx: ActionContext, name: string, ip: string): Promise<void> {
    try {
      await this.send(ctx, "POST", "/api/v2/cmdb/firewall/address", `creating FortiGate address ${name}`, {
        name,
        type: "ipmask",
        subnet: `${ip} 255.255.255.255`,
        comment: "medsoc containment",
      });
    } catch (error) {
      if (fortiCode(error) !== DUPLICATE) throw error;
    }
  }
  /**
   * Adds the addresses for `ips` to `group`, one child-table POST each; returns their names and the
   * ones that were members already (-5).
   */
  async addToGroup(
    ctx: ActionContext,
    group: string,
    kind: "dev" | "srv",
    ips: string[],
  ): Promise<{ names: string[]; preexisting: string[] }> {
    await this.members(ctx, group); // a missing group is a clear configuration error, not a 404
    const names = ips.map((ip) => this.addressName(kind, ip));
    const preexisting: string[] = [];
    for (const [k, ip] of ips.entries()) {
      const name = names[k] as string;
      await this.ensureAddress(ctx, name, ip);
      try {
        await this.send(
          ctx,
          "POST",
          `/api/v2/cmdb/firewall/addrgrp/${encodeURIComponent(group)}/member`,
          `adding ${name} to FortiGate address group ${group}`,
          { name },
        );
      } catch (error) {
        if (fortiCode(error) !== DUPLICATE) throw error;
        preexisting.push(name);
      }
    }
    return { names, preexisting };
  }
  /** Removes `names` from `group` (child-table DELETE each; -3 = not a member) and deletes the addresses. */
  async removeFromGroup(ctx: ActionContext, group: string, names: string[]): Promise<void> {
    for (const n of names) {
      try {
        await this.send(
          ctx,
          "DELETE",
          `/api/v2/cmdb/firewall/addrgrp/${encodeURIComponent(group)}/member/${encodeURIComponent(n)}`,
          `removing ${n} from FortiGate address group ${group}`,
        );
      } catch (error) {
        if (fortiCode(error) !== NOT_FOUND) throw error;
      }
      try {
        await this.send(
          ctx,
          "DELETE",
          `/api/v2/cmdb/firewall/address/${encodeURIComponent(n)}`,
          `deleting address ${n}`,
        );
      } catch (error) {
        // Gone already, or still used elsewhere (another group, a policy): leave the object.
        const code = fortiCode(error);
        if (code !== NOT_FOUND && code !== IN_USE) throw error;
      }
    }
  }
}

export function fortiGateActions(config: FortiGateConfig): Action[] {
  const fg = new FortiGateClient(config);
  const quarantine: Action<Input, Output> = {
    name: "fortigate.quarantine",
    description:
      "FortiGate: full → ban the device IPs (expiring) and read the banned list back; restricted → address objects in the restricted group (clinical servers stay reachable); undo clears.",
    kind: "containment",
    input,
    async plan(i) {
      if (i.mode === "full") {
        const expiry = i.expirySeconds ?? config.banExpirySeconds;
        return {
          summary: `ban ${i.ips.join(", ")} on FortiGate (vdom ${config.vdom}) for ${expiry || "unlimited"} s`,
          calls: [
            {
              system: "fortigate",
              method: "POST",
              url: fg.url("/api/v2/monitor/user/banned/add_users"),
              body: { ip_addresses: i.ips, expiry },
            },
          ],
        };
      }
      return {
        summary: `put ${i.ips.join(", ")} in FortiGate group ${config.restrictedGroup}; clinical servers ${i.clinicalServers.join(", ") || "none configured"} in ${config.clinicalServerGroup} stay reachable`,
        calls: [
          ...i.ips.map((ip) => ({
            system: "fortigate",
            method: "POST",
            url: fg.url("/api/v2/cmdb/firewall/address"),
            body: { name: fg.addressName("dev", ip), type: "ipmask", subnet: `${ip} 255.255.255.255` },
          })),
          {
            system: "fortigate",
            method: "POST",
            url: fg.url(`/api/v2/cmdb/firewall/addrgrp/${config.restrictedGroup}/member`),
            body: { name: "<each device address>" },
          },
        ],
      };
    },
    async execute(i, ctx) {
      if (i.mode === "full") {
        const have = await fg.banned(ctx);
        const preexisting = i.ips.filter((ip) => have.has(ip));
        const todo = i.ips.filter((ip) => !have.has(ip));
        if (todo.length)
          await fg.send(ctx, "POST", "/api/v2/monitor/user/banned/add_users", `banning ${todo.join(", ")}`, {
            ip_addresses: todo,
            expiry: i.expirySeconds ?? config.banExpirySeconds,
          });
        return { mode: "full", ips: i.ips, preexisting };
      }
      if (i.clinicalServers.length)
        await fg.addToGroup(ctx, config.clinicalServerGroup, "srv", i.clinicalServers);
      const { names, preexisting } = await fg.addToGroup(ctx, config.restrictedGroup, "dev", i.ips);
      return { mode: "restricted", ips: i.ips, group: config.restrictedGroup, addresses: names, preexisting };
    },
    async verify(_i, o, ctx) {
      if (o.mode === "full") {
        const got = await fg.banned(ctx);
        const missing = o.ips.filter((ip) => !got.has(ip));
        return missing.length
          ? {
              ok: false,
              detail: `FortiGate's banned list lacks ${missing.join(", ")}`,
              observed: [...got.keys()].slice(0, 50),
            }
          : { ok: true, detail: `FortiGate lists ${o.ips.join(", ")} as banned` };
      }
      const got = await fg.members(ctx, o.group as string);
      const missing = (o.addresses ?? []).filter((n) => !got.includes(n));
      return missing.length
        ? {
            ok: false,
            detail: `FortiGate group ${o.group} lacks ${missing.join(", ")}`,
            observed: got.slice(0, 50),
          }
        : { ok: true, detail: `FortiGate group ${o.group} holds ${(o.addresses ?? []).join(", ")}` };
    },
    async undo(_i, o, ctx) {
      // Only what this step added: a ban or member that was there before belongs to someone else.
      const pre = new Set(o.preexisting ?? []);
      if (o.mode === "full") {
        const mine = o.ips.filter((ip) => !pre.has(ip));
        if (!mine.length) return;
        await unban(ctx, mine);
        const left = (await fg.banned(ctx)).keys();
        const still = [...left].filter((ip) => mine.includes(ip));
        if (still.length) throw new PermanentError(`FortiGate still bans ${still.join(", ")} after undo`);
        return;
      }
      const mine = (o.addresses ?? []).filter((n) => !pre.has(n));
      if (!mine.length) return;
      await fg.removeFromGroup(ctx, o.group as string, mine);
      const members = await fg.members(ctx, o.group as string, true);
      const still = mine.filter((n) => members.includes(n));
      if (still.length)
        throw new PermanentError(`FortiGate group ${o.group} still holds ${still.join(", ")} after undo`);
    },
  };
  async function unban(ctx: ActionContext, ips: string[]) {
    await fg.send(
      ctx,
      "POST",
      "/api/v2/monitor/user/banned/clear_users",
      `clearing the ban of ${ips.join(", ")}`,
      {
        ip_addresses: ips,
      },
    );
  }
  async function leftovers(ctx: ActionContext, ips: string[]): Promise<string[]> {
    const banned = await fg.banned(ctx);
    const members = await fg.members(ctx, config.restrictedGroup, true);
    const out: string[] = [];
    for (const ip of ips) {
      if (banned.has(ip)) out.push(`${ip} (banned)`);
      if (members.includes(fg.addressName("dev", ip))) out.push(`${ip} (in ${config.restrictedGroup})`);
    }
    return out;
  }
  const release: Action<{ ips: string[] }, { ips: string[] }> = {
    name: "fortigate.release",
    description: "Clear the FortiGate ban and the restricted-group membership of the device IPs; read back.",
    kind: "release",
    input: z.strictObject({ ips: z.array(z.string().min(1)).min(1) }),
    async plan(i) {
      return {
        summary: `clear the FortiGate ban of ${i.ips.join(", ")} and remove them from ${config.restrictedGroup}`,
        calls: [
          {
            system: "fortigate",
            method: "POST",
            url: fg.url("/api/v2/monitor/user/banned/clear_users"),
            body: { ip_addresses: i.ips },
          },
        ],
      };
    },
    async execute(i, ctx) {
      await unban(ctx, i.ips);
      await fg.removeFromGroup(
        ctx,
        config.restrictedGroup,
        i.ips.map((ip) => fg.addressName("dev", ip)),
      );
      return { ips: i.ips };
    },
    async verify(_i, o, ctx) {
      const left = await leftovers(ctx, o.ips);
      return left.length
        ? { ok: false, detail: `FortiGate still contains ${left.join("; ")}` }
        : { ok: true, detail: `no FortiGate containment left on ${o.ips.join(", ")}` };
    },
  };
  return [quarantine as Action, release as Action];
}

const url = z.string().url();

/** `playbooks.systems.fortigate`: FortiGate (ban list for full, address group for restricted). */
export const fortigateConfigSchema = z.strictObject({
  baseUrl: url,
  token: secretSchema,
  /** @defaultValue "root" */
  vdom: z.string().min(1).default("root"),
  /** Ban lifetime, seconds (safety net; 0 = until cleared). @defaultValue 86400 */
  banExpirySeconds: z.number().int().min(0).default(86_400),
  /** @defaultValue "IoMT-Restricted" */
  restrictedGroup: z.string().min(1).default("IoMT-Restricted"),
  /** @defaultValue "IoMT-Clinical-Servers" */
  clinicalServerGroup: z.string().min(1).default("IoMT-Clinical-Servers"),
  /** @defaultValue "medsoc-" */
  addressPrefix: z.string().default("medsoc-"),
});

/** FortiGate (ban list for full, address group for restricted): the one declaration of this system (settings, actions, enforcement point). */
export const fortigateSystem = defineSystem({
  id: "fortigate",
  title: "FortiGate (ban list for full, address group for restricted).",
  config: fortigateConfigSchema,
  actions: ["fortigate.quarantine", "fortigate.release"],
  create: (config) => fortiGateActions(config),
  stage: "firewall",
  enforcementPoint: {
    label: "FortiGate",
    keyedBy: "ip",
    apply: "fortigate.quarantine",
    release: "fortigate.release",
    applyInput: (t, mode, clinicalServers) => needIp(t) ?? { ips: t.ips, mode, clinicalServers },
    releaseInput: (t) => needIp(t) ?? { ips: t.ips },
  },
});
