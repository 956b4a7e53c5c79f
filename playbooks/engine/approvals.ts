/**
 * Approvals inside a run (DESIGN.md safety rule 5): an `approval` step, or the gate asking clinical
 * engineering or the blast-radius role. The run is parked (no worker held) with its lease and device
 * lock extended to the approval's expiry; the record and the parked run are saved BEFORE anything
 * is announced (a crash after the save re-announces the same approval from the retried job, never a
 * second request). A decision or the timeout job (silence is a no) resumes the run.
 */
import { createHash } from "node:crypto";
import { failRun } from "./compensation.ts";
import type { EngineCore } from "./context.ts";
import { parseDuration, render } from "./expr.ts";
import type { Playbook, PlaybookStep } from "./schema.ts";
import type { ApprovalRecord, RunState, StepState } from "./store.ts";

/** A UUID-shaped id derived from the run, the step and the step's n-th approval request. */
export function approvalIdOf(runId: string, stepId: string, seq: number): string {
  const h = createHash("sha256").update(`approval|${runId}|${stepId}|${seq}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((Number.parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

const resumeJob = (core: EngineCore, runId: string, approvalId: string) =>
  core.queue.add("resume", { kind: "resume", runId, approvalId }, { jobId: `${runId}-d-${approvalId}` });

/**
 * Creates an approval, parks the step and saves the run BEFORE anything is announced (a crash
 * after the save re-announces the same approval from the retried job; never a second request).
 */
export async function requestApproval(
  core: EngineCore,
  run: RunState,
  st: StepState,
  stepId: string,
  spec: { role: string; reason: string; timeoutMs: number; devices?: string[] },
): Promise<ApprovalRecord> {
  const { store, leaseMs } = core.o;
  const now = core.o.now();
  // Deterministic per (run, step, n-th request): a job retried after a crash before the run was
  // saved writes the same record again instead of leaving an orphaned pending request.
  const seq = st.approvalSeq ?? 0;
  const id = approvalIdOf(run.id, stepId, seq);
  const existing = await store.getApproval(id);
  const approval: ApprovalRecord = existing ?? {
    id,
    runId: run.id,
    stepId,
    playbookId: run.playbookId,
    deviceKey: run.deviceKey,
    role: spec.role,
    reason: spec.reason,
    status: "pending",
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + spec.timeoutMs).toISOString(),
    ...(spec.devices ? { devices: spec.devices } : {}),
  };
  if (!existing) await store.saveApproval(approval);
  st.approvalSeq = seq + 1;
  st.status = "waiting";
  st.approvalId = approval.id;
  st.startedAt ??= approval.createdAt;
  run.status = "waiting_approval";
  await core.save(run);
  // Parked: the lease and the device lock last until the approval expires (plus a lease).
  await store.touchRun(run.id, spec.timeoutMs + leaseMs);
  if (run.deviceKey && !run.dryRun)
    await store.renewDeviceLock(run.deviceKey, run.id, spec.timeoutMs + leaseMs);
  if (approval.status !== "pending") {
    // Decided (from the approvals list) while the run was not yet parked on it: resume now.
    await resumeJob(core, run.id, approval.id);
    return approval;
  }
  await announce(core, run, approval);
  return approval;
}

/** A retried step job of a parked run: announce its approval if the crash came before that. */
export async function announcePending(core: EngineCore, run: RunState): Promise<void> {
  const { store } = core.o;
  const st = Object.values(run.steps).find((s) => s.status === "waiting" && s.approvalId);
  if (!st?.approvalId) return;
  const approval = await store.getApproval(st.approvalId);
  if (approval?.status !== "pending" || (await store.wasAnnounced(approval.id))) return;
  await announce(core, run, approval);
}

async function announce(core: EngineCore, run: RunState, approval: ApprovalRecord): Promise<void> {
  const timeoutMs = Math.max(0, Date.parse(approval.expiresAt) - core.o.now().getTime());
  await core.queue.add(
    "approval-timeout",
    { kind: "approval-timeout", runId: run.id, approvalId: approval.id },
    { jobId: `${run.id}-t-${approval.id}`, delayMs: timeoutMs },
  );
  await core.audit({
    type: "approval.requested",
    runId: run.id,
    playbookId: run.playbookId,
    stepId: approval.stepId,
    deviceKey: run.deviceKey,
    actor: "engine",
    message: `Approval requested from ${approval.role}: ${approval.reason} (expires ${approval.expiresAt}; silence is a no).`,
    detail: { approvalId: approval.id, devices: approval.devices },
  });
  if (core.o.notifyApprovers)
    try {
      await core.o.notifyApprovers(approval, run);
    } catch (error) {
      await core.audit({
        type: "approval.notify_failed",
        runId: run.id,
        stepId: approval.stepId,
        actor: "engine",
        outcome: "failure",
        message: `Notifying approvers failed: ${(error as Error).message}`,
      });
    }
  await core.o.store.markAnnounced(approval.id);
}

/** An `approval` step of the playbook: park the run until a decision (a dry run continues as not approved). */
export async function approvalStep(
  core: EngineCore,
  run: RunState,
  pb: Playbook,
  step: PlaybookStep,
  st: StepState,
  scope: Record<string, unknown>,
  stepFailed: (error: unknown) => Promise<void>,
): Promise<void> {
  if (st.status === "waiting") return; // already parked; the decision or timeout resumes it
  const w = (await render(step.with, scope)) as { role?: string; reason?: string };
  const role = w.role ?? "clinical_engineering";
  const reason = w.reason ?? `${pb.id} step ${step.id}`;
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration((await render(step.timeout ?? "15m", scope)) as string | number);
  } catch (error) {
    return stepFailed(error);
  }
  if (run.dryRun) {
    st.status = "completed";
    st.output = { approved: false, dryRun: true };
    await core.audit({
      runId: run.id,
      playbookId: pb.id,
      stepId: step.id,
      deviceKey: run.deviceKey,
      type: "step.planned",
      actor: "engine",
      message: `Dry run: would ask ${role} to approve ${reason} (waiting up to ${timeoutMs} ms; silence is a no); continuing as not approved.`,
    });
    return core.next(run);
  }
  await requestApproval(core, run, st, step.id, { role, reason, timeoutMs });
}

/** Records an approver's decision (once). Not ok when the approval was already decided or expired. */
export async function decide(
  core: EngineCore,
  approvalId: string,
  decision: { approve: boolean; by: string; role: string; comment?: string },
): Promise<{ ok: boolean; reason?: string; approval?: ApprovalRecord }> {
  const { store } = core.o;
  const a = await store.getApproval(approvalId);
  if (!a) return { ok: false, reason: "no such approval" };
  if (a.status !== "pending") return { ok: false, reason: `already ${a.status}`, approval: a };
  // Silence is a no even when the timeout job has not run yet (workers down, queue behind).
  if (!(core.o.now().getTime() < Date.parse(a.expiresAt)))
    return { ok: false, reason: `expired at ${a.expiresAt}`, approval: a };
  if (decision.role !== a.role && decision.role !== "admin")
    return { ok: false, reason: `role ${decision.role} may not decide (needs ${a.role})`, approval: a };
  const won = await store.decideApproval(approvalId, {
    status: decision.approve ? "approved" : "denied",
    decidedBy: decision.by,
    comment: decision.comment,
    decidedAt: core.o.now().toISOString(),
  });
  if (!won)
    return { ok: false, reason: "already decided", approval: (await store.getApproval(approvalId)) ?? a };
  await core.audit({
    type: "approval.decided",
    runId: a.runId,
    playbookId: a.playbookId,
    stepId: a.stepId,
    deviceKey: a.deviceKey,
    actor: decision.by,
    outcome: "success",
    message: `${decision.by} (${decision.role}) ${decision.approve ? "approved" : "denied"} ${a.reason}.`,
    detail: { approvalId, comment: decision.comment },
  });
  await resumeJob(core, a.runId, approvalId);
  return { ok: true, approval: (await store.getApproval(approvalId)) ?? a };
}

/** The timeout job of an approval: silence is a no. */
export async function approvalTimedOut(core: EngineCore, run: RunState, approvalId: string): Promise<void> {
  const won = await core.o.store.decideApproval(approvalId, {
    status: "expired",
    decidedBy: "timeout",
    decidedAt: core.o.now().toISOString(),
  });
  if (!won) return;
  await core.audit({
    type: "approval.expired",
    runId: run.id,
    playbookId: run.playbookId,
    deviceKey: run.deviceKey,
    actor: "engine",
    outcome: "failure",
    message: "Approval timed out: treated as not approved.",
    detail: { approvalId },
  });
  await resumeAfterDecision(core, run, approvalId);
}

/** A decided (or expired) approval: the parked step continues, runs again through the gate, or fails. */
export async function resumeAfterDecision(
  core: EngineCore,
  run: RunState,
  approvalId: string,
): Promise<void> {
  const approval = await core.o.store.getApproval(approvalId);
  if (!approval || approval.status === "pending") return;
  const entry = Object.entries(run.steps).find(
    ([, s]) => s.approvalId === approvalId && s.status === "waiting",
  );
  if (!entry) return;
  const [stepId, st] = entry;
  const step = core.stepOf(run, stepId);
  const approved = approval.status === "approved";
  run.status = "running";
  if (step?.action === "approval") {
    st.status = "completed";
    st.output = { approved, status: approval.status, by: approval.decidedBy, at: approval.decidedAt };
    st.finishedAt = core.o.now().toISOString();
    if (!approved) run.outcome = "denied";
    // A clinical engineering yes in the playbook covers the run's device for the clinical gate.
    if (approved && approval.role === core.o.clinicalRole && run.deviceKey) {
      run.clinicalApprovals ??= {};
      run.clinicalApprovals[`containment:${run.deviceKey}`] = approval.id;
    }
    return core.next(run);
  }
  // A device step held by the clinical gate: record the decision per device, then run the step
  // again (the gate re-reads the clinical state and leaves refused devices out).
  if (st.gate?.pending === "clinical") {
    const keys = approval.devices ?? (run.deviceKey ? [run.deviceKey] : []);
    run.clinicalApprovals ??= {};
    run.clinicalDenied ??= {};
    const map = approved ? run.clinicalApprovals : run.clinicalDenied;
    const cls = st.gate.effect === "credential" ? "credential" : "containment";
    for (const k of keys) map[`${cls}:${k}`] = approval.id;
    st.gate.pending = undefined;
    st.status = "pending";
    await core.save(run);
    await core.enqueue(run, `a${approvalId.slice(0, 8)}`);
    return;
  }
  // A device step held by the blast-radius guard.
  if (approved) {
    run.containmentApproved = true;
    if (st.gate) st.gate.pending = undefined;
    st.status = "pending";
    await core.save(run);
    await core.enqueue(run, `a${approvalId.slice(0, 8)}`);
    return;
  }
  st.status = "failed";
  st.error = `containment not approved (${approval.status})`;
  return failRun(core, run, `${stepId}: ${st.error}`, "denied", step);
}
