/**
 * What an approver is shown (page, personal message, on-call page): the device, its clinical state
 * as medsoc knows it now, and the plan, i.e. what the run will do if the approval is given. The plan
 * is computed the way the engine would run the steps, with the approval assumed given: each step's
 * condition evaluated, its input rendered and its action's `plan()` called (no outside call).
 */
import { silentLogger } from "../../core/log.ts";
import type { ActionRegistry, DeviceInfo } from "../actions/types.ts";
import type { DeviceDirectory } from "../engine/devices.ts";
import { render, test } from "../engine/expr.ts";
import type { Playbook, PlaybookStep } from "../engine/schema.ts";
import type { ApprovalRecord, RunState } from "../engine/store.ts";

export interface ApprovalView {
  approval: ApprovalRecord;
  run?: RunState;
  playbookTitle?: string;
  device?: DeviceInfo;
  /** One sentence: in use / idle / unknown, with the facts behind it. */
  clinicalState: string;
  /** Facts about the device, label → value, for the page. */
  deviceFacts: [string, string][];
  /** What will be done if approved, one sentence per step. */
  plan: string[];
  /** Every device the approval covers when it covers several (a fleet-wide step), each with its state. */
  covered: { key: string; name?: string; clinicalState: string }[];
}

/** Most devices listed one by one on the page and in the page's details. */
export const MAX_COVERED = 200;

export interface DescribeDeps {
  playbooks: Map<string, Playbook>;
  actions: ActionRegistry;
  directory: DeviceDirectory;
  systems: Record<string, boolean>;
  now?: () => Date;
}

export function clinicalStateOf(d: DeviceInfo | undefined, nowMs = Date.now()): string {
  if (!d) return "unknown (no device information)";
  const facts: string[] = [];
  // When the in-use observation was made, where the directory knows it (a stale "idle" is not idle).
  const seen = (d as { inUseSeenAt?: string }).inUseSeenAt;
  if (seen && d.inUse !== null) {
    const min = Math.floor((nowMs - Date.parse(seen)) / 60_000);
    if (Number.isFinite(min)) facts.push(`observed ${seen} (${min >= 1 ? `${min} min ago` : "just now"})`);
  }
  if (d.batteryLevel !== undefined) facts.push(`battery ${d.batteryLevel}%`);
  if (d.utilizationRate !== undefined) facts.push(`utilization ${d.utilizationRate}`);
  if (d.consequenceOfFailure) facts.push(`consequence of failure ${d.consequenceOfFailure}`);
  const head =
    d.inUse === true
      ? "IN USE (the device reports it is in use)"
      : d.inUse === false
        ? "idle (the device reports it is not in use)"
        : "UNKNOWN (no monitor reports whether it is in use: treat as possibly in use)";
  return facts.length ? `${head}; ${facts.join(", ")}` : head;
}

function deviceFacts(d: DeviceInfo | undefined, key: string | undefined): [string, string][] {
  if (!d) return [["device", key ?? "none"]];
  const out: [string, string][] = [
    ["name", d.name ?? d.key],
    ["key", d.key],
  ];
  const add = (label: string, v: unknown) => {
    if (v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && v.length === 0))
      out.push([label, Array.isArray(v) ? v.join(", ") : String(v)]);
  };
  add("class", d.deviceClass ?? d.vendorType);
  add("manufacturer / model", [d.manufacturer, d.model].filter(Boolean).join(" "));
  add("site / ward", [d.site, d.ward].filter(Boolean).join(" / "));
  add("IP addresses", d.ips);
  add("MAC addresses", d.macs);
  add("criticality", d.criticality);
  add("clinical servers kept reachable", d.clinicalServers);
  return out;
}

function scopeOf(run: RunState, systems: Record<string, boolean>, now: Date, approvedStep: string) {
  const steps: Record<string, unknown> = {};
  for (const [id, s] of Object.entries(run.steps))
    steps[id] = { status: s.status, output: s.output, error: s.error, verification: s.verification };
  // What happens if the approver says yes.
  steps[approvedStep] = { status: "completed", output: { approved: true, status: "approved" } };
  return {
    run: {
      id: run.id,
      playbook: run.playbookId,
      dryRun: run.dryRun,
      outcome: "running",
      error: run.error,
      trigger: run.trigger,
    },
    inputs: run.inputs,
    device: run.device ?? {},
    steps,
    systems,
    now: now.toISOString(),
  };
}

/** The steps an approval unlocks, each as the sentence its action's `plan()` gives. */
async function planOf(
  deps: DescribeDeps,
  pb: Playbook,
  run: RunState,
  approval: ApprovalRecord,
): Promise<string[]> {
  const at = pb.steps.findIndex((s) => s.id === approval.stepId);
  if (at < 0) return [`continue ${pb.id} (step ${approval.stepId})`];
  const held = pb.steps[at] as PlaybookStep;
  // A blast-radius hold is on the containment step itself; an approval step unlocks what follows.
  const candidates = held.action === "approval" ? pb.steps.slice(at + 1) : [held];
  const scope = scopeOf(run, deps.systems, (deps.now ?? (() => new Date()))(), approval.stepId);
  const out: string[] = [];
  for (const step of candidates) {
    if (step.action === "approval") break;
    let applies: boolean;
    try {
      applies = await test(step.when, scope);
    } catch {
      applies = true;
    }
    if (!applies) continue;
    const action = deps.actions.get(step.action);
    if (!action) {
      out.push(`${step.id}: ${step.action} (not configured here: the step will fail)`);
      continue;
    }
    try {
      const parsed = action.input.safeParse(await render(step.with, scope));
      if (!parsed.success) throw new Error("input does not validate");
      const p = await action.plan(parsed.data, {
        runId: run.id,
        stepId: step.id,
        idempotencyKey: `${run.id}-${step.id}`,
        playbookId: run.playbookId,
        device: run.device,
        dryRun: true,
        record: () => undefined,
        log: silentLogger,
        now: deps.now ?? (() => new Date()),
      });
      out.push(`${step.id}: ${p.summary}`);
    } catch {
      out.push(`${step.id}: ${action.description}`);
    }
  }
  return out.length ? out : ["nothing further (no step of the playbook applies)"];
}

export async function describeApproval(
  deps: DescribeDeps,
  approval: ApprovalRecord,
  run: RunState | null,
): Promise<ApprovalView> {
  const nowMs = (deps.now ?? (() => new Date()))().getTime();
  const key = approval.deviceKey ?? run?.deviceKey;
  // The clinical state as known now, not when the run started.
  const fresh = key ? await deps.directory.get(key).catch(() => null) : null;
  const device = fresh ?? run?.device;
  const pb = deps.playbooks.get(approval.playbookId);
  const plan = pb && run ? await planOf(deps, pb, run, approval) : [approval.reason];
  // A fleet-wide step's approval names every device it covers.
  const keys = (approval as { devices?: string[] }).devices ?? [];
  const covered: ApprovalView["covered"] = [];
  if (keys.length > 1)
    for (const k of keys.slice(0, MAX_COVERED)) {
      const d = await deps.directory.get(k).catch(() => null);
      covered.push({ key: k, name: d?.name, clinicalState: clinicalStateOf(d ?? undefined, nowMs) });
    }
  return {
    approval,
    run: run ?? undefined,
    playbookTitle: pb?.title,
    device,
    clinicalState: clinicalStateOf(device, nowMs),
    deviceFacts: deviceFacts(device, key),
    plan,
    covered,
  };
}
