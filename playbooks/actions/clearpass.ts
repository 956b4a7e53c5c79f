/**
 * Aruba ClearPass containment (response.md §2): an OAuth2 client-credentials token (refreshed before
 * `expires_in`, and once on 401), the endpoint looked up by MAC, its attributes patched with the
 * quarantine marker of the containment mode (`IoMT-Quarantine: true`, `IoMT-Quarantine-Mode:
 * full|restricted`, the run id as reason), then a CoA with the enforcement profile of the mode so the
 * switch re-authorises the session now. The attributes are read back; undo patches the marker off
 * (`IoMT-Quarantine: false`) and disconnects the session so the device re-authenticates under the
 * normal policy. The enforcement policy and profiles are created once by the customer (the restricted
 * profile's dACL keeps the clinical servers reachable).
 *
 * Undo reverses only this step: an endpoint that already carried the same mode is left alone, and
 * one that carried the other mode (restricted, before a full isolation) is marked back to it and
 * re-authorised with its profile instead of being released.
 */
import { z } from "zod";
import { secretSchema } from "../../core/config-fields.ts";
import { PermanentError } from "../../core/errors.ts";
import type { IssuedToken } from "../../core/token-cache.ts";
import { actionTokens, type CallResponse, call, withToken } from "./http.ts";
import { type Action, type ActionContext, defineSystem, needMac, UnknownDeviceError } from "./types.ts";

/** `playbooks.systems.clearpass` as parsed (declared once, below: `clearpassConfigSchema`). */
export type ClearPassConfig = z.output<typeof clearpassConfigSchema>;

/** `AA-BB-…` / `aa:bb:…` → `aabbccddeeff` (ClearPass's form in paths). */
export const macPlain = (mac: string) => mac.toLowerCase().replace(/[^0-9a-f]/g, "");

const input = z.strictObject({
  macs: z.array(z.string().min(1)).min(1),
  mode: z.enum(["full", "restricted"]),
  clinicalServers: z.array(z.string()).default([]),
});
type Input = z.infer<typeof input>;
type Marked = {
  mac: string;
  mode: "full" | "restricted";
  profile: string;
  coa: string;
  /** The endpoint was already marked with this mode before the step: undo leaves it. */
  preexisting?: boolean;
  /** The mode the endpoint was marked with before the step: undo marks it back. */
  previous?: "full" | "restricted";
};
type Output = { endpoints: Marked[] };

type Endpoint = { id?: number; mac_address?: string; status?: string; attributes?: Record<string, unknown> };

class ClearPassClient {
  // Renewed at 90% of `expires_in` (expiresAt below), so a token never expires mid-step.
  readonly #tokens = actionTokens((ctx) => this.#login(ctx), 0);
  constructor(readonly c: ClearPassConfig) {}

  async #login(ctx: ActionContext): Promise<IssuedToken> {
    const r = await call(ctx, {
      system: "clearpass",
      method: "POST",
      url: new URL("/api/oauth", this.c.baseUrl).toString(),
      body: {
        grant_type: "client_credentials",
        client_id: this.c.clientId,
        client_secret: this.c.clientSecret.reveal(),
      },
      secrets: [this.c.clientSecret],
      context: "requesting a ClearPass token",
    });
    const b = r.body as { access_token?: string; expires_in?: number } | undefined;
    if (!b?.access_token)
      throw new PermanentError("requesting a ClearPass token: no access_token in the answer");
    return { value: b.access_token, expiresAt: Date.now() + (b.expires_in ?? 3600) * 900 };
  }

  async send(
    ctx: ActionContext,
    method: "GET" | "PATCH" | "POST",
    path: string,
    context: string,
    body?: unknown,
  ): Promise<CallResponse> {
    return withToken(this.#tokens, ctx, (token) =>
      call(ctx, {
        system: "clearpass",
        method,
        url: new URL(path, this.c.baseUrl).toString(),
        headers: { authorization: `Bearer ${token}` },
        body,
        secrets: [token, this.c.clientSecret],
        context,
      }),
    );
  }

  async endpoint(ctx: ActionContext, mac: string): Promise<Endpoint> {
    try {
      const r = await this.send(
        ctx,
        "GET",
        `/api/endpoint/mac-address/${mac}`,
        `reading ClearPass endpoint ${mac}`,
      );
      return (r.body as Endpoint) ?? {};
    } catch (error) {
      if (error instanceof PermanentError && /HTTP 404/.test(error.message))
        throw new UnknownDeviceError(`ClearPass knows no endpoint ${mac}`, { cause: error });
      throw error;
    }
  }

  marker(mode: "full" | "restricted" | "off", reason: string): Record<string, string> {
    const a = this.c.attribute;
    return mode === "off"
      ? { [a]: "false", [`${a}-Mode`]: "", [`${a}-Reason`]: reason }
      : { [a]: "true", [`${a}-Mode`]: mode, [`${a}-Reason`]: reason };
  }

  /** `mode` when the endpoint carries our marker, `off` when it does not. */
  markedMode(e: Endpoint): "full" | "restricted" | "off" {
    const a = this.c.attribute;
    const on = String(e.attributes?.[a] ?? "").toLowerCase() === "true";
    if (!on) return "off";
    const m = String(e.attributes?.[`${a}-Mode`] ?? "");
    return m === "restricted" ? "restricted" : "full";
  }

  /** CoA with `profile`; an endpoint without an active session gets the policy at its next authentication. */
  async coa(ctx: ActionContext, mac: string, profile: string): Promise<string> {
    try {
      const r = await this.send(
        ctx,
        "POST",
        `/api/session-action/coa/mac/${mac}?async=false`,
        `sending a ClearPass CoA (${profile}) to ${mac}`,
        { enforcement_profile: [profile] },
      );
      return String((r.body as { status?: string } | undefined)?.status ?? `HTTP ${r.status}`);
    } catch (error) {
      if (error instanceof PermanentError && /HTTP 404/.test(error.message))
        return "no active session (applies at the next authentication)";
      throw error;
    }
  }
}

export function clearPassActions(config: ClearPassConfig): Action[] {
  const cp = new ClearPassClient(config);
  const quarantine: Action<Input, Output> = {
    name: "clearpass.quarantine",
    description:
      "Mark the endpoint in Aruba ClearPass with the quarantine attributes of the containment mode, CoA with its enforcement profile; read the attributes back; unmark and disconnect on undo.",
    kind: "containment",
    input,
    async plan(i) {
      const profile = config.enforcementProfiles[i.mode];
      const macs = i.macs.map(macPlain);
      return {
        summary: `mark ClearPass endpoint(s) ${macs.join(", ")} ${config.attribute}=true (${i.mode}${i.mode === "restricted" ? `, clinical servers ${i.clinicalServers.join(", ") || "none configured"} stay reachable` : ""}) and CoA with "${profile}"`,
        calls: macs.flatMap((mac) => [
          {
            system: "clearpass",
            method: "PATCH",
            url: `${config.baseUrl}/api/endpoint/mac-address/${mac}`,
            body: { attributes: cp.marker(i.mode, "medsoc run <id>") },
          },
          {
            system: "clearpass",
            method: "POST",
            url: `${config.baseUrl}/api/session-action/coa/mac/${mac}?async=false`,
            body: { enforcement_profile: [profile] },
          },
        ]),
      };
    },
    async execute(i, ctx) {
      const profile = config.enforcementProfiles[i.mode];
      const endpoints: Marked[] = [];
      for (const mac of [...new Set(i.macs.map(macPlain))]) {
        const e = await cp.endpoint(ctx, mac);
        // Idempotent re-run: already marked with this mode → no second PATCH (the CoA is repeated:
        // harmless, and the previous attempt may have died before it).
        const before = cp.markedMode(e);
        if (before === "full" && i.mode === "restricted") {
          // Already stronger: never loosen here (loosening is a release, an operator's decision).
          endpoints.push({
            mac,
            mode: "full",
            profile: config.enforcementProfiles.full,
            coa: "not sent (already in full containment)",
            preexisting: true,
          });
          continue;
        }
        if (before !== i.mode)
          await cp.send(
            ctx,
            "PATCH",
            `/api/endpoint/mac-address/${mac}`,
            `marking ClearPass endpoint ${mac}`,
            { attributes: cp.marker(i.mode, `medsoc run ${ctx.runId} step ${ctx.stepId}`) },
          );
        const coa = await cp.coa(ctx, mac, profile);
        endpoints.push({
          mac,
          mode: i.mode,
          profile,
          coa,
          ...(before === i.mode ? { preexisting: true } : before !== "off" ? { previous: before } : {}),
        });
      }
      return { endpoints };
    },
    async verify(_i, o, ctx) {
      const wrong: string[] = [];
      for (const m of o.endpoints) {
        const got = cp.markedMode(await cp.endpoint(ctx, m.mac));
        if (got !== m.mode) wrong.push(`${m.mac} reads ${got === "off" ? "not quarantined" : `mode ${got}`}`);
      }
      return wrong.length
        ? { ok: false, detail: `after marking, ClearPass endpoint ${wrong.join("; ")}` }
        : {
            ok: true,
            detail: `ClearPass endpoint(s) ${o.endpoints.map((m) => m.mac).join(", ")} carry ${config.attribute}=true (${o.endpoints[0]?.mode}); CoA ${o.endpoints.map((m) => m.coa).join(", ")}`,
          };
    },
    async undo(_i, o, ctx) {
      for (const m of o.endpoints) {
        if (m.preexisting) continue;
        if (!m.previous) {
          await unmark(ctx, m.mac);
          continue;
        }
        const back = m.previous;
        await cp.send(
          ctx,
          "PATCH",
          `/api/endpoint/mac-address/${m.mac}`,
          `marking ClearPass endpoint ${m.mac} back to ${back}`,
          {
            attributes: cp.marker(back, `restored by medsoc run ${ctx.runId}`),
          },
        );
        await cp.coa(ctx, m.mac, config.enforcementProfiles[back]);
        const now = cp.markedMode(await cp.endpoint(ctx, m.mac));
        if (now !== back) throw new PermanentError(`ClearPass marks ${m.mac} ${now} after restoring ${back}`);
      }
    },
  };

  async function unmark(ctx: ActionContext, mac: string): Promise<void> {
    const e = await cp.endpoint(ctx, mac);
    if (cp.markedMode(e) !== "off")
      await cp.send(ctx, "PATCH", `/api/endpoint/mac-address/${mac}`, `unmarking ClearPass endpoint ${mac}`, {
        attributes: cp.marker("off", `released by medsoc run ${ctx.runId}`),
      });
    // The session re-authenticates under the normal policy (response.md §2 "Undo"); no session: nothing to do.
    try {
      await cp.send(
        ctx,
        "POST",
        `/api/session-action/disconnect/mac/${mac}?async=false`,
        `disconnecting ClearPass session of ${mac}`,
        {},
      );
    } catch (error) {
      if (!(error instanceof PermanentError && /HTTP 404/.test(error.message))) throw error;
    }
    const left = cp.markedMode(await cp.endpoint(ctx, mac));
    if (left !== "off") throw new PermanentError(`ClearPass still marks ${mac} (${left}) after unmarking`);
  }

  const release: Action<{ macs: string[] }, { macs: string[] }> = {
    name: "clearpass.release",
    description:
      "Clear the quarantine attributes of the endpoint in Aruba ClearPass, disconnect it, read back.",
    kind: "release",
    input: z.strictObject({ macs: z.array(z.string().min(1)).min(1) }),
    async plan(i) {
      const macs = i.macs.map(macPlain);
      return {
        summary: `set ${config.attribute}=false on ClearPass endpoint(s) ${macs.join(", ")} and disconnect their sessions`,
        calls: macs.map((mac) => ({
          system: "clearpass",
          method: "PATCH",
          url: `${config.baseUrl}/api/endpoint/mac-address/${mac}`,
          body: { attributes: cp.marker("off", "released") },
        })),
      };
    },
    async execute(i, ctx) {
      const macs = [...new Set(i.macs.map(macPlain))];
      for (const mac of macs) await unmark(ctx, mac);
      return { macs };
    },
    async verify(_i, o, ctx) {
      for (const mac of o.macs) {
        const got = cp.markedMode(await cp.endpoint(ctx, mac));
        if (got !== "off") return { ok: false, detail: `ClearPass still marks ${mac} (${got})` };
      }
      return { ok: true, detail: `no quarantine marker on ${o.macs.join(", ")}` };
    },
  };
  return [quarantine as Action, release as Action];
}

const url = z.string().url();

/** `playbooks.systems.clearpass`: Aruba ClearPass (endpoint attributes + CoA). */
export const clearpassConfigSchema = z.strictObject({
  baseUrl: url,
  clientId: z.string().min(1),
  clientSecret: secretSchema,
  /** @defaultValue "IoMT-Quarantine" */
  attribute: z.string().min(1).default("IoMT-Quarantine"),
  /** @defaultValue {full: "IoMT Quarantine VLAN", restricted: "IoMT Restricted Access"} */
  enforcementProfiles: z
    .strictObject({
      full: z.string().default("IoMT Quarantine VLAN"),
      restricted: z.string().default("IoMT Restricted Access"),
    })
    .prefault({}),
});

/** Aruba ClearPass (endpoint attributes + CoA): the one declaration of this system (settings, actions, enforcement point). */
export const clearpassSystem = defineSystem({
  id: "clearpass",
  title: "Aruba ClearPass (endpoint attributes + CoA).",
  config: clearpassConfigSchema,
  actions: ["clearpass.quarantine", "clearpass.release"],
  create: (config) => clearPassActions(config),
  stage: "nac",
  enforcementPoint: {
    label: "Aruba ClearPass",
    keyedBy: "mac",
    apply: "clearpass.quarantine",
    release: "clearpass.release",
    applyInput: (t, mode, clinicalServers) => needMac(t) ?? { macs: t.macs, mode, clinicalServers },
    releaseInput: (t) => needMac(t) ?? { macs: t.macs },
  },
});
