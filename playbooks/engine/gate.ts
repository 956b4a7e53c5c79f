/**
 * The engine side of the guards (guards.ts holds the pure rules): for one step that touches a
 * device, the clinical gate on the state re-read right now, then the per-device blast-radius
 * reservation (atomic, before anything runs). Runs before every attempt of such a step — after any
 * approval wait and on every retry. docs/playbooks-safety.md describes both.
 */
import { requestApproval } from "./approvals.ts";
import type { EngineCore } from "./context.ts";
import {
  clinicalApprovalNeeded,
  type GateEffect,
  type GateTarget,
  resolveTargets,
  withoutDevices,
} from "./guards.ts";
import type { PlaybookStep } from "./schema.ts";
import type { RunState, StepState } from "./store.ts";

const HOUR = 3_600_000;

/**
 * The clinical gate and the blast radius for one device-touching step (guards.ts). Returns the
 * (possibly narrowed) input to run, "parked" (waiting for an approval; run saved and announced),
 * "skip" (nothing left to touch: every device was refused by clinical engineering) or "denied"
 * (the blast-radius approval was refused).
 */
export async function gateStep(
  core: EngineCore,
  run: RunState,
  step: PlaybookStep,
  st: StepState,
  effect: GateEffect,
  input: unknown,
): Promise<{ input: unknown } | "parked" | "skip" | "denied"> {
  const { store } = core.o;
  const now = core.o.now();
  const base = { runId: run.id, playbookId: run.playbookId, stepId: step.id, deviceKey: run.deviceKey };
  const targets = await resolveTargets(input, run, core.o.devices, now);
  st.gate = {
    ...st.gate,
    effect,
    targets: targets.map((t) => ({
      key: t.key,
      state: t.state,
      reasons: t.reasons,
      clinicalServers: t.clinicalServers.length,
    })),
  };
  run.clinicalApprovals ??= {};
  run.clinicalDenied ??= {};
  // Decisions are per device and per kind of change: network containment or credential change.
  const cls = effect === "credential" ? "credential" : "containment";
  const approved = (k: string) => run.clinicalApprovals?.[`${cls}:${k}`];
  const denied = (k: string) => run.clinicalDenied?.[`${cls}:${k}`];

  // 1. Clinical gate.
  const refused: GateTarget[] = targets.filter((t) => denied(t.key) && clinicalApprovalNeeded(effect, t));
  const ask: { t: GateTarget; why: string }[] = [];
  for (const t of targets) {
    const why = clinicalApprovalNeeded(effect, t);
    if (why && !approved(t.key) && !denied(t.key)) ask.push({ t, why });
  }
  if (ask.length) {
    const list = ask.slice(0, 5).map((a) => a.why);
    const reason = `${step.id} (${step.action}): ${list.join("; ")}${ask.length > 5 ? `; and ${ask.length - 5} more device(s)` : ""}`;
    st.gate.pending = "clinical";
    await core.audit({
      ...base,
      type: "gate.clinical",
      actor: "engine",
      outcome: "failure",
      message: `Clinical gate: ${step.id} waits for ${core.o.clinicalRole} on ${ask.length} device(s) that may be in use.`,
      detail: {
        effect,
        devices: ask.map((a) => ({ key: a.t.key, state: a.t.state, reasons: a.t.reasons })),
      },
    });
    await requestApproval(core, run, st, step.id, {
      role: core.o.clinicalRole,
      reason,
      timeoutMs: core.o.clinicalApprovalTimeoutMs,
      devices: ask.map((a) => a.t.key),
    });
    return "parked";
  }
  let remaining = targets;
  if (refused.length) {
    const keys = new Set(refused.map((t) => t.key));
    st.gate.skipped = [...new Set([...(st.gate.skipped ?? []), ...keys])];
    remaining = targets.filter((t) => !keys.has(t.key));
    await core.audit({
      ...base,
      type: "gate.skipped",
      actor: "engine",
      outcome: "failure",
      message: `Clinical gate: ${step.id} leaves out ${refused.length} device(s) clinical engineering did not approve: ${[...keys].slice(0, 20).join(", ")}.`,
      detail: { effect, devices: [...keys] },
    });
    const narrowed = remaining.length ? withoutDevices(input, refused) : undefined;
    const parsed =
      narrowed === undefined ? undefined : core.o.actions.get(step.action)?.input.safeParse(narrowed);
    if (!parsed?.success) {
      st.status = "skipped";
      st.error = "not approved by clinical engineering for any of its devices";
      if (run.outcome === undefined && run.phase === "main") run.outcome = "denied";
      return "skip";
    }
    input = parsed.data;
  }

  // 2. Blast radius: reserve every device not reserved yet, atomically, before anything runs.
  run.reservedDevices ??= [];
  const have = new Set(run.reservedDevices);
  const fresh = remaining.map((t) => t.key).filter((k) => !have.has(k));
  if (fresh.length && !run.containmentApproved) {
    const r = await store.reserveDevices(fresh, now.getTime(), HOUR, core.o.blastRadiusPerHour);
    if (!r.ok) {
      if (st.gate.pending === "blast" && st.approvalId) {
        const a = await store.getApproval(st.approvalId);
        if (a && a.status !== "pending" && a.status !== "approved") return "denied";
      }
      st.gate.pending = "blast";
      await requestApproval(core, run, st, step.id, {
        role: core.o.blastRadiusRole,
        reason: `${step.action} on ${fresh.length} device(s) (${fresh.slice(0, 5).join(", ")}${fresh.length > 5 ? ", …" : ""}) above the blast-radius limit (${r.count} devices contained or changed automatically in the last hour, limit ${core.o.blastRadiusPerHour})`,
        timeoutMs: core.o.blastRadiusApprovalTimeoutMs,
        devices: fresh,
      });
      return "parked";
    }
    run.reservedDevices.push(...fresh);
    st.gate.reserved = [...(st.gate.reserved ?? []), ...fresh];
    await core.audit({
      ...base,
      type: "blast_radius.reserved",
      actor: "engine",
      outcome: "success",
      message: `Blast radius: reserved ${fresh.length} device(s) for ${step.id} (${r.count} of ${core.o.blastRadiusPerHour} this hour).`,
      detail: { devices: fresh, count: r.count, limit: core.o.blastRadiusPerHour, effect },
    });
  } else if (fresh.length) {
    st.gate.reserved = [...(st.gate.reserved ?? []), ...fresh];
    run.reservedDevices.push(...fresh);
    await core.audit({
      ...base,
      type: "blast_radius.approved",
      actor: "engine",
      outcome: "success",
      message: `Blast radius: ${fresh.length} device(s) for ${step.id} covered by the run's approval.`,
      detail: { devices: fresh, effect },
    });
  }
  st.gate.pending = undefined;
  return { input };
}
