/**
 * Containment through every enforcement point the deployment configures (issue 10 finding 7):
 * `contain.apply` fans one containment mode out to Cisco ISE, Aruba ClearPass, PAN-OS, FortiGate and
 * the monitor tags (Armis, xDome, Forescout) — whichever are in `playbooks.systems` — verifies each
 * by reading it back, and reports `{applied, verified, failed, skipped}`; `contain.release` does the
 * reverse. The playbooks name this one action instead of one step per vendor, so a ClearPass +
 * FortiGate hospital is contained as surely as an ISE + PAN-OS one, and a hospital with none fails
 * the run instead of reporting a containment that never happened.
 *
 * Rules:
 * - Each enforcement point is driven through its own action (`ise.quarantine`, `panos.tag`, …):
 *   `execute()` then `verify()`; a point counts as applied only when its read-back confirms it.
 * - A point that fails does not stop the others. Retryable failures (5xx, 429, network) are tried
 *   again inside the step (bounded, backoff with jitter, Retry-After honoured).
 * - No point verified for a device → the step fails (retryable when a retry could help); what was
 *   executed without verifying is undone first, so nothing half-done is left without a record.
 * - Some verified, some failed → the step completes (the device IS contained by the verified ones)
 *   and the output lists the failures: the ticket and page say exactly which held and which did not.
 * - `undo()` reverses only the applications this step made, newest first; each point's own undo
 *   leaves what was there before the step (another run's tag, an earlier containment level).
 *
 * The action's kind is `containment` and its input carries `mode` (and `clinicalServers` for
 * restricted), which the engine's clinical gate and blast-radius guard read.
 */
import { z } from "zod";
import { backoffDelay, sleep } from "../../core/backoff.ts";
import { isRetryable, PermanentError, RetryableError } from "../../core/errors.ts";
import type { SystemsConfig } from "../config.ts";
import { ENFORCEMENT_POINTS } from "./systems.ts";
import {
  type Action,
  type ActionContext,
  type ActionPlan,
  type ActionRegistry,
  type AnyAction,
  type ContainmentMode,
  type ContainTarget,
  UnknownDeviceError,
} from "./types.ts";

export { ENFORCEMENT_POINTS } from "./systems.ts";
export type { ContainmentMode, ContainTarget, EnforcementPoint } from "./types.ts";

const device = z.strictObject({
  key: z.string().min(1),
  macs: z.array(z.string()).default([]),
  ips: z.array(z.string()).default([]),
});

const applyInput = z.strictObject({
  mode: z.enum(["full", "restricted"]),
  /** Servers a restricted device keeps reaching (each point's restricted policy allows them). */
  clinicalServers: z.array(z.string()).default([]),
  /** Devices to contain. @defaultValue the run's device */
  devices: z.array(device).optional(),
});
type ApplyInput = z.infer<typeof applyInput>;

const releaseInput = z.strictObject({ devices: z.array(device).optional() });
type ReleaseInput = z.infer<typeof releaseInput>;

/** One action call the fan-out made on one point for one device. */
export interface Application {
  system: string;
  label: string;
  device: string;
  input: unknown;
  output?: unknown;
  verified: boolean;
  detail: string;
}

export interface ContainOutput {
  mode: ContainmentMode;
  /** Every point executed, verified or not (undo reverses exactly these). */
  applied: Application[];
  /** Labels of the points whose read-back confirmed the containment (on every device they acted on). */
  verified: string[];
  failed: { system: string; label: string; device: string; error: string }[];
  skipped: { system: string; label: string; device: string; reason: string }[];
  /** Devices no point verified (only possible when several devices are contained at once). */
  uncontained: string[];
  /** One sentence for tickets and pages. */
  summary: string;
}

export interface ReleaseOutput {
  released: string[];
  failed: { system: string; label: string; device: string; error: string }[];
  skipped: { system: string; label: string; device: string; reason: string }[];
  summary: string;
}

/** How often a retryable failure of one point is tried again inside the step. @defaultValue 3 attempts */
const ATTEMPTS = 3;

/**
 * IPv4-mapped IPv6 (`::ffff:10.0.1.87`, as some monitors report it) is the IPv4 host itself: the
 * points act on the IPv4 form once (Forescout, for one, knows no host by the mapped form).
 */
export const canonicalIp = (ip: string) => {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip.trim());
  return m ? (m[1] as string) : ip.trim();
};

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
const uniq = <T>(xs: T[]) => [...new Set(xs)];

export interface ContainOptions {
  /** Backoff between in-step retries of one point. @defaultValue {baseMs: 500, maxMs: 5000} */
  backoff?: { baseMs: number; maxMs: number };
}

/**
 * The fan-out actions over the points configured in `systems` whose actions are in `registry`
 * (an unconfigured system is simply not a point of this deployment).
 */
export function containActions(
  systems: SystemsConfig,
  registry: ActionRegistry,
  options: ContainOptions = {},
): Action[] {
  const backoff = options.backoff ?? { baseMs: 500, maxMs: 5000 };
  const configured = () =>
    ENFORCEMENT_POINTS.filter(
      (p) =>
        systems[p.system as keyof SystemsConfig] !== undefined &&
        registry.has(p.apply) &&
        registry.has(p.release),
    );
  const none = () =>
    `no enforcement point is configured (set one of ${ENFORCEMENT_POINTS.map((p) => `playbooks.systems.${p.system}`).join(", ")})`;
  const targetsOf = (devices: ApplyInput["devices"], ctx: ActionContext): ContainTarget[] => {
    const ips = (list: string[]) => uniq(list.filter(Boolean).map(canonicalIp));
    if (devices?.length)
      return devices.map((d) => ({ key: d.key, macs: uniq(d.macs.filter(Boolean)), ips: ips(d.ips) }));
    if (!ctx.device) throw new PermanentError("contain: the run has no device and no devices were given");
    return [{ key: ctx.device.key, macs: uniq(ctx.device.macs), ips: ips(ctx.device.ips) }];
  };
  const sub = (ctx: ActionContext, system: string, k: number): ActionContext => ({
    ...ctx,
    stepId: `${ctx.stepId}.${system}${k ? `.${k}` : ""}`,
    idempotencyKey: `${ctx.idempotencyKey}.${system}${k ? `.${k}` : ""}`,
  });
  /** Runs `fn`, trying a retryable failure again (bounded); permanent failures end at once. */
  const attempt = async <T>(ctx: ActionContext, fn: () => Promise<T>): Promise<T> => {
    for (let n = 1; ; n++) {
      try {
        return await fn();
      } catch (error) {
        if (n >= ATTEMPTS || !isRetryable(error) || ctx.signal?.aborted) throw error;
        const floorMs = (error as RetryableError).retryAfterMs;
        await sleep(backoffDelay(n, { ...backoff, floorMs }), ctx.signal);
      }
    }
  };
  const parse = (a: AnyAction, raw: unknown) => {
    const r = a.input.safeParse(raw);
    if (!r.success)
      throw new PermanentError(
        `input of ${a.name}: ${r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`,
      );
    return r.data;
  };
  const listed = (labels: string[]) => (labels.length ? labels.join(", ") : "none");

  const apply: Action<ApplyInput, ContainOutput> = {
    name: "contain.apply",
    description:
      "Contain the device (restricted or full) through every configured enforcement point (ISE, ClearPass, PAN-OS, FortiGate, Armis, xDome, Forescout); read each back; fail when none holds; undo reverses only what this step applied.",
    kind: "containment",
    input: applyInput,
    async plan(i, ctx) {
      const points = configured();
      const targets = targetsOf(i.devices, ctx);
      if (!points.length) return { summary: `contain nothing: ${none()} — the run would fail`, calls: [] };
      const calls: ActionPlan["calls"] = [];
      const parts: string[] = [];
      for (const p of points) {
        const a = registry.get(p.apply) as AnyAction;
        for (const t of targets) {
          const raw = p.applyInput(t, i.mode, i.clinicalServers);
          if (typeof raw === "string") {
            parts.push(`${p.label}: skipped for ${t.key} (${raw})`);
            continue;
          }
          const plan = await a.plan(parse(a, raw), ctx);
          parts.push(`${p.label}: ${plan.summary}`);
          calls.push(...plan.calls);
        }
      }
      return { summary: `${i.mode} containment: ${parts.join("; ")}`, calls };
    },
    async execute(i, ctx) {
      const points = configured();
      if (!points.length) throw new PermanentError(`containing the device: ${none()}`);
      const targets = targetsOf(i.devices, ctx);
      const out: ContainOutput = {
        mode: i.mode,
        applied: [],
        verified: [],
        failed: [],
        skipped: [],
        uncontained: [],
        summary: "",
      };
      const retryable: boolean[] = [];
      for (const [k, t] of targets.entries())
        for (const p of points) {
          const raw = p.applyInput(t, i.mode, i.clinicalServers);
          if (typeof raw === "string") {
            out.skipped.push({ system: p.system, label: p.label, device: t.key, reason: raw });
            continue;
          }
          const a = registry.get(p.apply) as AnyAction;
          const c = sub(ctx, p.system, targets.length > 1 ? k + 1 : 0);
          let app: Application | undefined;
          try {
            const input = parse(a, raw);
            app = { system: p.system, label: p.label, device: t.key, input, verified: false, detail: "" };
            const done = app;
            await attempt(c, async () => {
              done.output = await a.execute(input, c);
              const v = await a.verify(input, done.output, c);
              done.verified = v.ok;
              done.detail = v.detail;
            });
            out.applied.push(app);
            if (!app.verified)
              out.failed.push({
                system: p.system,
                label: p.label,
                device: t.key,
                error: `read-back: ${app.detail}`,
              });
          } catch (error) {
            // Executed but the read-back threw: keep it for undo; never executed: nothing to undo.
            if (app?.output !== undefined) out.applied.push(app);
            retryable.push(isRetryable(error));
            out.failed.push({ system: p.system, label: p.label, device: t.key, error: message(error) });
          }
        }
      const verifiedFor = (key: string) => out.applied.some((x) => x.device === key && x.verified);
      out.uncontained = targets.filter((t) => !verifiedFor(t.key)).map((t) => t.key);
      out.verified = uniq(
        out.applied
          .filter((x) => x.verified && !out.failed.some((f) => f.system === x.system))
          .map((x) => x.label),
      );
      const failedLabels = uniq(out.failed.map((f) => `${f.label} (${f.error})`));
      out.summary = `${i.mode} containment verified on ${listed(out.verified)}${failedLabels.length ? `; FAILED on ${failedLabels.join("; ")}` : ""}${out.skipped.length ? `; skipped ${uniq(out.skipped.map((s) => `${s.label} (${s.reason})`)).join("; ")}` : ""}`;
      if (out.uncontained.length === targets.length) {
        // Nothing holds: take back whatever was executed without verifying, then fail the step.
        const undoErrors = await undoAll(ctx, out.applied);
        const text = `no enforcement point contained ${targets.map((t) => t.key).join(", ")}: ${out.summary}${undoErrors.length ? `; undo of the unverified ones failed: ${undoErrors.join("; ")}` : ""}`;
        if (retryable.some(Boolean)) throw new RetryableError(text);
        throw new PermanentError(text);
      }
      return out;
    },
    async verify(_i, o, ctx) {
      const wrong: string[] = [];
      for (const [k, app] of o.applied.entries()) {
        if (!app.verified) continue;
        const a = registry.get(ENFORCEMENT_POINTS.find((p) => p.system === app.system)?.apply ?? "");
        if (!a) {
          wrong.push(`${app.label}: no longer configured`);
          continue;
        }
        const v = await a.verify(app.input, app.output, sub(ctx, app.system, k));
        if (!v.ok) wrong.push(`${app.label}: ${v.detail}`);
      }
      if (!o.applied.some((x) => x.verified)) return { ok: false, detail: "no enforcement point holds" };
      return wrong.length
        ? { ok: false, detail: `containment no longer reads back on ${wrong.join("; ")}` }
        : { ok: true, detail: o.summary };
    },
    async undo(_i, o, ctx) {
      const errors = await undoAll(ctx, o.applied);
      if (errors.length) throw new PermanentError(`undoing containment: ${errors.join("; ")}`);
    },
  };

  /** Undoes `applied` newest first; every point is attempted; returns the failures. */
  async function undoAll(ctx: ActionContext, applied: Application[]): Promise<string[]> {
    const errors: string[] = [];
    for (const [k, app] of [...applied.entries()].reverse()) {
      const a = registry.get(ENFORCEMENT_POINTS.find((p) => p.system === app.system)?.apply ?? "");
      if (!a?.undo) continue;
      const c = sub(ctx, app.system, k);
      try {
        await attempt(c, () => (a.undo as NonNullable<AnyAction["undo"]>)(app.input, app.output, c));
      } catch (error) {
        errors.push(`${app.label} on ${app.device}: ${message(error)}`);
      }
    }
    return errors;
  }

  const release: Action<ReleaseInput, ReleaseOutput> = {
    name: "contain.release",
    description:
      "Release the device from every configured enforcement point (clear NAC policies, firewall tags and groups, monitor markers) and read each back; fails when any still holds it.",
    kind: "release",
    input: releaseInput,
    async plan(i, ctx) {
      const points = configured();
      if (!points.length) return { summary: `release nothing: ${none()} — the run would fail`, calls: [] };
      const calls: ActionPlan["calls"] = [];
      const parts: string[] = [];
      for (const p of points)
        for (const t of targetsOf(i.devices, ctx)) {
          const raw = p.releaseInput(t);
          if (typeof raw === "string") continue;
          const a = registry.get(p.release) as AnyAction;
          const plan = await a.plan(parse(a, raw), ctx);
          parts.push(`${p.label}: ${plan.summary}`);
          calls.push(...plan.calls);
        }
      return { summary: `release: ${parts.join("; ")}`, calls };
    },
    async execute(i, ctx) {
      const points = configured();
      if (!points.length) throw new PermanentError(`releasing the device: ${none()}`);
      const targets = targetsOf(i.devices, ctx);
      const out: ReleaseOutput = { released: [], failed: [], skipped: [], summary: "" };
      const retryable: boolean[] = [];
      for (const [k, t] of targets.entries())
        for (const p of points) {
          const raw = p.releaseInput(t);
          if (typeof raw === "string") {
            out.skipped.push({ system: p.system, label: p.label, device: t.key, reason: raw });
            continue;
          }
          const a = registry.get(p.release) as AnyAction;
          const c = sub(ctx, p.system, targets.length > 1 ? k + 1 : 0);
          try {
            const input = parse(a, raw);
            const v = await attempt(c, async () => a.verify(input, await a.execute(input, c), c));
            if (v.ok) out.released.push(p.label);
            else out.failed.push({ system: p.system, label: p.label, device: t.key, error: v.detail });
          } catch (error) {
            // The point does not know the device: it holds nothing to release.
            if (error instanceof UnknownDeviceError) {
              out.skipped.push({ system: p.system, label: p.label, device: t.key, reason: message(error) });
              continue;
            }
            retryable.push(isRetryable(error));
            out.failed.push({ system: p.system, label: p.label, device: t.key, error: message(error) });
          }
        }
      out.released = uniq(out.released.filter((l) => !out.failed.some((f) => f.label === l)));
      out.summary = `released from ${listed(out.released)}${out.failed.length ? `; STILL HELD or unknown on ${uniq(out.failed.map((f) => `${f.label} (${f.error})`)).join("; ")}` : ""}`;
      if (out.failed.length) {
        const text = `releasing ${targets.map((t) => t.key).join(", ")}: ${out.summary}`;
        if (retryable.some(Boolean)) throw new RetryableError(text);
        throw new PermanentError(text);
      }
      return out;
    },
    async verify(_i, o) {
      // Every point was read back inside execute(); a failure there already failed the step.
      return { ok: o.failed.length === 0, detail: o.summary };
    },
  };
  return [apply as Action, release as Action];
}
