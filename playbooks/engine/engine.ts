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
 * Guards (docs/playbooks-safety.md): one active run per device, held by a lease the run renews
 * while it is active (a run whose lease lapses is reaped: finally phase, ticket and page); before any
 * step of kind `containment` or `credential` runs, the clinical gate (guards.ts: device in use,
 * unknown or stale → restricted only, anything more waits for clinical engineering, state re-read
 * right before the step) and an atomic per-device blast-radius reservation (above the hourly limit
 * every such step waits for an approval); a failed stronger containment keeps the last verified one;
 * a kill switch that refuses new runs and parks running ones at their next step.
 */
import { createHash, randomUUID } from "node:crypto";
import { sleep } from "../../core/backoff.ts";
import { isRetryable, PermanentError, RetryableError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import type { Queue, QueueDriver, Worker, WorkerOptions } from "../../worker/queue/types.ts";
import type { ActionContext, ActionRegistry, AnyAction, DeviceInfo, RecordedCall } from "../actions/types.ts";
import type { AuditInput, AuditLog } from "./audit.ts";
import type { DeviceDirectory } from "./devices.ts";
import { parseDuration, render, test } from "./expr.ts";
import {
  clinicalApprovalNeeded,
  effectOf,
  type GateEffect,
  type GateTarget,
  resolveTargets,
  withoutDevices,
} from "./guards.ts";
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
  /** Role whose approval lets a device that may be in use get more than restricted containment. @defaultValue "clinical_engineering" */
  clinicalRole?: string;
  /** Wait for a clinical-gate approval raised by the engine. @defaultValue 30m */
  clinicalApprovalTimeoutMs?: number;
  /** Lease of device locks and runs; renewed while the run is active, reaped after. @defaultValue 10 min */
  leaseMs?: number;
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
  #reaper?: NodeJS.Timeout;

  constructor(options: EngineOptions) {
    this.#o = {
      log: silentLogger,
      blastRadiusPerHour: 10,
      blastRadiusRole: "soc",
      blastRadiusApprovalTimeoutMs: 15 * 60_000,
      clinicalRole: "clinical_engineering",
      clinicalApprovalTimeoutMs: 30 * 60_000,
      leaseMs: 10 * 60_000,
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
    if (!this.#reaper) {
      this.#reaper = setInterval(
        () => {
          this.reap().catch((error) =>
            this.#o.log.warn({ err: (error as Error).message }, "playbook run reaper failed"),
          );
        },
        Math.max(500, Math.floor(this.#o.leaseMs / 2)),
      );
      this.#reaper.unref();
    }
  }

  /**
   * Ends runs whose lease lapsed (their step job was dead-lettered or lost): straight to `finally`
   * (ticket and page on every branch), containment left as it is — nothing is undone blind.
   * Every replica runs it; a claim makes one of them act. Returns how many runs it reaped.
   */
  async reap(): Promise<number> {
    const { store } = this.#o;
    let n = 0;
    const now = Date.now();
    for (const run of await store.listRuns(100_000)) {
      if (run.status !== "running" && run.status !== "waiting_approval") continue;
      // Saved within a lease: it is progressing (and its lease is being renewed).
      if (Date.parse(run.updatedAt) > now - this.#o.leaseMs) continue;
      if (await store.runAlive(run.id)) continue;
      if (!(await store.claimOnce(`reap:${run.id}:${run.phase}`, this.#o.leaseMs))) continue;
      const fresh = await store.getRun(run.id);
      if (!fresh || TERMINAL.has(fresh.status) || (await store.runAlive(run.id))) continue;
      n++;
      const reason = `the run's lease lapsed in ${fresh.phase} step ${fresh.index} (its step job was lost or dead-lettered); containment left as it was, check the device`;
      await this.#audit({
        type: "run.reaped",
        runId: fresh.id,
        playbookId: fresh.playbookId,
        deviceKey: fresh.deviceKey,
        actor: "engine",
        outcome: "failure",
        message: `Run reaped: ${reason}.`,
      });
      if (fresh.phase === "finally") {
        // The ticket/page phase itself was lost: skip the step that was stuck.
        fresh.index++;
      } else {
        fresh.outcome = "failed";
        fresh.phase = "finally";
        fresh.index = 0;
      }
      fresh.error = fresh.error ? `${fresh.error}; ${reason}` : reason;
      fresh.status = "running";
      await store.touchRun(fresh.id, this.#o.leaseMs);
      await this.#save(fresh);
      await this.#enqueue(fresh, `reap${Date.now()}`);
    }
    return n;
  }

  async close(): Promise<void> {
    if (this.#reaper) clearInterval(this.#reaper);
    this.#reaper = undefined;
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
      const holder = await store.lockDevice(device.key, runId, this.#o.leaseMs);
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
    await store.touchRun(runId, this.#o.leaseMs);
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
    if (!run.dryRun || run.deviceKey) await this.#o.store.touchRun(run.id, this.#o.leaseMs);
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
      steps[id] = {
        status: s.status,
        output: s.output,
        error: s.error,
        verification: s.verification,
        gate: s.gate,
      };
    return {
      run: {
        id: run.id,
        playbook: run.playbookId,
        dryRun: run.dryRun,
        outcome: run.outcome ?? "running",
        error: run.error,
        trigger: run.trigger,
        // Containment kept at its last verified level when a stronger one failed (step ids).
        containmentKept: run.containmentKept ?? [],
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
    if (run.status === "waiting_approval" && run.phase === job.phase && run.index === job.index)
      return this.#announcePending(run);
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
    const lease = await this.#holdLeases(run);
    try {
      if (lease.lostTo) return await this.#lockLost(run, lease.lostTo);
      if (run.phase === "compensate") return await this.#compensate(run, pb);
      const list = this.#list(pb, run) as PlaybookStep[];
      const step = list[run.index];
      if (!step) return await this.#endPhase(run);
      await this.#step(run, pb, step);
    } finally {
      lease.stop();
    }
  }

  /**
   * Renews the run's lease and its device lock now and every third of a lease while this job runs.
   * `lostTo`: another run holds the device (this run's lease lapsed and the lock was taken).
   */
  async #holdLeases(run: RunState): Promise<{ lostTo?: string; stop(): void }> {
    const { store, leaseMs } = this.#o;
    const renew = async (): Promise<string | undefined> => {
      // A run that parked for an approval meanwhile holds a longer lease: leave it.
      if (run.status !== "running") return undefined;
      await store.touchRun(run.id, leaseMs);
      if (!run.deviceKey || run.dryRun) return undefined;
      const holder = await store.renewDeviceLock(run.deviceKey, run.id, leaseMs);
      return holder === run.id ? undefined : holder;
    };
    const lostTo = await renew();
    const timer = setInterval(
      () => {
        renew().catch(() => undefined);
      },
      Math.max(200, Math.floor(leaseMs / 3)),
    );
    timer.unref();
    return { lostTo, stop: () => clearInterval(timer) };
  }

  /** Another run took the device after this run's lease lapsed: stop acting on it, undo nothing. */
  async #lockLost(run: RunState, holder: string): Promise<void> {
    const why = `device lock of ${run.deviceKey} lost to run ${holder} (this run's lease lapsed)`;
    await this.#audit({
      type: "run.lock_lost",
      runId: run.id,
      playbookId: run.playbookId,
      deviceKey: run.deviceKey,
      actor: "engine",
      outcome: "failure",
      message: `${why}; no further device step runs, nothing is undone.`,
    });
    if (run.phase === "finally") return this.#stepsOnlyNotify(run, why);
    run.outcome = "failed";
    run.error = run.error ? `${run.error}; ${why}` : why;
    run.phase = "finally";
    run.index = 0;
    await this.#save(run);
    await this.#enqueue(run);
  }

  /** In `finally` without the device lock: the ticket and page still run (they do not touch the device). */
  async #stepsOnlyNotify(run: RunState, why: string): Promise<void> {
    run.error ??= why;
    const pb = this.#o.playbooks.get(run.playbookId);
    const step = pb?.finally[run.index];
    if (!pb || !step) return this.#finish(run, run.outcome ?? "failed", run.error);
    return this.#step(run, pb, step);
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

    // The safety gate: clinical state re-read now, then the per-device blast-radius reservation.
    const effect = run.dryRun ? undefined : effectOf(action.kind, input);
    if (effect) {
      const gate = await this.#gate(run, step, st, effect, input);
      if (gate === "parked") return;
      if (gate === "skip") return this.#next(run);
      if (gate === "denied") {
        st.status = "failed";
        st.error = "containment not approved (blast radius)";
        return this.#fail(run, `${step.id}: ${st.error}`, "denied", step);
      }
      input = gate.input;
      st.input = input;
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

  /**
   * The clinical gate and the blast radius for one device-touching step (guards.ts). Returns the
   * (possibly narrowed) input to run, "parked" (waiting for an approval; run saved and announced),
   * "skip" (nothing left to touch: every device was refused by clinical engineering) or "denied"
   * (the blast-radius approval was refused).
   */
  async #gate(
    run: RunState,
    step: PlaybookStep,
    st: StepState,
    effect: GateEffect,
    input: unknown,
  ): Promise<{ input: unknown } | "parked" | "skip" | "denied"> {
    const { store } = this.#o;
    const now = this.#o.now();
    const base = { runId: run.id, playbookId: run.playbookId, stepId: step.id, deviceKey: run.deviceKey };
    const targets = await resolveTargets(input, run, this.#o.devices, now);
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
      await this.#audit({
        ...base,
        type: "gate.clinical",
        actor: "engine",
        outcome: "failure",
        message: `Clinical gate: ${step.id} waits for ${this.#o.clinicalRole} on ${ask.length} device(s) that may be in use.`,
        detail: {
          effect,
          devices: ask.map((a) => ({ key: a.t.key, state: a.t.state, reasons: a.t.reasons })),
        },
      });
      await this.#requestApproval(run, st, step.id, {
        role: this.#o.clinicalRole,
        reason,
        timeoutMs: this.#o.clinicalApprovalTimeoutMs,
        devices: ask.map((a) => a.t.key),
      });
      return "parked";
    }
    let remaining = targets;
    if (refused.length) {
      const keys = new Set(refused.map((t) => t.key));
      st.gate.skipped = [...new Set([...(st.gate.skipped ?? []), ...keys])];
      remaining = targets.filter((t) => !keys.has(t.key));
      await this.#audit({
        ...base,
        type: "gate.skipped",
        actor: "engine",
        outcome: "failure",
        message: `Clinical gate: ${step.id} leaves out ${refused.length} device(s) clinical engineering did not approve: ${[...keys].slice(0, 20).join(", ")}.`,
        detail: { effect, devices: [...keys] },
      });
      const narrowed = remaining.length ? withoutDevices(input, refused) : undefined;
      const parsed =
        narrowed === undefined ? undefined : this.#o.actions.get(step.action)?.input.safeParse(narrowed);
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
      const r = await store.reserveDevices(fresh, now.getTime(), HOUR, this.#o.blastRadiusPerHour);
      if (!r.ok) {
        if (st.gate.pending === "blast" && st.approvalId) {
          const a = await store.getApproval(st.approvalId);
          if (a && a.status !== "pending" && a.status !== "approved") return "denied";
        }
        st.gate.pending = "blast";
        await this.#requestApproval(run, st, step.id, {
          role: this.#o.blastRadiusRole,
          reason: `${step.action} on ${fresh.length} device(s) (${fresh.slice(0, 5).join(", ")}${fresh.length > 5 ? ", …" : ""}) above the blast-radius limit (${r.count} devices contained or changed automatically in the last hour, limit ${this.#o.blastRadiusPerHour})`,
          timeoutMs: this.#o.blastRadiusApprovalTimeoutMs,
          devices: fresh,
        });
        return "parked";
      }
      run.reservedDevices.push(...fresh);
      st.gate.reserved = [...(st.gate.reserved ?? []), ...fresh];
      await this.#audit({
        ...base,
        type: "blast_radius.reserved",
        actor: "engine",
        outcome: "success",
        message: `Blast radius: reserved ${fresh.length} device(s) for ${step.id} (${r.count} of ${this.#o.blastRadiusPerHour} this hour).`,
        detail: { devices: fresh, count: r.count, limit: this.#o.blastRadiusPerHour, effect },
      });
    } else if (fresh.length) {
      st.gate.reserved = [...(st.gate.reserved ?? []), ...fresh];
      run.reservedDevices.push(...fresh);
      await this.#audit({
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
    return this.#fail(run, `${step.id}: ${message}`, "failed", step);
  }

  /** Containment level of a step: 0 not a containment, 1 restricted, 2 full (no/unknown mode). */
  #level(run: RunState, stepId: string): number {
    const pb = this.#o.playbooks.get(run.playbookId);
    const step = pb?.steps.find((s) => s.id === stepId) ?? pb?.finally.find((s) => s.id === stepId);
    const action = step ? this.#o.actions.get(step.action) : undefined;
    const effect = action ? effectOf(action.kind, run.steps[stepId]?.input) : undefined;
    return effect === "containment:restricted" ? 1 : effect === "containment:full" ? 2 : 0;
  }

  /**
   * Leaves the main phase for good: compensations (if any), then `finally`. Fail safe (safety rule
   * 4): completed, verified containment below the level of the failed step is kept (a failure of a
   * non-containment step keeps every verified containment); only the rest is undone.
   */
  async #fail(
    run: RunState,
    error: string,
    outcome: "failed" | "denied" = "failed",
    failed?: PlaybookStep,
  ): Promise<void> {
    if (run.phase === "finally") {
      run.error ??= error;
      return this.#next(run);
    }
    run.outcome = outcome;
    run.error = error;
    const failLevel = failed ? this.#level(run, failed.id) || 3 : 3;
    const kept = run.compensations.filter((id) => {
      const level = this.#level(run, id);
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
      await this.#audit({
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
    await this.#save(run);
    await this.#enqueue(run);
  }

  /**
   * After the compensations: the kept containment is read back and re-applied where an undo of a
   * stronger step took it away (one NAC policy per endpoint, for instance). Failures are audited and
   * reported in the run's error (the ticket and page say so).
   */
  async #restoreKept(run: RunState, pb: Playbook): Promise<void> {
    const problems: string[] = [];
    for (const id of run.containmentKept ?? []) {
      const st = run.steps[id];
      const step = pb.steps.find((s) => s.id === id) ?? pb.finally.find((s) => s.id === id);
      const action = step ? this.#o.actions.get(step.action) : undefined;
      if (!st || !action) continue;
      const calls: RecordedCall[] = [];
      const ctx = this.#ctx(run, id, calls);
      const base = { runId: run.id, playbookId: run.playbookId, stepId: id, deviceKey: run.deviceKey };
      try {
        let v = await action.verify(st.input, st.output, ctx);
        if (!v.ok) {
          const output = await action.execute(st.input, ctx);
          v = await action.verify(st.input, output, ctx);
          if (v.ok) st.output = output;
        }
        await this.#flushCalls(run, id, calls);
        await this.#audit({
          ...base,
          type: v.ok ? "containment.verified" : "containment.restore_failed",
          actor: "engine",
          outcome: v.ok ? "success" : "failure",
          message: `Kept containment ${id}: ${v.ok ? "in place" : "NOT in place"} (${v.detail}).`,
        });
        if (!v.ok) problems.push(`${id}: ${v.detail}`);
        else st.verification = v;
      } catch (error) {
        await this.#flushCalls(run, id, calls);
        problems.push(`${id}: ${(error as Error).message}`);
        await this.#audit({
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

  async #compensate(run: RunState, pb: Playbook): Promise<void> {
    const ids = [...run.compensations].reverse();
    const stepId = ids[run.index];
    if (stepId === undefined) {
      if (run.containmentKept?.length && !run.containmentRestored) await this.#restoreKept(run, pb);
      return this.#endPhase(run);
    }
    if (run.containmentKept?.includes(stepId)) return this.#next(run);
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

  /**
   * Creates an approval, parks the step and saves the run BEFORE anything is announced (a crash
   * after the save re-announces the same approval from the retried job; never a second request).
   */
  async #requestApproval(
    run: RunState,
    st: StepState,
    stepId: string,
    spec: { role: string; reason: string; timeoutMs: number; devices?: string[] },
  ): Promise<ApprovalRecord> {
    const now = this.#o.now();
    // Deterministic per (run, step, n-th request): a job retried after a crash before the run was
    // saved writes the same record again instead of leaving an orphaned pending request.
    const seq = st.approvalSeq ?? 0;
    const id = approvalIdOf(run.id, stepId, seq);
    const existing = await this.#o.store.getApproval(id);
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
    if (!existing) await this.#o.store.saveApproval(approval);
    st.approvalSeq = seq + 1;
    st.status = "waiting";
    st.approvalId = approval.id;
    st.startedAt ??= approval.createdAt;
    run.status = "waiting_approval";
    await this.#save(run);
    // Parked: the lease and the device lock last until the approval expires (plus a lease).
    await this.#o.store.touchRun(run.id, spec.timeoutMs + this.#o.leaseMs);
    if (run.deviceKey && !run.dryRun)
      await this.#o.store.renewDeviceLock(run.deviceKey, run.id, spec.timeoutMs + this.#o.leaseMs);
    if (approval.status !== "pending") {
      // Decided (from the approvals list) while the run was not yet parked on it: resume now.
      await this.queue.add(
        "resume",
        { kind: "resume", runId: run.id, approvalId: approval.id },
        { jobId: `${run.id}-d-${approval.id}` },
      );
      return approval;
    }
    await this.#announce(run, approval);
    return approval;
  }

  /** A retried step job of a parked run: announce its approval if the crash came before that. */
  async #announcePending(run: RunState): Promise<void> {
    const st = Object.values(run.steps).find((s) => s.status === "waiting" && s.approvalId);
    if (!st?.approvalId) return;
    const approval = await this.#o.store.getApproval(st.approvalId);
    if (approval?.status !== "pending" || (await this.#o.store.wasAnnounced(approval.id))) return;
    await this.#announce(run, approval);
  }

  async #announce(run: RunState, approval: ApprovalRecord): Promise<void> {
    const timeoutMs = Math.max(0, Date.parse(approval.expiresAt) - this.#o.now().getTime());
    await this.queue.add(
      "approval-timeout",
      { kind: "approval-timeout", runId: run.id, approvalId: approval.id },
      { jobId: `${run.id}-t-${approval.id}`, delayMs: timeoutMs },
    );
    await this.#audit({
      type: "approval.requested",
      runId: run.id,
      playbookId: run.playbookId,
      stepId: approval.stepId,
      deviceKey: run.deviceKey,
      actor: "engine",
      message: `Approval requested from ${approval.role}: ${approval.reason} (expires ${approval.expiresAt}; silence is a no).`,
      detail: { approvalId: approval.id, devices: approval.devices },
    });
    if (this.#o.notifyApprovers)
      try {
        await this.#o.notifyApprovers(approval, run);
      } catch (error) {
        await this.#audit({
          type: "approval.notify_failed",
          runId: run.id,
          stepId: approval.stepId,
          actor: "engine",
          outcome: "failure",
          message: `Notifying approvers failed: ${(error as Error).message}`,
        });
      }
    await this.#o.store.markAnnounced(approval.id);
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
    await this.#requestApproval(run, st, step.id, { role, reason, timeoutMs });
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
      // A clinical engineering yes in the playbook covers the run's device for the clinical gate.
      if (approved && approval.role === this.#o.clinicalRole && run.deviceKey) {
        run.clinicalApprovals ??= {};
        run.clinicalApprovals[`containment:${run.deviceKey}`] = approval.id;
      }
      return this.#next(run);
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
      await this.#save(run);
      await this.#enqueue(run, `a${approvalId.slice(0, 8)}`);
      return;
    }
    // A device step held by the blast-radius guard.
    if (approved) {
      run.containmentApproved = true;
      if (st.gate) st.gate.pending = undefined;
      st.status = "pending";
      await this.#save(run);
      await this.#enqueue(run, `a${approvalId.slice(0, 8)}`);
      return;
    }
    st.status = "failed";
    st.error = `containment not approved (${approval.status})`;
    return this.#fail(run, `${stepId}: ${st.error}`, "denied", step);
  }

  /** Counts of runs by outcome (summary of `medsoc start`). */
  async summary(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const r of await this.#o.store.listRuns(100_000))
      out[`${r.playbookId} ${r.status}`] = (out[`${r.playbookId} ${r.status}`] ?? 0) + 1;
    return out;
  }
}

/** A UUID-shaped id derived from the run, the step and the step's n-th approval request. */
function approvalIdOf(runId: string, stepId: string, seq: number): string {
  const h = createHash("sha256").update(`approval|${runId}|${stepId}|${seq}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((Number.parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
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
