/**
 * Leaving the main phase after a failure (DESIGN.md safety rule 4, docs/playbooks-safety.md "Fail
 * safe"): completed, verified containment below the level of the failed step is kept and read back
 * (re-applied where an undo took it away); only the rest is undone, newest first, one compensation
 * per step job. A retryable undo failure is retried through the queue's delay (backoff from
 * `core/http.ts`, Retry-After honoured), never by a sleep inside the job; then `finally`.
 */
import { isRetryable } from "../../core/errors.ts";
import { retryDelay } from "../../core/http.ts";
import type { AnyAction, RecordedCall } from "../actions/types.ts";
import { type EngineCore, withTimeout } from "./context.ts";
import { effectOf } from "./guards.ts";
import type { Playbook, PlaybookStep } from "./schema.ts";
import type { RunState } from "./store.ts";

/** Attempts of one undo, the first included. */
export const UNDO_ATTEMPTS = 3;
/** Backoff of undo retries: attempt n waits about 500 ms × 2^(n-1) (at least the Retry-After). */
export const UNDO_BACKOFF = { baseDelayMs: 500, maxDelayMs: 30_000 };

/** Containment level of a step: 0 not a containment, 1 restricted, 2 full (no/unknown mode). */
export function containmentLevel(core: EngineCore, run: RunState, stepId: string): number {
  const step = core.stepOf(run, stepId);
  const action = step ? core.o.actions.get(step.action) : undefined;
  const effect = action ? effectOf(action.kind, run.steps[stepId]?.input) : undefined;
  return effect === "containment:restricted" ? 1 : effect === "containment:full" ? 2 : 0;
}

/**
 * Leaves the main phase for good: compensations (if any), then `finally`. Fail safe (safety rule
 * 4): completed, verified containment below the level of the failed step is kept (a failure of a
 * non-containment step keeps every verified containment); only the rest is undone.
 */
export async function failRun(
  core: EngineCore,
  run: RunState,
  error: string,
  outcome: "failed" | "denied" = "failed",
  failed?: PlaybookStep,
): Promise<void> {
  if (run.phase === "finally") {
    run.error ??= error;
    return core.next(run);
  }
  run.outcome = outcome;
  run.error = error;
  const failLevel = failed ? containmentLevel(core, run, failed.id) || 3 : 3;
  const kept = run.compensations.filter((id) => {
    const level = containmentLevel(core, run, id);
    const st = run.steps[id];
    return (
      level > 0 &&
      level < failLevel &&
      st?.status === "completed" &&
      !st.undone &&
      st.verification?.ok !== false
    );
  });
  run.containmentKept = kept;
  if (kept.length)
    await core.audit({
      type: "containment.kept",
      runId: run.id,
      playbookId: run.playbookId,
      deviceKey: run.deviceKey,
      actor: "engine",
      outcome: "success",
      message: `Kept the last verified containment (${kept.join(", ")}) after ${failed ? `${failed.id} failed` : "the failure"}; only the rest is undone.`,
      detail: { kept, failedStep: failed?.id },
    });
  run.phase = run.compensations.some((id) => !kept.includes(id)) ? "compensate" : "finally";
  run.index = 0;
  await core.save(run);
  await core.enqueue(run);
}

/** Main or compensate phase done: on to `finally`; `finally` done: the run ends. */
export async function endPhase(core: EngineCore, run: RunState): Promise<void> {
  if (run.phase === "main" || run.phase === "compensate") {
    run.outcome ??= "succeeded";
    run.phase = "finally";
    run.index = 0;
    await core.save(run);
    await core.enqueue(run);
    return;
  }
  await core.finish(run, run.outcome ?? "succeeded", run.error);
}

/**
 * After the compensations: the kept containment is read back and re-applied where an undo of a
 * stronger step took it away (one NAC policy per endpoint, for instance). Failures are audited and
 * reported in the run's error (the ticket and page say so).
 */
async function restoreKept(core: EngineCore, run: RunState): Promise<void> {
  const problems: string[] = [];
  for (const id of run.containmentKept ?? []) {
    const st = run.steps[id];
    const step = core.stepOf(run, id);
    const action = step ? core.o.actions.get(step.action) : undefined;
    if (!st || !action) continue;
    const calls: RecordedCall[] = [];
    const ctx = core.ctx(run, id, calls);
    const base = { runId: run.id, playbookId: run.playbookId, stepId: id, deviceKey: run.deviceKey };
    try {
      let v = await action.verify(st.input, st.output, ctx);
      if (!v.ok) {
        const output = await action.execute(st.input, ctx);
        v = await action.verify(st.input, output, ctx);
        if (v.ok) st.output = output;
      }
      await core.flushCalls(run, id, calls);
      await core.audit({
        ...base,
        type: v.ok ? "containment.verified" : "containment.restore_failed",
        actor: "engine",
        outcome: v.ok ? "success" : "failure",
        message: `Kept containment ${id}: ${v.ok ? "in place" : "NOT in place"} (${v.detail}).`,
      });
      if (!v.ok) problems.push(`${id}: ${v.detail}`);
      else st.verification = v;
    } catch (error) {
      await core.flushCalls(run, id, calls);
      problems.push(`${id}: ${(error as Error).message}`);
      await core.audit({
        ...base,
        type: "containment.restore_failed",
        actor: "engine",
        outcome: "failure",
        message: `Kept containment ${id} could not be read back or re-applied: ${(error as Error).message}; manual action needed.`,
      });
    }
  }
  run.containmentRestored = true;
  if (problems.length)
    run.error = `${run.error ? `${run.error}; ` : ""}kept containment not verified: ${problems.join("; ")}`;
}

/** One step job of the compensate phase: the undo of the run's `index`-th completed step, newest first. */
export async function compensateStep(core: EngineCore, run: RunState, _pb: Playbook): Promise<void> {
  const ids = [...run.compensations].reverse();
  const stepId = ids[run.index];
  if (stepId === undefined) {
    if (run.containmentKept?.length && !run.containmentRestored) await restoreKept(core, run);
    return endPhase(core, run);
  }
  if (run.containmentKept?.includes(stepId)) return core.next(run);
  const st = run.steps[stepId];
  const step = core.stepOf(run, stepId);
  const action = step ? core.o.actions.get(step.action) : undefined;
  if (!st || st.undone || !step || !action?.undo) return core.next(run);
  const calls: RecordedCall[] = [];
  const base = {
    runId: run.id,
    playbookId: run.playbookId,
    stepId,
    deviceKey: run.deviceKey,
    actor: "engine",
  };
  const attempt = (st.undoAttempts ?? 0) + 1;
  st.undoAttempts = attempt;
  let lastError: unknown;
  try {
    await withTimeout(core.o.stepTimeoutMs, stepId, (signal) =>
      (action.undo as NonNullable<AnyAction["undo"]>)(
        st.input,
        st.output,
        core.ctx(run, `${stepId}-undo`, calls, signal),
      ),
    );
  } catch (error) {
    lastError = error;
  }
  await core.flushCalls(run, stepId, calls);
  if (lastError && isRetryable(lastError) && attempt < UNDO_ATTEMPTS) {
    // Retried through the queue's delay: no worker is held while the system recovers.
    const wait = retryDelay(attempt, lastError, UNDO_BACKOFF);
    await core.audit({
      ...base,
      type: "compensation.retry",
      outcome: "failure",
      message: `Undo of ${stepId} attempt ${attempt} failed (${(lastError as Error).message}); retrying in ${wait} ms.`,
    });
    await core.save(run);
    await core.enqueue(run, `u${attempt}`, wait);
    return;
  }
  if (lastError) {
    st.error = `${st.error ? `${st.error}; ` : ""}undo failed: ${(lastError as Error).message}`;
    await core.audit({
      ...base,
      type: "compensation.failed",
      outcome: "failure",
      message: `Undo of ${stepId} failed (${(lastError as Error).message}): manual action needed.`,
    });
  } else {
    st.undone = true;
    await core.audit({
      ...base,
      type: "compensation.completed",
      outcome: "success",
      message: `Undid step ${stepId}.`,
    });
  }
  return core.next(run);
}
