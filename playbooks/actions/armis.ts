/**
 * Armis device tags (monitors.md §3 "Writes"): the containment marker that Armis-driven NAC/firewall
 * policies act on. Token from `POST /api/v1/access_token/` (JSON `secret_key`; raw token in
 * `Authorization`, no `Bearer`; cached until `expiration_utc`, fetched again once on 401), device
 * found by id or by AQL (`in:devices macAddress:(…)` / `ipAddress:(…)`), `POST` / `DELETE
 * /api/v1/devices/{id}/tags/` with `{"tags": [...]}`, and the device's `tags[]` read back through
 * `GET /api/v1/search/?aql=in:devices deviceId:(<id>)`. One tag per containment mode; the policy on
 * the restricted tag keeps the clinical servers reachable.
 */
import { z } from "zod";
import { secretSchema } from "../../core/config-fields.ts";
import { PermanentError } from "../../core/errors.ts";
import type { IssuedToken } from "../../core/token-cache.ts";
import { actionTokens, type CallResponse, call, withToken } from "./http.ts";
import { type Action, type ActionContext, defineSystem, needAny, UnknownDeviceError } from "./types.ts";

/** `playbooks.systems.armis` as parsed (declared once, below: `armisConfigSchema`). */
export type ArmisTagsConfig = z.output<typeof armisConfigSchema>;

const input = z
  .strictObject({
    /** Armis device ids (`host.id` of Armis documents). */
    deviceIds: z.array(z.union([z.string().min(1), z.number().int()])).optional(),
    /** Used to find the device when no id is given. */
    macs: z.array(z.string().min(1)).optional(),
    ips: z.array(z.string().min(1)).optional(),
    mode: z.enum(["full", "restricted"]),
    clinicalServers: z.array(z.string()).default([]),
  })
  .refine((i) => (i.deviceIds?.length ?? 0) + (i.macs?.length ?? 0) + (i.ips?.length ?? 0) > 0, {
    message: "give deviceIds, macs or ips",
  });
type Input = z.infer<typeof input>;
type Output = {
  deviceIds: string[];
  tag: string;
  /** Devices that carried the tag before the step: undo leaves them. */
  preexisting?: string[];
};

const idOf = (key: string | number) => String(key).replace(/^armis:/, "");

class ArmisTagClient {
  // Renewed a minute before `expiration_utc` (10 minutes when Armis gives none).
  readonly #tokens = actionTokens((ctx) => this.#login(ctx), 60_000);
  constructor(readonly c: ArmisTagsConfig) {}
  api(path: string) {
    return new URL(`/api/v1/${path}`, this.c.baseUrl).toString();
  }
  async #login(ctx: ActionContext): Promise<IssuedToken> {
    const r = await call(ctx, {
      system: "armis",
      method: "POST",
      url: this.api("access_token/"),
      body: { secret_key: this.c.secretKey.reveal() },
      secrets: [this.c.secretKey],
      context: "requesting an Armis access token",
    });
    const d = (r.body as { data?: { access_token?: string; expiration_utc?: string } })?.data;
    if (!d?.access_token)
      throw new PermanentError("requesting an Armis access token: no access_token in the answer");
    const exp = d.expiration_utc ? Date.parse(d.expiration_utc) : Number.NaN;
    return { value: d.access_token, expiresAt: Number.isNaN(exp) ? Date.now() + 660_000 : exp };
  }
  async send(
    ctx: ActionContext,
    method: "GET" | "POST" | "DELETE",
    path: string,
    context: string,
    body?: unknown,
  ): Promise<CallResponse> {
    return withToken(this.#tokens, ctx, (token) =>
      call(ctx, {
        system: "armis",
        method,
        url: this.api(path),
        headers: { authorization: token },
        body,
        secrets: [token, this.c.secretKey],
        context,
      }),
    );
  }
  async search(ctx: ActionContext, aql: string, context: string): Promise<{ id: number; tags?: string[] }[]> {
    const q = new URLSearchParams({ aql, length: "10", from: "0" });
    const r = await this.send(ctx, "GET", `search/?${q}`, context);
    return ((r.body as { data?: { results?: { id: number; tags?: string[] }[] } })?.data?.results ?? []) as {
      id: number;
      tags?: string[];
    }[];
  }
  async resolve(ctx: ActionContext, i: Input): Promise<string[]> {
    if (i.deviceIds?.length) return [...new Set(i.deviceIds.map(idOf))];
    for (const mac of i.macs ?? []) {
      const m = mac.toLowerCase().replace(/-/g, ":");
      const hit = await this.search(ctx, `in:devices macAddress:(${m})`, `finding the Armis device of ${m}`);
      if (hit[0]) return [String(hit[0].id)];
    }
    for (const ip of i.ips ?? []) {
      const hit = await this.search(ctx, `in:devices ipAddress:(${ip})`, `finding the Armis device of ${ip}`);
      if (hit[0]) return [String(hit[0].id)];
    }
    throw new UnknownDeviceError(
      `Armis knows no device with ${[...(i.macs ?? []), ...(i.ips ?? [])].join(", ")}`,
    );
  }
  async tags(ctx: ActionContext, id: string): Promise<string[]> {
    const hit = await this.search(
      ctx,
      `in:devices deviceId:(${id})`,
      `reading the tags of Armis device ${id}`,
    );
    if (!hit[0]) throw new UnknownDeviceError(`Armis knows no device ${id}`);
    return hit[0].tags ?? [];
  }
  async change(ctx: ActionContext, method: "POST" | "DELETE", id: string, tag: string): Promise<void> {
    await this.send(
      ctx,
      method,
      `devices/${encodeURIComponent(id)}/tags/`,
      `${method === "POST" ? "adding" : "removing"} Armis tag ${tag} ${method === "POST" ? "to" : "from"} device ${id}`,
      { tags: [tag] },
    );
  }
}

export function armisTagActions(config: ArmisTagsConfig): Action[] {
  const armis = new ArmisTagClient(config);
  const tag: Action<Input, Output> = {
    name: "armis.tag",
    description:
      "Add the Armis device tag of the containment mode (Armis-driven NAC/firewall policies act on it); read the device's tags back; remove on undo.",
    kind: "containment",
    input,
    async plan(i) {
      const t = config.tags[i.mode];
      const who = i.deviceIds?.length
        ? `device(s) ${i.deviceIds.map(idOf).join(", ")}`
        : `the device of ${[...(i.macs ?? []), ...(i.ips ?? [])].join(", ")}`;
      return {
        summary: `tag Armis ${who} with ${t}${i.mode === "restricted" ? ` (restricted: clinical servers ${i.clinicalServers.join(", ") || "none configured"} stay reachable by policy)` : ""}`,
        calls: (i.deviceIds ?? ["<found by AQL>"]).map((id) => ({
          system: "armis",
          method: "POST",
          url: armis.api(`devices/${idOf(id)}/tags/`),
          body: { tags: [t] },
        })),
      };
    },
    async execute(i, ctx) {
      const t = config.tags[i.mode];
      const ids = await armis.resolve(ctx, i);
      const preexisting: string[] = [];
      for (const id of ids)
        if (!(await armis.tags(ctx, id)).includes(t)) await armis.change(ctx, "POST", id, t);
        else preexisting.push(id);
      return { deviceIds: ids, tag: t, preexisting };
    },
    async verify(_i, o, ctx) {
      const missing: string[] = [];
      for (const id of o.deviceIds) if (!(await armis.tags(ctx, id)).includes(o.tag)) missing.push(id);
      return missing.length
        ? { ok: false, detail: `Armis device(s) ${missing.join(", ")} do not carry tag ${o.tag}` }
        : { ok: true, detail: `Armis device(s) ${o.deviceIds.join(", ")} carry tag ${o.tag}` };
    },
    async undo(_i, o, ctx) {
      // Only this step's tag: a device that carried it before keeps it.
      for (const id of o.deviceIds) if (!(o.preexisting ?? []).includes(id)) await untag(ctx, id, [o.tag]);
    },
  };
  async function untag(ctx: ActionContext, id: string, tags: string[]): Promise<void> {
    const have = await armis.tags(ctx, id);
    for (const t of tags) if (have.includes(t)) await armis.change(ctx, "DELETE", id, t);
    const left = (await armis.tags(ctx, id)).filter((t) => tags.includes(t));
    if (left.length)
      throw new PermanentError(`Armis device ${id} still carries ${left.join(", ")} after removal`);
  }
  const untagInput = z
    .strictObject({
      deviceIds: z.array(z.union([z.string().min(1), z.number().int()])).optional(),
      /** Used to find the device when no id is given (the release of a run's device). */
      macs: z.array(z.string().min(1)).optional(),
      ips: z.array(z.string().min(1)).optional(),
    })
    .refine((i) => (i.deviceIds?.length ?? 0) + (i.macs?.length ?? 0) + (i.ips?.length ?? 0) > 0, {
      message: "give deviceIds, macs or ips",
    });
  const untagAction: Action<z.infer<typeof untagInput>, { deviceIds: string[] }> = {
    name: "armis.untag",
    description: "Remove both containment tags from the Armis device(s) and read back that none is left.",
    kind: "release",
    input: untagInput,
    async plan(i) {
      const ids = i.deviceIds?.length ? i.deviceIds.map(idOf) : ["<found by AQL>"];
      return {
        summary: `remove Armis tags ${config.tags.full} and ${config.tags.restricted} from device(s) ${ids.join(", ")}`,
        calls: ids.map((id) => ({
          system: "armis",
          method: "DELETE",
          url: armis.api(`devices/${idOf(id)}/tags/`),
          body: { tags: [config.tags.full] },
        })),
      };
    },
    async execute(i, ctx) {
      const ids = await armis.resolve(ctx, { ...i, mode: "full", clinicalServers: [] });
      for (const id of ids) await untag(ctx, id, [config.tags.full, config.tags.restricted]);
      return { deviceIds: ids };
    },
    async verify(_i, o, ctx) {
      for (const id of o.deviceIds) {
        const left = (await armis.tags(ctx, id)).filter(
          (t) => t === config.tags.full || t === config.tags.restricted,
        );
        if (left.length) return { ok: false, detail: `Armis device ${id} still carries ${left.join(", ")}` };
      }
      return { ok: true, detail: `no containment tag left on Armis device(s) ${o.deviceIds.join(", ")}` };
    },
  };
  return [tag as Action, untagAction as Action];
}

const url = z.string().url();

/** `playbooks.systems.armis`: Armis device tags (the containment marker Armis-driven policies act on). */
export const armisConfigSchema = z.strictObject({
  baseUrl: url,
  secretKey: secretSchema,
  /** @defaultValue {full: "medsoc-quarantine", restricted: "medsoc-restricted"} */
  tags: z
    .strictObject({
      full: z.string().default("medsoc-quarantine"),
      restricted: z.string().default("medsoc-restricted"),
    })
    .prefault({}),
});

/** Armis device tags (the containment marker Armis-driven policies act on): the one declaration of this system (settings, actions, enforcement point). */
export const armisSystem = defineSystem({
  id: "armis",
  title: "Armis device tags (the containment marker Armis-driven policies act on).",
  config: armisConfigSchema,
  actions: ["armis.tag", "armis.untag"],
  create: (config) => armisTagActions(config),
  stage: "monitor",
  enforcementPoint: {
    label: "Armis device tag",
    keyedBy: "mac or ip",
    apply: "armis.tag",
    release: "armis.untag",
    applyInput: (t, mode, clinicalServers) =>
      needAny(t) ?? { macs: t.macs, ips: t.ips, mode, clinicalServers },
    releaseInput: (t) => needAny(t) ?? { macs: t.macs, ips: t.ips },
  },
});
