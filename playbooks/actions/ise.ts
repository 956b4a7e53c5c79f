/**
 * Cisco ISE containment through Adaptive Network Control (response.md §1.3): look the endpoint up
 * by MAC, apply the ANC policy for the containment mode (`full` → a QUARANTINE policy, `restricted` →
 * a policy whose dACL allows only the device's clinical servers), read the assignment back, and clear
 * it on undo. The policies are created once by the customer; `execute()` checks they exist.
 *
 * Idempotency (response.md §0.4, §1.5): the assignment is read before applying; an endpoint that
 * already carries the policy is not sent a second apply, and an "already associated" answer (a race
 * with another run) is decided by reading the assignment back. Undo reverses only this step: an
 * endpoint that already carried the policy is left alone, and one that carried another medsoc
 * policy (restricted, before a full isolation) gets that policy back instead of being cleared, so a
 * failed or undone escalation keeps the earlier containment. "Not associated" on clear is success.
 */
import { z } from "zod";
import { secretSchema } from "../../core/config-fields.ts";
import { PermanentError } from "../../core/errors.ts";
import { call, macColons, withReauth } from "./http.ts";
import { type Action, type ActionContext, defineSystem, needMac, UnknownDeviceError } from "./types.ts";

/** `playbooks.systems.ise` as parsed (declared once, below: `iseConfigSchema`). */
export type IseConfig = z.output<typeof iseConfigSchema>;

const input = z
  .strictObject({
    /** MACs of one device (any form); the first one ISE knows is used. */
    macs: z.array(z.string().min(1)).optional(),
    /** Several devices at once (hard-coded credential groups): each with its MAC(s). */
    devices: z
      .array(z.object({ key: z.string(), mac: z.string().optional(), macs: z.array(z.string()).optional() }))
      .optional(),
    mode: z.enum(["full", "restricted"]),
    /** Shown in the plan and audit (the policy itself carries the allow-list). */
    clinicalServers: z.array(z.string()).default([]),
  })
  .refine((i) => (i.macs?.length ?? 0) > 0 || (i.devices?.length ?? 0) > 0, {
    message: "give macs or devices",
  });
type Input = z.infer<typeof input>;
type Output = {
  applied: {
    mac: string;
    policy: string;
    /** The endpoint carried this policy before the step: undo leaves it. */
    preexisting?: boolean;
    /** Another policy the endpoint carried before the step: undo re-applies it. */
    previous?: string;
  }[];
};

const targets = (i: Input): string[][] =>
  i.devices
    ? i.devices.map((d) => [...(d.macs ?? []), ...(d.mac ? [d.mac] : [])]).filter((m) => m.length > 0)
    : [i.macs ?? []];

class IseClient {
  constructor(readonly c: IseConfig) {}
  #auth = () => `Basic ${Buffer.from(`${this.c.username}:${this.c.password.reveal()}`).toString("base64")}`;
  async send(ctx: ActionContext, method: "GET" | "PUT", path: string, context: string, body?: unknown) {
    // Basic auth has no session to refresh; a 401 is final (wrong ERS credentials).
    return withReauth(
      () =>
        call(ctx, {
          system: "cisco_ise",
          method,
          url: new URL(path, this.c.baseUrl).toString(),
          headers: { authorization: this.#auth() },
          body,
          secrets: [this.c.password],
          context,
        }),
      async () => undefined,
    );
  }
  async knownMac(ctx: ActionContext, macs: string[]): Promise<string> {
    for (const m of macs) {
      const mac = macColons(m);
      const r = await this.send(
        ctx,
        "GET",
        `/ers/config/endpoint?filter=mac.EQ.${mac}`,
        `looking up ISE endpoint ${mac}`,
      );
      const total = (r.body as { SearchResult?: { total?: number } })?.SearchResult?.total ?? 0;
      if (total > 0) return mac;
    }
    throw new UnknownDeviceError(`no ISE endpoint for ${macs.join(", ")}`);
  }
  /** Policies seen to exist, with when (checked again after 5 minutes). */
  readonly #policies = new Map<string, number>();
  async policyExists(ctx: ActionContext, name: string): Promise<void> {
    if ((this.#policies.get(name) ?? 0) > Date.now() - 300_000) return;
    const r = await this.send(ctx, "GET", "/ers/config/ancpolicy?size=100", "listing ANC policies");
    const names = (
      (r.body as { SearchResult?: { resources?: { name: string }[] } })?.SearchResult?.resources ?? []
    ).map((x) => x.name);
    if (!names.includes(name))
      throw new PermanentError(`ANC policy ${name} does not exist in ISE (create it once: response.md §1.3)`);
    this.#policies.set(name, Date.now());
  }
  op(mac: string, policy?: string) {
    const additionalData = [{ name: "macAddress", value: mac }];
    if (policy) additionalData.push({ name: "policyName", value: policy });
    return { OperationAdditionalData: { additionalData } };
  }
  /** The ANC policy applied to `mac`, read back from ERS (filter first; full paging where it is refused). */
  async assignment(ctx: ActionContext, mac: string): Promise<string | undefined> {
    let path: string | undefined = `/ers/config/ancendpoint?size=100&page=1&filter=macAddress.EQ.${mac}`;
    let filtered = true;
    while (path) {
      let r: Awaited<ReturnType<IseClient["send"]>>;
      try {
        r = await this.send(ctx, "GET", path, "reading ANC endpoints back");
      } catch (error) {
        if (filtered && error instanceof PermanentError && !(error.name === "UnauthorizedError")) {
          filtered = false;
          path = "/ers/config/ancendpoint?size=100&page=1";
          continue;
        }
        throw error;
      }
      const sr = (r.body as { SearchResult?: { resources?: { id: string }[]; nextPage?: { href: string } } })
        ?.SearchResult;
      for (const res of sr?.resources ?? []) {
        const one = await this.send(
          ctx,
          "GET",
          `/ers/config/ancendpoint/${res.id}`,
          "reading an ANC endpoint",
        );
        const e = (one.body as { ErsAncEndpoint?: { macAddress?: string; policyName?: string } })
          ?.ErsAncEndpoint;
        if (e?.macAddress?.toUpperCase() === mac) return e.policyName;
      }
      path = sr?.nextPage?.href;
    }
    return undefined;
  }
}

export function iseActions(config: IseConfig): Action[] {
  const ise = new IseClient(config);
  const quarantine: Action<Input, Output> = {
    name: "ise.quarantine",
    description:
      "Apply the ANC policy of the containment mode to the device's MAC in Cisco ISE; read it back; clear on undo.",
    kind: "containment",
    input,
    async plan(i) {
      const macs = targets(i).map((m) => macColons(m[0] as string));
      const mac = macs[0] as string;
      const policy = config.policies[i.mode];
      return {
        summary: `apply ISE ANC policy ${policy} (${i.mode}${i.mode === "restricted" ? `, clinical servers ${i.clinicalServers.join(", ") || "none configured"} stay reachable` : ""}) to ${macs.join(", ")}`,
        calls: [
          {
            system: "cisco_ise",
            method: "GET",
            url: `${config.baseUrl}/ers/config/endpoint?filter=mac.EQ.${mac}`,
          },
          {
            system: "cisco_ise",
            method: "PUT",
            url: `${config.baseUrl}/ers/config/ancendpoint/apply`,
            body: ise.op(mac, policy),
          },
          {
            system: "cisco_ise",
            method: "GET",
            url: `${config.baseUrl}/ers/config/ancendpoint?filter=macAddress.EQ.${mac}`,
          },
        ],
      };
    },
    async execute(i, ctx) {
      const policy = config.policies[i.mode];
      await ise.policyExists(ctx, policy);
      const applied: Output["applied"] = [];
      for (const macs of targets(i)) {
        const mac = await ise.knownMac(ctx, macs);
        const before = await ise.assignment(ctx, mac);
        // Already there, or already stronger (full when restricted is asked): never loosen here —
        // loosening is a release, an operator's decision.
        if (before === policy || (before === config.policies.full && policy === config.policies.restricted)) {
          applied.push({ mac, policy: before, preexisting: true });
          continue;
        }
        try {
          await apply(ctx, mac, policy);
        } catch (error) {
          // "already associated": another run got there first, or ISE refuses to replace `before`;
          // the read-back (verify) decides.
          if (!(error instanceof PermanentError && /already/i.test(error.message))) throw error;
          if ((await ise.assignment(ctx, mac)) === policy) {
            applied.push({ mac, policy, preexisting: true });
            continue;
          }
        }
        applied.push({ mac, policy, ...(before ? { previous: before } : {}) });
      }
      return { applied };
    },
    async verify(_i, o, ctx) {
      const wrong: string[] = [];
      for (const a of o.applied) {
        const got = await ise.assignment(ctx, a.mac);
        if (got !== a.policy) wrong.push(`${a.mac} shows ${got ? `policy ${got}` : "no ANC policy"}`);
      }
      return wrong.length
        ? { ok: false, detail: `after apply ISE ${wrong.join("; ")}` }
        : {
            ok: true,
            detail: `ISE lists ${o.applied.map((a) => a.mac).join(", ")} with ANC policy ${o.applied[0]?.policy}`,
          };
    },
    async undo(_i, o, ctx) {
      for (const a of o.applied) {
        if (a.preexisting) continue;
        if (!a.previous) {
          await clear(ctx, a.mac);
          continue;
        }
        // Back to the containment the endpoint had before this step (restricted under a full one).
        if ((await ise.assignment(ctx, a.mac)) !== a.previous) await apply(ctx, a.mac, a.previous, true);
        const now = await ise.assignment(ctx, a.mac);
        if (now !== a.previous)
          throw new PermanentError(
            `ISE shows ${a.mac} with ${now ?? "no ANC policy"} after restoring ${a.previous}`,
          );
      }
    },
  };
  /** PUT apply; with `replace`, an "already associated" refusal is answered by clear + apply. */
  async function apply(ctx: ActionContext, mac: string, policy: string, replace = false): Promise<void> {
    const send = () =>
      ise.send(
        ctx,
        "PUT",
        "/ers/config/ancendpoint/apply",
        `applying ANC policy ${policy} to ${mac}`,
        ise.op(mac, policy),
      );
    try {
      await send();
    } catch (error) {
      if (!(replace && error instanceof PermanentError && /already/i.test(error.message))) throw error;
      await clear(ctx, mac);
      await send();
    }
  }
  async function clear(ctx: ActionContext, mac: string): Promise<void> {
    try {
      await ise.send(
        ctx,
        "PUT",
        "/ers/config/ancendpoint/clear",
        `clearing ANC policy of ${mac}`,
        ise.op(mac),
      );
    } catch (error) {
      // "not associated with a policy": already clear — idempotent success (response.md §1.5).
      if (!(error instanceof PermanentError && /not associated/i.test(error.message))) throw error;
    }
    const left = await ise.assignment(ctx, mac);
    if (left) throw new PermanentError(`ISE still lists ${mac} with ANC policy ${left} after clear`);
  }
  const release: Action<{ macs: string[] }, { macs: string[] }> = {
    name: "ise.release",
    description:
      "Clear the ANC policy of every MAC of the device in Cisco ISE and read back that none is left.",
    kind: "release",
    input: z.strictObject({ macs: z.array(z.string().min(1)).min(1) }),
    async plan(i) {
      const macs = [...new Set(i.macs.map(macColons))];
      return {
        summary: `clear the ISE ANC policy of ${macs.join(", ")}`,
        calls: macs.map((mac) => ({
          system: "cisco_ise",
          method: "PUT",
          url: `${config.baseUrl}/ers/config/ancendpoint/clear`,
          body: ise.op(mac),
        })),
      };
    },
    async execute(i, ctx) {
      // Every MAC: the one quarantined was the first ISE knew, not necessarily the first listed.
      const macs = [...new Set(i.macs.map(macColons))];
      for (const mac of macs) await clear(ctx, mac);
      return { macs };
    },
    async verify(_i, o, ctx) {
      const left: string[] = [];
      for (const mac of o.macs) {
        const got = await ise.assignment(ctx, mac);
        if (got) left.push(`${mac} (${got})`);
      }
      return left.length
        ? { ok: false, detail: `ISE still lists ${left.join(", ")}` }
        : { ok: true, detail: `no ANC policy on ${o.macs.join(", ")}` };
    },
  };
  return [quarantine as Action, release as Action];
}

const url = z.string().url();

/** `playbooks.systems.ise`: Cisco ISE ERS (ANC containment). */
export const iseConfigSchema = z.strictObject({
  baseUrl: url,
  username: z.string().min(1),
  password: secretSchema,
  /** @defaultValue {full: "IOMT_QUARANTINE", restricted: "IOMT_RESTRICTED"} */
  policies: z
    .strictObject({
      full: z.string().default("IOMT_QUARANTINE"),
      restricted: z.string().default("IOMT_RESTRICTED"),
    })
    .prefault({}),
});

/** Cisco ISE ERS (ANC containment): the one declaration of this system (settings, actions, enforcement point). */
export const iseSystem = defineSystem({
  id: "ise",
  title: "Cisco ISE ERS (ANC containment).",
  config: iseConfigSchema,
  actions: ["ise.quarantine", "ise.release"],
  create: (config) => iseActions(config),
  stage: "nac",
  enforcementPoint: {
    label: "Cisco ISE ANC",
    keyedBy: "mac",
    apply: "ise.quarantine",
    release: "ise.release",
    applyInput: (t, mode, clinicalServers) => needMac(t) ?? { macs: t.macs, mode, clinicalServers },
    releaseInput: (t) => needMac(t) ?? { macs: t.macs },
  },
});
