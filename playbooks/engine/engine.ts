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
 *
 * This file holds the run's life cycle (start, step-job dispatch, leases, reaping, kill switch); a
 * step is run by step-runner.ts, guarded by gate.ts (guards.ts: the pure rules), approvals are in
 * approvals.ts, the way out after a failure in compensation.ts; context.ts is what they share. The
 * engine needs only the queue interface of queue.ts.
 */
import { randomUUID } from "node:crypto";
import { sleep } from "../../core/backoff.ts";
import type { DeviceInfo } from "../actions/types.ts";
import { announcePending, approvalTimedOut, decide, resumeAfterDecision } from "./approvals.ts";
import type { AuditLog } from "./audit.ts";
import { compensateStep, endPhase } from "./compensation.ts";
import {
  EngineCore,
  type EngineOptions,
  type ResolvedOptions,
  resolveOptions,
  type StartRequest,
  type StartResult,
  type StepJob,
} from "./context.ts";
import type { StepQueue, StepWorkerOptions } from "./queue.ts";
import type { Playbook } from "./schema.ts";
import { NEXT_INLINE, runStep } from "./step-runner.ts";
import { type ApprovalRecord, type RunState, type RunStore, TERMINAL } from "./store.ts";

export {
  type ApprovalNotifier,
  type EngineOptions,
  type StartRequest,
  type StartResult,
  type StepJob,
  VerificationError,
} from "./context.ts";

export class PlaybookEngine {
  readonly queue: StepQueue<StepJob>;
  readonly #o: ResolvedOptions;
  readonly #core: EngineCore;
  readonly #workers: { close(): Promise<void> }[] = [];
  #reaper?: NodeJS.Timeout;

  constructor(options: EngineOptions) {
    this.#o = resolveOptions(options);
    this.queue = options.driver.queue<StepJob>("playbook-steps", { keepCompleted: 10_000, attempts: 5 });
    this.#core = new EngineCore(this.#o, this.queue);
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
  startWorkers(options: StepWorkerOptions = {}): void {
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
      await this.#core.audit({
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
      await this.#core.save(fresh);
      await this.#core.enqueue(fresh, `reap${Date.now()}`);
    }
    return n;
  }

  async close(): Promise<void> {
    if (this.#reaper) clearInterval(this.#reaper);
    this.#reaper = undefined;
    await Promise.all(this.#workers.map((w) => w.close()));
    this.#workers.length = 0;
  }

  /** Starts a run (or refuses it, audited, with the reason). */
  async start(req: StartRequest): Promise<StartResult> {
    const { store, playbooks } = this.#o;
    const runId = randomUUID();
    const pb = playbooks.get(req.playbookId);
    const trigger = req.trigger ?? { kind: "manual" };
    const reject = async (reason: string, deviceKey?: string): Promise<StartResult> => {
      await this.#core.audit({
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
    await this.#core.audit({
      type: "run.started",
      runId,
      playbookId: pb.id,
      deviceKey: device?.key,
      actor: trigger.kind,
      outcome: "success",
      message: `${dryRun ? "Dry run" : "Run"} of ${pb.id} started${device ? ` for device ${device.key}` : ""}.`,
      detail: { trigger, inputs, dryRun },
    });
    await this.#core.enqueue(run);
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
  decide(
    approvalId: string,
    decision: { approve: boolean; by: string; role: string; comment?: string },
  ): Promise<{ ok: boolean; reason?: string; approval?: ApprovalRecord }> {
    return decide(this.#core, approvalId, decision);
  }

  /** Kill switch on: no new runs; running runs park at their next step. */
  async pause(actor = "cli"): Promise<void> {
    await this.#o.store.setPaused(true);
    await this.#core.audit({
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
    await this.#core.audit({
      type: "engine.resumed",
      actor,
      outcome: "success",
      message: `${actor} resumed playbooks; ${ids.length} parked run(s) continue.`,
    });
    for (const id of ids) {
      const run = await this.#o.store.getRun(id);
      if (run && run.status === "paused") {
        run.status = "running";
        await this.#core.save(run);
        await this.#core.enqueue(run, `u${Date.now()}`);
      }
    }
    return ids.length;
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
    if (job.kind === "approval-timeout") return approvalTimedOut(this.#core, run, job.approvalId);
    if (job.kind === "resume") return resumeAfterDecision(this.#core, run, job.approvalId);
    if (run.status === "waiting_approval" && run.phase === job.phase && run.index === job.index)
      return announcePending(this.#core, run);
    if (run.status !== "running") return;
    if (run.phase !== job.phase || run.index !== job.index) {
      // A stale job (its step finished before a crash kept the next job from being enqueued):
      // make sure the current step is queued; the deterministic id makes this a no-op otherwise.
      await this.#core.enqueue(run);
      return;
    }
    const pb = this.#o.playbooks.get(run.playbookId);
    if (!pb) {
      await this.#core.finish(run, "failed", `playbook ${run.playbookId} is no longer loaded`);
      return;
    }
    if (!run.dryRun && (await this.#o.store.isPaused())) {
      run.status = "paused";
      await this.#core.save(run);
      await this.#o.store.park(run.id);
      await this.#core.audit({
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
      if (run.phase === "compensate") return await compensateStep(this.#core, run, pb);
      const list = run.phase === "main" ? pb.steps : pb.finally;
      for (;;) {
        const step = list[run.index];
        if (!step) return await endPhase(this.#core, run);
        if ((await runStep(this.#core, run, pb, step)) !== NEXT_INLINE) return;
        // A skipped step: its successor runs in this job, unless the kill switch went on meanwhile
        // (then it is queued, and its job parks the run as every step job does).
        if (!run.dryRun && (await this.#o.store.isPaused())) return await this.#core.enqueue(run);
      }
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
    await this.#core.audit({
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
    await this.#core.save(run);
    await this.#core.enqueue(run);
  }

  /** In `finally` without the device lock: the ticket and page still run (they do not touch the device). */
  async #stepsOnlyNotify(run: RunState, why: string): Promise<void> {
    run.error ??= why;
    const pb = this.#o.playbooks.get(run.playbookId);
    const step = pb?.finally[run.index];
    if (!pb || !step) return this.#core.finish(run, run.outcome ?? "failed", run.error);
    if ((await runStep(this.#core, run, pb, step)) === NEXT_INLINE) await this.#core.enqueue(run);
  }

  /** Counts of runs by outcome (summary of `medsoc start`). */
  async summary(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const r of await this.#o.store.listRuns(100_000))
      out[`${r.playbookId} ${r.status}`] = (out[`${r.playbookId} ${r.status}`] ?? 0) + 1;
    return out;
  }
}
