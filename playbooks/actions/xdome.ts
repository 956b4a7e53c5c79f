/**
 * Claroty xDome custom attributes (monitors.md §2 "writes"): xDome has no network enforcement, so the
 * containment marker is a custom attribute that the NAC integration (xDome → ISE/ClearPass
 * attributes) or the customer's policies act on. Static bearer token (a 401 means it was revoked:
 * final). `POST /api/v1/custom-attributes/set` with `{target_specification: {target_type: "devices",
 * filter_by: {field: "uid", operation: "in", value: [...]}}, custom_attribute_api_name, value}`
 * (value `null` clears it: undo), and the value read back with `POST /api/v1/devices/` selecting the
 * attribute's field for those uids. Devices are given by uid or found by MAC (`mac_list` contains).
 */
import { z } from "zod";
import { secretSchema } from "../../core/config-fields.ts";
import { PermanentError } from "../../core/errors.ts";
import { type CallResponse, call } from "./http.ts";
import { type Action, type ActionContext, defineSystem, needMac, UnknownDeviceError } from "./types.ts";

/** `playbooks.systems.xdome` as parsed (declared once, below: `xdomeConfigSchema`). */
export type XdomeConfig = z.output<typeof xdomeConfigSchema>;

const input = z
  .strictObject({
    uids: z.array(z.string().min(1)).optional(),
    macs: z.array(z.string().min(1)).optional(),
    mode: z.enum(["full", "restricted"]),
    clinicalServers: z.array(z.string()).default([]),
  })
  .refine((i) => (i.uids?.length ?? 0) + (i.macs?.length ?? 0) > 0, { message: "give uids or macs" });
type Input = z.infer<typeof input>;
type Output = {
  uids: string[];
  attribute: string;
  value: string;
  /** Devices that already had this value before the step: undo leaves them. */
  preexisting?: string[];
  /** Other values devices had before the step (restricted, before a full isolation): undo puts them back. */
  previous?: Record<string, string>;
};

class XdomeClient {
  constructor(readonly c: XdomeConfig) {}
  get field() {
    return this.c.readField ?? this.c.attribute;
  }
  async post(ctx: ActionContext, path: string, body: unknown, context: string): Promise<CallResponse> {
    return call(ctx, {
      system: "claroty_xdome",
      method: "POST",
      url: new URL(`/api/v1/${path}`, this.c.baseUrl).toString(),
      headers: { authorization: `Bearer ${this.c.token.reveal()}` },
      body,
      secrets: [this.c.token],
      context,
    });
  }
  setBody(uids: string[], value: string | null) {
    return {
      target_specification: {
        target_type: "devices",
        filter_by: { field: "uid", operation: "in", value: uids },
      },
      custom_attribute_api_name: this.c.attribute,
      value,
    };
  }
  async set(ctx: ActionContext, uids: string[], value: string | null): Promise<void> {
    await this.post(
      ctx,
      "custom-attributes/set",
      this.setBody(uids, value),
      `${value === null ? "clearing" : "setting"} xDome custom attribute ${this.c.attribute}`,
    );
  }
  /** uid → current attribute value (null when unset). */
  async read(ctx: ActionContext, uids: string[]): Promise<Map<string, string | null>> {
    const r = await this.post(
      ctx,
      "devices/",
      {
        fields: ["uid", this.field],
        filter_by: { field: "uid", operation: "in", value: uids },
        offset: 0,
        limit: Math.max(1, uids.length),
      },
      `reading xDome custom attribute ${this.c.attribute} back`,
    );
    const out = new Map<string, string | null>();
    for (const d of ((r.body as { devices?: Record<string, unknown>[] })?.devices ?? []) as Record<
      string,
      unknown
    >[]) {
      const v = d[this.field];
      out.set(String(d.uid), v === null || v === undefined || v === "" ? null : String(v));
    }
    return out;
  }
  async resolve(ctx: ActionContext, i: Input): Promise<string[]> {
    if (i.uids?.length) return [...new Set(i.uids)];
    for (const mac of i.macs ?? []) {
      const m = mac.toLowerCase().replace(/-/g, ":");
      const r = await this.post(
        ctx,
        "devices/",
        {
          fields: ["uid", "mac_list"],
          filter_by: { field: "mac_list", operation: "contains", value: m },
          offset: 0,
          limit: 5,
        },
        `finding the xDome device of ${m}`,
      );
      const uid = ((r.body as { devices?: { uid?: string }[] })?.devices ?? [])[0]?.uid;
      if (uid) return [uid];
    }
    throw new UnknownDeviceError(`xDome knows no device with ${(i.macs ?? []).join(", ")}`);
  }
}

export function xdomeActions(config: XdomeConfig): Action[] {
  const x = new XdomeClient(config);
  const mark: Action<Input, Output> = {
    name: "xdome.mark",
    description:
      "Set the xDome custom attribute of the containment mode on the device (policies act on it); read it back through the devices query; clear on undo.",
    kind: "containment",
    input,
    async plan(i) {
      const value = config.values[i.mode];
      return {
        summary: `set xDome custom attribute ${config.attribute}=${value} on ${i.uids?.length ? `device(s) ${i.uids.join(", ")}` : `the device of ${(i.macs ?? []).join(", ")}`}${i.mode === "restricted" ? ` (clinical servers ${i.clinicalServers.join(", ") || "none configured"} stay reachable by policy)` : ""}`,
        calls: [
          {
            system: "claroty_xdome",
            method: "POST",
            url: `${config.baseUrl}/api/v1/custom-attributes/set`,
            body: x.setBody(i.uids ?? ["<found by mac_list>"], value),
          },
        ],
      };
    },
    async execute(i, ctx) {
      const value = config.values[i.mode];
      const uids = await x.resolve(ctx, i);
      const cur = await x.read(ctx, uids);
      // Already this value, or already stronger (full when restricted is asked): never loosen here.
      const kept = (u: string) =>
        cur.get(u) === value || (value === config.values.restricted && cur.get(u) === config.values.full);
      const todo = uids.filter((u) => !kept(u));
      if (todo.length) await x.set(ctx, todo, value);
      const previous: Record<string, string> = {};
      for (const u of todo) {
        const v = cur.get(u);
        if (v !== null && v !== undefined) previous[u] = v;
      }
      return {
        uids,
        attribute: config.attribute,
        value,
        preexisting: uids.filter(kept),
        previous,
      };
    },
    async verify(_i, o, ctx) {
      const got = await x.read(ctx, o.uids);
      const holds = (v: string | null | undefined) =>
        v === o.value || (o.value === config.values.restricted && v === config.values.full);
      const wrong = o.uids.filter((u) => !holds(got.get(u))).map((u) => `${u}=${got.get(u) ?? "unset"}`);
      return wrong.length
        ? { ok: false, detail: `xDome reads ${o.attribute} ${wrong.join(", ")} (expected ${o.value})` }
        : { ok: true, detail: `xDome reads ${o.attribute}=${o.value} on ${o.uids.join(", ")}` };
    },
    async undo(_i, o, ctx) {
      // Only this step's change: untouched devices stay, earlier values come back.
      const mine = o.uids.filter((u) => !(o.preexisting ?? []).includes(u));
      const back = new Map<string, string[]>();
      for (const u of mine) {
        const p = o.previous?.[u];
        if (p !== undefined) back.set(p, [...(back.get(p) ?? []), u]);
      }
      const toClear = mine.filter((u) => o.previous?.[u] === undefined);
      if (toClear.length) await clear(ctx, toClear);
      for (const [v, uids] of back) await x.set(ctx, uids, v);
      if (back.size) {
        const got = await x.read(ctx, [...back.values()].flat());
        const wrong = [...back].flatMap(([v, us]) => us.filter((u) => got.get(u) !== v));
        if (wrong.length)
          throw new PermanentError(
            `xDome does not read the earlier ${config.attribute} back on ${wrong.join(", ")}`,
          );
      }
    },
  };
  async function clear(ctx: ActionContext, uids: string[]): Promise<void> {
    await x.set(ctx, uids, null);
    const got = await x.read(ctx, uids);
    const left = uids.filter((u) => got.get(u) !== null && got.get(u) !== undefined);
    if (left.length)
      throw new PermanentError(`xDome still reads ${config.attribute} on ${left.join(", ")} after clearing`);
  }
  const unmarkInput = z
    .strictObject({
      uids: z.array(z.string().min(1)).optional(),
      /** Used to find the device when no uid is given (the release of a run's device). */
      macs: z.array(z.string().min(1)).optional(),
    })
    .refine((i) => (i.uids?.length ?? 0) + (i.macs?.length ?? 0) > 0, { message: "give uids or macs" });
  const unmark: Action<z.infer<typeof unmarkInput>, { uids: string[] }> = {
    name: "xdome.unmark",
    description:
      "Clear the xDome containment custom attribute of the device(s) and read back that it is unset.",
    kind: "release",
    input: unmarkInput,
    async plan(i) {
      const uids = i.uids?.length ? i.uids : ["<found by mac_list>"];
      return {
        summary: `clear xDome custom attribute ${config.attribute} on ${uids.join(", ")}`,
        calls: [
          {
            system: "claroty_xdome",
            method: "POST",
            url: `${config.baseUrl}/api/v1/custom-attributes/set`,
            body: x.setBody(uids, null),
          },
        ],
      };
    },
    async execute(i, ctx) {
      const uids = await x.resolve(ctx, { ...i, mode: "full", clinicalServers: [] });
      await clear(ctx, uids);
      return { uids };
    },
    async verify(_i, o, ctx) {
      const got = await x.read(ctx, o.uids);
      const left = o.uids.filter((u) => got.get(u));
      return left.length
        ? { ok: false, detail: `xDome still reads ${config.attribute} on ${left.join(", ")}` }
        : { ok: true, detail: `${config.attribute} unset on ${o.uids.join(", ")}` };
    },
  };
  return [mark as Action, unmark as Action];
}

const url = z.string().url();

/** `playbooks.systems.xdome`: Claroty xDome custom attribute (containment marker). */
export const xdomeConfigSchema = z.strictObject({
  /** @defaultValue "https://api.claroty.com" */
  baseUrl: url.default("https://api.claroty.com"),
  token: secretSchema,
  /** @defaultValue "medsoc_containment" */
  attribute: z.string().min(1).default("medsoc_containment"),
  /** Device field returning the attribute in `devices/`. @defaultValue the attribute */
  readField: z.string().min(1).optional(),
  /** @defaultValue {full: "quarantine", restricted: "restricted"} */
  values: z
    .strictObject({
      full: z.string().default("quarantine"),
      restricted: z.string().default("restricted"),
    })
    .prefault({}),
});

/** Claroty xDome custom attribute (containment marker): the one declaration of this system (settings, actions, enforcement point). */
export const xdomeSystem = defineSystem({
  id: "xdome",
  title: "Claroty xDome custom attribute (containment marker).",
  config: xdomeConfigSchema,
  actions: ["xdome.mark", "xdome.unmark"],
  create: (config) => xdomeActions(config),
  stage: "monitor",
  enforcementPoint: {
    label: "Claroty xDome attribute",
    keyedBy: "mac",
    apply: "xdome.mark",
    release: "xdome.unmark",
    applyInput: (t, mode, clinicalServers) => needMac(t) ?? { macs: t.macs, mode, clinicalServers },
    releaseInput: (t) => needMac(t) ?? { macs: t.macs },
  },
});
