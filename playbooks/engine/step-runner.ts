/**
 * One step of a run, in one step job: its condition, its input rendered and validated, then either
 * the dry-run plan, or the safety gate (gate.ts) and the action's execute + read-back verify under
 * the step's time limit, audited. A retryable failure is retried through the queue's delay (backoff
 * from `core/http.ts`, Retry-After honoured; the gate runs again before the next attempt), never by
 * a sleep inside the job; a failure for good goes to compensation (compensation.ts).
 */
import { isRetryable, PermanentError } from "../../core/errors.ts";
import { retryDelay } from "../../core/http.ts";
import type { RecordedCall } from "../actions/types.ts";
import { approvalStep } from "./approvals.ts";
import { failRun } from "./compensation.ts";
import { type EngineCore, VerificationError, withTimeout } from "./context.ts";
import { parseDuration, render, test } from "./expr.ts";
import { gateStep } from "./gate.ts";
import { effectOf } from "./guards.ts";
import type { Playbook, PlaybookStep } from "./schema.ts";
import type { RunState, StepState } from "./store.ts";

/** Upper bound of one step retry wait (a longer Retry-After still wins). */
const MAX_STEP_BACKOFF_MS = 5 * 60_000;

/**
 * Returned by {@link runStep} when the step was skipped (its condition is false): the run is saved
 * at the next step and the caller runs that step in the same job instead of queueing one (a crash
 * in between is recovered by the stale-job rule of the engine: the retried job queues the current step).
 */
export const NEXT_INLINE = "next-inline" as const;

export async function runStep(
  core: EngineCore,
  run: RunState,
  pb: Playbook,
  step: PlaybookStep,
  // biome-ignore lint/suspicious/noConfusingVoidType: every other path returns a step operation's own Promise<void>
): Promise<void | typeof NEXT_INLINE> {
  const { store, actions } = core.o;
  run.steps[step.id] ??= { status: "pending", attempts: 0 };
  const st = run.steps[step.id] as StepState;
  if (st.status === "completed" || st.status === "skipped" || st.status === "failed") return core.next(run);
  const base = { runId: run.id, playbookId: pb.id, stepId: step.id, deviceKey: run.deviceKey };
  const scope = core.scope(run);
  try {
    if (!(await test(step.when, scope))) {
      st.status = "skipped";
      await core.audit({
        ...base,
        type: "step.skipped",
        actor: "engine",
        message: `Step ${step.id} skipped: ${step.when}.`,
      });
      // Saved as skipped and moved on; the next step runs in this job (no outside call was made).
      run.index++;
      await core.save(run);
      return NEXT_INLINE;
    }
  } catch (error) {
    return stepFailed(core, run, step, st, error);
  }
  if (step.action === "approval")
    return approvalStep(core, run, pb, step, st, scope, (error) => stepFailed(core, run, step, st, error));
  const action = actions.get(step.action);
  if (!action)
    return stepFailed(
      core,
      run,
      step,
      st,
      new PermanentError(`action ${step.action} is not configured (see playbooks.systems in the config)`),
    );
  let input: unknown;
  try {
    const rendered = await render(step.with, scope);
    const parsed = action.input.safeParse(rendered);
    if (!parsed.success)
      throw new PermanentError(
        `input of ${step.action}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`,
      );
    input = parsed.data;
  } catch (error) {
    return stepFailed(core, run, step, st, error);
  }
  st.input = input;
  const calls: RecordedCall[] = [];

  if (run.dryRun && action.kind !== "lookup") {
    const plan = await action.plan(input, core.ctx(run, step.id, calls));
    st.status = "completed";
    st.output = { dryRun: true, plan };
    await core.audit({
      ...base,
      type: "step.planned",
      actor: "engine",
      outcome: "success",
      message: `Dry run: ${step.id} (${step.action}) would ${plan.summary}`,
      detail: plan,
    });
    return core.next(run);
  }

  // The safety gate: clinical state re-read now, then the per-device blast-radius reservation.
  const effect = run.dryRun ? undefined : effectOf(action.kind, input);
  if (effect) {
    const gate = await gateStep(core, run, step, st, effect, input);
    if (gate === "parked") return;
    if (gate === "skip") return core.next(run);
    if (gate === "denied") {
      st.status = "failed";
      st.error = "containment not approved (blast radius)";
      return failRun(core, run, `${step.id}: ${st.error}`, "denied", step);
    }
    input = gate.input;
    st.input = input;
  }

  st.status = "running";
  st.attempts++;
  st.startedAt ??= core.o.now().toISOString();
  await store.saveRun(run);
  await core.audit({
    ...base,
    type: "step.started",
    actor: "engine",
    message: `Step ${step.id} (${step.action}) attempt ${st.attempts} started.`,
    detail: { input, idempotencyKey: `${run.id}-${step.id}` },
  });
  const timeoutMs = step.timeout !== undefined ? parseDuration(step.timeout) : core.o.stepTimeoutMs;
  try {
    const { output, verification } = await withTimeout(timeoutMs, step.id, async (signal) => {
      const ctx = core.ctx(run, step.id, calls, signal);
      const output = await action.execute(input, ctx);
      if (!step.verify) return { output, verification: undefined };
      const verification = await action.verify(input, output, ctx);
      return { output, verification };
    });
    await core.flushCalls(run, step.id, calls);
    if (verification && !verification.ok) {
      st.output = output;
      st.verification = verification;
      throw new VerificationError(`verification of ${step.id} failed: ${verification.detail}`);
    }
    st.status = "completed";
    st.output = output;
    st.verification = verification;
    st.finishedAt = core.o.now().toISOString();
    if (step.compensate && action.undo) run.compensations.push(step.id);
    await core.audit({
      ...base,
      type: "step.completed",
      actor: "engine",
      outcome: "success",
      message: `Step ${step.id} (${step.action}) done${verification ? `; verified: ${verification.detail}` : ""}.`,
      detail: { output, verification },
    });
    return core.next(run);
  } catch (error) {
    await core.flushCalls(run, step.id, calls);
    const attempts = step.retry?.attempts ?? 3;
    if (st.attempts < attempts && isRetryable(error) && !(error instanceof VerificationError)) {
      const wait = retryDelay(st.attempts, error, {
        baseDelayMs: parseDuration(step.retry?.backoff ?? "1s"),
        maxDelayMs: MAX_STEP_BACKOFF_MS,
      });
      await core.audit({
        ...base,
        type: "step.retry",
        actor: "engine",
        outcome: "failure",
        message: `Step ${step.id} attempt failed (${(error as Error).message}); retrying in ${wait} ms.`,
      });
      // Through the queue's delay: the job ends now; the next attempt runs the gate again.
      st.status = "pending";
      await core.save(run);
      await core.enqueue(run, `r${st.attempts}`, wait);
      return;
    }
    return stepFailed(core, run, step, st, error);
  }
}

export async function stepFailed(
  core: EngineCore,
  run: RunState,
  step: PlaybookStep,
  st: StepState,
  error: unknown,
): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  st.status = "failed";
  st.error = message;
  st.finishedAt = core.o.now().toISOString();
  await core.audit({
    runId: run.id,
    playbookId: run.playbookId,
    stepId: step.id,
    deviceKey: run.deviceKey,
    type: "step.failed",
    actor: "engine",
    outcome: "failure",
    message: `Step ${step.id} (${step.action}) failed: ${message}`,
  });
  if (step.continueOnError) return core.next(run);
  return failRun(core, run, `${step.id}: ${message}`, "failed", step);
}
