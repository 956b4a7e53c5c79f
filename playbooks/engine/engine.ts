/**
 * The playbook interpreter. A run is data in the {@link RunStore}; each step is one queue job
 * (`playbook-steps`), so any worker process can take the next step and a killed worker's step is
 * retried by the queue while completed steps are never repeated (the run records them before the
 * next job is enqueued, and job ids are deterministic per run, phase and step).
 *
 * Phases: `main` (the steps), then on failure `compensate` (undo of the completed steps marked
 * `compensate`, newest first), then `finally` (ticket and page on every branch). Approval is a step
 * that parks the run (no worker held) until a decision or its timeout job (silence is a no).
 *
 * Guards: one active run per device; a blast-radius limit on automatic containments per hour above
 * which every containment step waits for an approval; a kill switch that refuses new runs and parks
 * running ones at their next step.
 */
import { randomUUID } from "node:crypto";
import { sleep } from "../../core/backoff.ts";
import { isRetryable, PermanentError, RetryableError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import type { Queue, QueueDriver, Worker, WorkerOptions } from "../../worker/queue/types.ts";
import type { ActionContext, ActionRegistry, AnyAction, DeviceInfo, RecordedCall } from "../actions/types.ts";
import type { AuditInput, AuditLog } from "./audit.ts";
import type { DeviceDirectory } from "./devices.ts";
import { parseDuration, render, test } from "./expr.ts";
import type { Playbook, PlaybookStep } from "./schema.ts";
import {
  type ApprovalRecord,
  type Phase,
  type RunState,
  type RunStore,
  type StepState,
  TERMINAL,
} from "./store.ts";

export type StepJob =
  | { kind: "step"; runId: string; phase: Phase; index: number }
  | { kind: "approval-timeout"; runId: string; approvalId: string }
  | { kind: "resume"; runId: string; approvalId: string }
  | { kind: "start"; runId: string; request: StartRequest };

/** Sends an approval request to people (Slack/Teams with signed links); failures are audited. */
export type ApprovalNotifier = (approval: ApprovalRecord, run: RunState) => Promise<void>;

export interface EngineOptions {
  driver: QueueDriver;
  store: RunStore;
  audit: AuditLog;
  actions: ActionRegistry;
  playbooks: Map<string, Playbook>;
  devices: DeviceDirectory;
  log?: Logger;
  /** Automatic containments allowed per hour; above it every containment needs an approval. @defaultValue 10 */
  blastRadiusPerHour?: number;
  /** Role that approves containments above the blast radius. @defaultValue "soc" */
  blastRadiusRole?: string;
  /** Wait for a blast-radius approval. @defaultValue 15m */
  blastRadiusApprovalTimeoutMs?: number;
  notifyApprovers?: ApprovalNotifier;
  /** Step jobs at once in this process. @defaultValue 4 */
  concurrency?: number;
  /** Default time limit of one step attempt. @defaultValue 30000 */
  stepTimeoutMs?: number;
  /** Configured outside systems, visible to conditions as `systems.<name>`. @defaultValue {} */
  systems?: Record<string, boolean>;
  /** Called whenever a run reaches a terminal state or waits for approval (tests, bench, summary). */
  onRunUpdate?: (run: RunState) => void;
  now?: () => Date;
}

export interface StartRequest {
  playbookId: string;
  /** Device key, MAC, IP or `<source>:<host.id>`; or the device itself. */
  device?: string | DeviceInfo;
  inputs?: Record<string, unknown>;
  trigger?: RunState["trigger"];
  dryRun?: boolean;
}

export interface StartResult {
  runId: string;
  status: RunState["status"];
  reason?: string;
}

const PHASE_LETTER: Record<Phase, string> = { main: "m", compensate: "c", finally: "f" };
const HOUR = 3_600_000;

/** A failed read-back: the outside system did not show the effect. Not retried. */
export class VerificationError extends PermanentError {}

export class PlaybookEngine {
  readonly queue: Queue<StepJob>;
  readonly #o: Required<Omit<EngineOptions, "notifyApprovers" | "onRunUpdate">> &
    Pick<EngineOptions, "notifyApprovers" | "onRunUpdate">;
  readonly #workers: Worker[] = [];

  constructor(options: EngineOptions) {
    this.#o = {
      log: silentLogger,
      blastRadiusPerHour: 10,
      blastRadiusRole: "soc",
      blastRadiusApprovalTimeoutMs: 15 * 60_000,
      concurrency: 4,
      stepTimeoutMs: 30_000,
      systems: {},
      now: () => new Date(),
      ...options,
    };
    this.queue = options.driver.queue<StepJob>("playbook-steps", { keepCompleted: 10_000, attempts: 5 });
  }

  get store(): RunStore {
    return this.#o.store;
  }
  get audit(): AuditLog {
    return this.#o.audit;
  }
  get playbooks(): Map<string, Playbook> {
    return this.#o.playbooks;
  }

  /** Starts this process's step workers. */
  startWorkers(options: WorkerOptions = {}): void {
    this.#workers.push(
      this.queue.process((job) => this.#handle(job.data), { concurrency: this.#o.concurrency, ...options }),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.close()));
    this.#workers.length = 0;
  }

  async #audit(input: AuditInput): Promise<void> {
    await this.#o.audit.append(input);
  }

  /** Starts a run (or refuses it, audited, with the reason). */
  async start(req: StartRequest): Promise<StartResult> {
    const { store, playbooks } = this.#o;
    const runId = randomUUID();
    const pb = playbooks.get(req.playbookId);
    const trigger = req.trigger ?? { kind: "manual" };
    const reject = async (reason: string, deviceKey?: string): Promise<StartResult> => {
      await this.#audit({
        type: "run.rejected",
        runId,
        playbookId: req.playbookId,
        deviceKey,
        actor: trigger.kind,
        outcome: "failure",
        message: `Run of ${req.playbookId} refused: ${reason}.`,
        detail: { trigger },
      });
      return { runId, status: "rejected", reason };
    };
    if (!pb) return reject(`no playbook "${req.playbookId}" (known: ${[...playbooks.keys()].join(", ")})`);
    const dryRun = req.dryRun ?? false;
    if (!dryRun && (await store.isPaused())) return reject("playbooks are paused (medsoc playbook resume)");
    let device: DeviceInfo | undefined;
    if (typeof req.device === "string") {
      device = (await this.#o.devices.get(req.device)) ?? undefined;
      if (!device && pb.device) return reject(`unknown device "${req.device}"`);
    } else device = req.device;
    if (pb.device && !device) return reject("the playbook needs a device");
    const inputs: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(pb.inputs)) {
      const v = req.inputs?.[name] ?? spec.default;
      if (v === undefined && spec.required) return reject(`input "${name}" is required`, device?.key);
      if (v !== undefined) inputs[name] = v;
    }
    for (const [k, v] of Object.entries(req.inputs ?? {})) if (!(k in inputs)) inputs[k] = v;
    if (device && !dryRun) {
      const holder = await store.lockDevice(device.key, runId);
      if (holder !== runId)
        return reject(`run ${holder} is already active on device ${device.key}`, device.key);
    }
    const now = this.#o.now().toISOString();
    const run: RunState = {
      id: runId,
      playbookId: pb.id,
      deviceKey: device?.key,
      device,
      inputs,
      trigger,
      dryRun,
      status: "running",
      phase: "main",
      index: 0,
      steps: {},
      compensations: [],
      createdAt: now,
      updatedAt: now,
    };
    await store.saveRun(run);
    await this.#audit({
      type: "run.started",
      runId,
      playbookId: pb.id,
      deviceKey: device?.key,
      actor: trigger.kind,
      outcome: "success",
      message: `${dryRun ? "Dry run" : "Run"} of ${pb.id} started${device ? ` for device ${device.key}` : ""}.`,
      detail: { trigger, inputs, dryRun },
    });
    await this.#enqueue(run);
    return { runId, status: "running" };
  }

  /** Polls the store until the run satisfies `until` (default: terminal). */
  async waitForRun(
    runId: string,
    until: (r: RunState) => boolean = (r) => TERMINAL.has(r.status),
    timeoutMs = 30_000,
  ): Promise<RunState> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = await this.#o.store.getRun(runId);
      if (run && until(run)) return run;
      if (Date.now() > deadline)
        throw new Error(`waiting for run ${runId}: still ${run?.status ?? "missing"} after ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  /** Records an approver's decision (once). False when the approval was already decided or expired. */
  async decide(
    approvalId: string,
    decision: { approve: boolean; by: string; role: string; comment?: string },
  ): Promise<{ ok: boolean; reason?: string; approval?: ApprovalRecord }> {
    const { store } = this.#o;
    const a = await store.getApproval(approvalId);
    if (!a) return { ok: false, reason: "no such approval" };
    if (a.status !== "pending") return { ok: false, reason: `already ${a.status}`, approval: a };
    // Silence is a no even when the timeout job has not run yet (workers down, queue behind).
    if (!(this.#o.now().getTime() < Date.parse(a.expiresAt)))
      return { ok: false, reason: `expired at ${a.expiresAt}`, approval: a };
    if (decision.role !== a.role && decision.role !== "admin")
      return { ok: false, reason: `role ${decision.role} may not decide (needs ${a.role})`, approval: a };
    const won = await store.decideApproval(approvalId, {
      status: decision.approve ? "approved" : "denied",
      decidedBy: decision.by,
      comment: decision.comment,
      decidedAt: this.#o.now().toISOString(),
    });
    if (!won)
      return { ok: false, reason: "already decided", approval: (await store.getApproval(approvalId)) ?? a };
    await this.#audit({
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
    await this.queue.add(
      "resume",
      { kind: "resume", runId: a.runId, approvalId },
      { jobId: `${a.runId}-d-${approvalId}` },
    );
    return { ok: true, approval: (await store.getApproval(approvalId)) ?? a };
  }

  /** Kill switch on: no new runs; running runs park at their next step. */
  async pause(actor = "cli"): Promise<void> {
    await this.#o.store.setPaused(true);
    await this.#audit({
      type: "engine.paused",
      actor,
      outcome: "success",
      message: `${actor} paused every playbook.`,
    });
  }

  /** Kill switch off: parked runs continue where they stopped. */
  async resume(actor = "cli"): Promise<number> {
    await this.#o.store.setPaused(false);
    const ids = await this.#o.store.unparkAll();
    await this.#audit({
      type: "engine.resumed",
      actor,
      outcome: "success",
      message: `${actor} resumed playbooks; ${ids.length} parked run(s) continue.`,
    });
    for (const id of ids) {
      const run = await this.#o.store.getRun(id);
      if (run && run.status === "paused") {
        run.status = "running";
        await this.#save(run);
        await this.#enqueue(run, `u${Date.now()}`);
      }
    }
    return ids.length;
  }

  async #save(run: RunState): Promise<void> {
    run.updatedAt = this.#o.now().toISOString();
    await this.#o.store.saveRun(run);
    if (TERMINAL.has(run.status) || run.status === "waiting_approval") this.#o.onRunUpdate?.(run);
  }

  async #enqueue(run: RunState, suffix = ""): Promise<void> {
    const id = `${run.id}-${PHASE_LETTER[run.phase]}${run.index}${suffix ? `-${suffix}` : ""}`;
    await this.queue.add(
      "step",
      { kind: "step", runId: run.id, phase: run.phase, index: run.index },
      { jobId: id },
    );
  }

  #list(pb: Playbook, run: RunState): PlaybookStep[] | string[] {
    if (run.phase === "main") return pb.steps;
    if (run.phase === "finally") return pb.finally;
    return [...run.compensations].reverse();
  }

  #scope(run: RunState): Record<string, unknown> {
    const steps: Record<string, unknown> = {};
    for (const [id, s] of Object.entries(run.steps))
      steps[id] = { status: s.status, output: s.output, error: s.error, verification: s.verification };
    return {
      run: {
        id: run.id,
        playbook: run.playbookId,
        dryRun: run.dryRun,
        outcome: run.outcome ?? "running",
        error: run.error,
        trigger: run.trigger,
      },
      inputs: run.inputs,
      device: run.device ?? {},
      steps,
      systems: this.#o.systems,
      now: this.#o.now().toISOString(),
    };
  }

  #ctx(run: RunState, stepId: string, calls: RecordedCall[], signal?: AbortSignal): ActionContext {
    return {
      runId: run.id,
      stepId,
      idempotencyKey: `${run.id}-${stepId}`,
      playbookId: run.playbookId,
      device: run.device,
      dryRun: run.dryRun,
      record: (call) => calls.push(call),
      log: this.#o.log.child({ runId: run.id, step: stepId }),
      now: this.#o.now,
      signal,
    };
  }

  async #flushCalls(run: RunState, stepId: string, calls: RecordedCall[]): Promise<void> {
    for (const c of calls.splice(0))
      await this.#audit({
        type: "call",
        runId: run.id,
        playbookId: run.playbookId,
        stepId,
        deviceKey: run.deviceKey,
        actor: "engine",
        outcome: c.error || (c.status !== undefined && c.status >= 400) ? "failure" : "success",
        message: `${c.method} ${c.url} → ${c.error ? `error: ${c.error}` : (c.status ?? "?")}`,
        detail: c,
      });
  }

  /** Starts `request` after `delayMs` (automatic release timers); `key` de-duplicates. */
  async schedule(request: StartRequest, delayMs: number, key: string): Promise<void> {
    await this.queue.add("start", { kind: "start", runId: key, request }, { jobId: `start-${key}`, delayMs });
  }

  async #handle(job: StepJob): Promise<void> {
    if (job.kind === "start") {
      await this.start(job.request);
      return;
    }
    const run = await this.#o.store.getRun(job.runId);
    if (!run || TERMINAL.has(run.status)) return;
    if (job.kind === "approval-timeout") return this.#timeout(run, job.approvalId);
    if (job.kind === "resume") return this.#resumeAfterDecision(run, job.approvalId);
    if (run.status !== "running") return;
    if (run.phase !== job.phase || run.index !== job.index) {
      // A stale job (its step finished before a crash kept the next job from being enqueued):
      // make sure the current step is queued; the deterministic id makes this a no-op otherwise.
      await this.#enqueue(run);
      return;
    }
    const pb = this.#o.playbooks.get(run.playbookId);
    if (!pb) {
      await this.#finish(run, "failed", `playbook ${run.playbookId} is no longer loaded`);
      return;
    }
    if (!run.dryRun && (await this.#o.store.isPaused())) {
      run.status = "paused";
      await this.#save(run);
      await this.#o.store.park(run.id);
      await this.#audit({
        type: "run.parked",
        runId: run.id,
        playbookId: run.playbookId,
        deviceKey: run.deviceKey,
        actor: "engine",
        message: `Run parked by the kill switch before ${run.phase} step ${run.index}.`,
      });
      return;
    }
    if (run.phase === "compensate") return this.#compensate(run, pb);
    const list = this.#list(pb, run) as PlaybookStep[];
    const step = list[run.index];
    if (!step) return this.#endPhase(run);
    await this.#step(run, pb, step);
  }

  async #next(run: RunState): Promise<void> {
    run.index++;
    await this.#save(run);
    await this.#enqueue(run);
  }

  async #step(run: RunState, pb: Playbook, step: PlaybookStep): Promise<void> {
    const { store, actions } = this.#o;
    run.steps[step.id] ??= { status: "pending", attempts: 0 };
    const st = run.steps[step.id] as StepState;
    if (st.status === "completed" || st.status === "skipped" || st.status === "failed")
      return this.#next(run);
    const base = { runId: run.id, playbookId: pb.id, stepId: step.id, deviceKey: run.deviceKey };
    let scope = this.#scope(run);
    try {
      if (!(await test(step.when, scope))) {
        st.status = "skipped";
        await this.#audit({
          ...base,
          type: "step.skipped",
          actor: "engine",
          message: `Step ${step.id} skipped: ${step.when}.`,
        });
        return this.#next(run);
      }
    } catch (error) {
      return this.#stepFailed(run, step, st, error);
    }
    if (step.action === "approval") return this.#approvalStep(run, pb, step, st, scope);
    const action = actions.get(step.action);
    if (!action)
      return this.#stepFailed(
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
      return this.#stepFailed(run, step, st, error);
    }
    st.input = input;
    const calls: RecordedCall[] = [];

    if (run.dryRun && action.kind !== "lookup") {
      const plan = await action.plan(input, this.#ctx(run, step.id, calls));
      st.status = "completed";
      st.output = { dryRun: true, plan };
      await this.#audit({
        ...base,
        type: "step.planned",
        actor: "engine",
        outcome: "success",
        message: `Dry run: ${step.id} (${step.action}) would ${plan.summary}`,
        detail: plan,
      });
      return this.#next(run);
    }

    // Blast radius: above the hourly limit every containment waits for an approval.
    if (action.kind === "containment" && !run.dryRun && !run.containmentApproved && !run.containmentCounted) {
      const count = await store.countContainments(this.#o.now().getTime(), HOUR);
      if (count >= this.#o.blastRadiusPerHour) {
        if (st.approvalId) {
          // Came back here after a decision: #resumeAfterDecision set containmentApproved or failed the step.
        } else {
          const approval = await this.#createApproval(run, step.id, {
            role: this.#o.blastRadiusRole,
            reason: `${step.action} on ${run.deviceKey ?? "devices"} above the blast-radius limit (${count} automatic containments in the last hour, limit ${this.#o.blastRadiusPerHour})`,
            timeoutMs: this.#o.blastRadiusApprovalTimeoutMs,
          });
          st.status = "waiting";
          st.approvalId = approval.id;
          run.status = "waiting_approval";
          await this.#save(run);
          return;
        }
      }
    }

    st.status = "running";
    st.attempts++;
    st.startedAt ??= this.#o.now().toISOString();
    await store.saveRun(run);
    await this.#audit({
      ...base,
      type: "step.started",
      actor: "engine",
      message: `Step ${step.id} (${step.action}) attempt ${st.attempts} started.`,
      detail: { input, idempotencyKey: `${run.id}-${step.id}` },
    });
    const attempts = step.retry?.attempts ?? 3;
    const backoffMs = parseDuration(step.retry?.backoff ?? "1s");
    const timeoutMs = step.timeout !== undefined ? parseDuration(step.timeout) : this.#o.stepTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const { output, verification } = await withTimeout(timeoutMs, step.id, async (signal) => {
          const ctx = this.#ctx(run, step.id, calls, signal);
          const output = await action.execute(input, ctx);
          if (!step.verify) return { output, verification: undefined };
          const verification = await action.verify(input, output, ctx);
          return { output, verification };
        });
        await this.#flushCalls(run, step.id, calls);
        if (verification && !verification.ok) {
          st.output = output;
          st.verification = verification;
          throw new VerificationError(`verification of ${step.id} failed: ${verification.detail}`);
        }
        st.status = "completed";
        st.output = output;
        st.verification = verification;
        st.finishedAt = this.#o.now().toISOString();
        if (step.compensate && action.undo) run.compensations.push(step.id);
        if (action.kind === "containment" && !run.containmentCounted) {
          await store.addContainment(run.id, this.#o.now().getTime());
          run.containmentCounted = true;
        }
        await this.#audit({
          ...base,
          type: "step.completed",
          actor: "engine",
          outcome: "success",
          message: `Step ${step.id} (${step.action}) done${verification ? `; verified: ${verification.detail}` : ""}.`,
          detail: { output, verification },
        });
        scope = this.#scope(run);
        return this.#next(run);
      } catch (error) {
        await this.#flushCalls(run, step.id, calls);
        if (attempt < attempts && isRetryable(error) && !(error instanceof VerificationError)) {
          const wait = Math.max(backoffMs * 2 ** (attempt - 1), (error as RetryableError).retryAfterMs ?? 0);
          await this.#audit({
            ...base,
            type: "step.retry",
            actor: "engine",
            outcome: "failure",
            message: `Step ${step.id} attempt failed (${(error as Error).message}); retrying in ${wait} ms.`,
          });
          await sleep(wait);
          continue;
        }
        return this.#stepFailed(run, step, st, error);
      }
    }
  }

  async #stepFailed(run: RunState, step: PlaybookStep, st: StepState, error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    st.status = "failed";
    st.error = message;
    st.finishedAt = this.#o.now().toISOString();
    await this.#audit({
      runId: run.id,
      playbookId: run.playbookId,
      stepId: step.id,
      deviceKey: run.deviceKey,
      type: "step.failed",
      actor: "engine",
      outcome: "failure",
      message: `Step ${step.id} (${step.action}) failed: ${message}`,
    });
    if (step.continueOnError) return this.#next(run);
    return this.#fail(run, `${step.id}: ${message}`);
  }

  /** Leaves the main phase for good: compensations (if any), then `finally`. */
  async #fail(run: RunState, error: string, outcome: "failed" | "denied" = "failed"): Promise<void> {
    if (run.phase === "finally") {
      run.error ??= error;
      return this.#next(run);
    }
    run.outcome = outcome;
    run.error = error;
    run.phase = run.compensations.length ? "compensate" : "finally";
    run.index = 0;
    await this.#save(run);
    await this.#enqueue(run);
  }

  async #compensate(run: RunState, pb: Playbook): Promise<void> {
    const ids = [...run.compensations].reverse();
    const stepId = ids[run.index];
    if (stepId === undefined) return this.#endPhase(run);
    const st = run.steps[stepId];
    const step = pb.steps.find((s) => s.id === stepId) ?? pb.finally.find((s) => s.id === stepId);
    const action = step ? this.#o.actions.get(step.action) : undefined;
    if (!st || st.undone || !step || !action?.undo) return this.#next(run);
    const calls: RecordedCall[] = [];
    const base = { runId: run.id, playbookId: pb.id, stepId, deviceKey: run.deviceKey, actor: "engine" };
    let lastError: unknown;
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await withTimeout(this.#o.stepTimeoutMs, stepId, (signal) =>
          (action.undo as NonNullable<AnyAction["undo"]>)(
            st.input,
            st.output,
            this.#ctx(run, `${stepId}-undo`, calls, signal),
          ),
        );
        lastError = undefined;
        break;
      } catch (error) {
        lastError = error;
        if (!isRetryable(error)) break;
        await sleep(500 * attempt);
      }
    }
    await this.#flushCalls(run, stepId, calls);
    if (lastError) {
      st.error = `${st.error ? `${st.error}; ` : ""}undo failed: ${(lastError as Error).message}`;
      await this.#audit({
        ...base,
        type: "compensation.failed",
        outcome: "failure",
        message: `Undo of ${stepId} failed (${(lastError as Error).message}): manual action needed.`,
      });
    } else {
      st.undone = true;
      await this.#audit({
        ...base,
        type: "compensation.completed",
        outcome: "success",
        message: `Undid step ${stepId}.`,
      });
    }
    return this.#next(run);
  }

  async #endPhase(run: RunState): Promise<void> {
    if (run.phase === "main" || run.phase === "compensate") {
      run.outcome ??= "succeeded";
      run.phase = "finally";
      run.index = 0;
      await this.#save(run);
      await this.#enqueue(run);
      return;
    }
    await this.#finish(run, run.outcome ?? "succeeded", run.error);
  }

  async #finish(run: RunState, status: "succeeded" | "failed" | "denied", error?: string): Promise<void> {
    run.status = status;
    run.error = error;
    run.finishedAt = this.#o.now().toISOString();
    await this.#save(run);
    if (run.deviceKey && !run.dryRun) await this.#o.store.unlockDevice(run.deviceKey, run.id);
    await this.#audit({
      type: "run.finished",
      runId: run.id,
      playbookId: run.playbookId,
      deviceKey: run.deviceKey,
      actor: "engine",
      outcome: status === "succeeded" ? "success" : "failure",
      message: `${run.dryRun ? "Dry run" : "Run"} of ${run.playbookId} ${status}${error ? `: ${error}` : ""}.`,
    });
  }

  async #createApproval(
    run: RunState,
    stepId: string,
    spec: { role: string; reason: string; timeoutMs: number },
  ): Promise<ApprovalRecord> {
    const now = this.#o.now();
    const approval: ApprovalRecord = {
      id: randomUUID(),
      runId: run.id,
      stepId,
      playbookId: run.playbookId,
      deviceKey: run.deviceKey,
      role: spec.role,
      reason: spec.reason,
      status: "pending",
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + spec.timeoutMs).toISOString(),
    };
    await this.#o.store.saveApproval(approval);
    await this.queue.add(
      "approval-timeout",
      { kind: "approval-timeout", runId: run.id, approvalId: approval.id },
      { jobId: `${run.id}-t-${approval.id}`, delayMs: spec.timeoutMs },
    );
    await this.#audit({
      type: "approval.requested",
      runId: run.id,
      playbookId: run.playbookId,
      stepId,
      deviceKey: run.deviceKey,
      actor: "engine",
      message: `Approval requested from ${spec.role}: ${spec.reason} (expires ${approval.expiresAt}; silence is a no).`,
      detail: { approvalId: approval.id },
    });
    if (this.#o.notifyApprovers)
      try {
        await this.#o.notifyApprovers(approval, run);
      } catch (error) {
        await this.#audit({
          type: "approval.notify_failed",
          runId: run.id,
          stepId,
          actor: "engine",
          outcome: "failure",
          message: `Notifying approvers failed: ${(error as Error).message}`,
        });
      }
    return approval;
  }

  async #approvalStep(
    run: RunState,
    pb: Playbook,
    step: PlaybookStep,
    st: StepState,
    scope: Record<string, unknown>,
  ): Promise<void> {
    if (st.status === "waiting") return; // already parked; the decision or timeout resumes it
    const w = (await render(step.with, scope)) as { role?: string; reason?: string };
    const role = w.role ?? "clinical_engineering";
    const reason = w.reason ?? `${pb.id} step ${step.id}`;
    let timeoutMs: number;
    try {
      timeoutMs = parseDuration((await render(step.timeout ?? "15m", scope)) as string | number);
    } catch (error) {
      return this.#stepFailed(run, step, st, error);
    }
    if (run.dryRun) {
      st.status = "completed";
      st.output = { approved: false, dryRun: true };
      await this.#audit({
        runId: run.id,
        playbookId: pb.id,
        stepId: step.id,
        deviceKey: run.deviceKey,
        type: "step.planned",
        actor: "engine",
        message: `Dry run: would ask ${role} to approve ${reason} (waiting up to ${timeoutMs} ms; silence is a no); continuing as not approved.`,
      });
      return this.#next(run);
    }
    const approval = await this.#createApproval(run, step.id, { role, reason, timeoutMs });
    st.status = "waiting";
    st.approvalId = approval.id;
    st.startedAt = approval.createdAt;
    run.status = "waiting_approval";
    await this.#save(run);
  }

  async #timeout(run: RunState, approvalId: string): Promise<void> {
    const won = await this.#o.store.decideApproval(approvalId, {
      status: "expired",
      decidedBy: "timeout",
      decidedAt: this.#o.now().toISOString(),
    });
    if (!won) return;
    await this.#audit({
      type: "approval.expired",
      runId: run.id,
      playbookId: run.playbookId,
      deviceKey: run.deviceKey,
      actor: "engine",
      outcome: "failure",
      message: "Approval timed out: treated as not approved.",
      detail: { approvalId },
    });
    await this.#resumeAfterDecision(run, approvalId);
  }

  async #resumeAfterDecision(run: RunState, approvalId: string): Promise<void> {
    const approval = await this.#o.store.getApproval(approvalId);
    if (!approval || approval.status === "pending") return;
    const entry = Object.entries(run.steps).find(
      ([, s]) => s.approvalId === approvalId && s.status === "waiting",
    );
    if (!entry) return;
    const [stepId, st] = entry;
    const pb = this.#o.playbooks.get(run.playbookId);
    const step = pb?.steps.find((s) => s.id === stepId) ?? pb?.finally.find((s) => s.id === stepId);
    const approved = approval.status === "approved";
    run.status = "running";
    if (step?.action === "approval") {
      st.status = "completed";
      st.output = { approved, status: approval.status, by: approval.decidedBy, at: approval.decidedAt };
      st.finishedAt = this.#o.now().toISOString();
      if (!approved) run.outcome = "denied";
      return this.#next(run);
    }
    // A containment step held by the blast-radius guard.
    if (approved) {
      run.containmentApproved = true;
      st.status = "pending";
      await this.#save(run);
      await this.#enqueue(run, `a${approvalId.slice(0, 8)}`);
      return;
    }
    st.status = "failed";
    st.error = `containment not approved (${approval.status})`;
    return this.#fail(run, `${stepId}: ${st.error}`, "denied");
  }

  /** Counts of runs by outcome (summary of `medsoc start`). */
  async summary(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const r of await this.#o.store.listRuns(100_000))
      out[`${r.playbookId} ${r.status}`] = (out[`${r.playbookId} ${r.status}`] ?? 0) + 1;
    return out;
  }
}

async function withTimeout<T>(ms: number, what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const e = new RetryableError(`step ${what} timed out after ${ms} ms`);
      ac.abort(e);
      reject(e);
    }, ms);
  });
  try {
    return await Promise.race([fn(ac.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
