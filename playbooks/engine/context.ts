/**
 * What the parts of the playbook engine share (engine.ts, step-runner.ts, gate.ts, approvals.ts,
 * compensation.ts): the resolved options, the step queue, and the few operations every part uses —
 * save a run, enqueue its current step, move to the next one, finish it, audit, build an action's
 * context and the template scope.
 */
import { PermanentError, RetryableError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import type { ActionContext, ActionRegistry, DeviceInfo, RecordedCall } from "../actions/types.ts";
import type { AuditInput, AuditLog } from "./audit.ts";
import type { DeviceDirectory } from "./devices.ts";
import type { StepQueue, StepQueueDriver } from "./queue.ts";
import type { Playbook, PlaybookStep } from "./schema.ts";
import { type ApprovalRecord, type Phase, type RunState, type RunStore, TERMINAL } from "./store.ts";

export type StepJob =
  | { kind: "step"; runId: string; phase: Phase; index: number }
  | { kind: "approval-timeout"; runId: string; approvalId: string }
  | { kind: "resume"; runId: string; approvalId: string }
  | { kind: "start"; runId: string; request: StartRequest };

/** Sends an approval request to people (Slack/Teams with signed links); failures are audited. */
export type ApprovalNotifier = (approval: ApprovalRecord, run: RunState) => Promise<void>;

export interface EngineOptions {
  driver: StepQueueDriver;
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

export type ResolvedOptions = Required<Omit<EngineOptions, "notifyApprovers" | "onRunUpdate">> &
  Pick<EngineOptions, "notifyApprovers" | "onRunUpdate">;

export function resolveOptions(options: EngineOptions): ResolvedOptions {
  return {
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

/** A failed read-back: the outside system did not show the effect. Not retried. */
export class VerificationError extends PermanentError {}

const PHASE_LETTER: Record<Phase, string> = { main: "m", compensate: "c", finally: "f" };

/** The shared state and operations of one engine (see the module comment). */
export class EngineCore {
  constructor(
    readonly o: ResolvedOptions,
    readonly queue: StepQueue<StepJob>,
  ) {}

  async audit(input: AuditInput): Promise<void> {
    await this.o.audit.append(input);
  }

  async save(run: RunState): Promise<void> {
    run.updatedAt = this.o.now().toISOString();
    await this.o.store.saveRun(run);
    if (TERMINAL.has(run.status) || run.status === "waiting_approval") this.o.onRunUpdate?.(run);
  }

  /**
   * Queues the run's current step (deterministic id per run, phase, step and `suffix`). With
   * `delayMs` (a retry waiting through the queue's delay, not a sleep in a job) the run's lease and
   * its device lock are extended over the wait, so the run is not reaped while it waits.
   */
  async enqueue(run: RunState, suffix = "", delayMs = 0): Promise<void> {
    const { store, leaseMs } = this.o;
    if (!run.dryRun || run.deviceKey) await store.touchRun(run.id, leaseMs + delayMs);
    if (delayMs > 0 && run.deviceKey && !run.dryRun)
      await store.renewDeviceLock(run.deviceKey, run.id, leaseMs + delayMs);
    const id = `${run.id}-${PHASE_LETTER[run.phase]}${run.index}${suffix ? `-${suffix}` : ""}`;
    await this.queue.add(
      "step",
      { kind: "step", runId: run.id, phase: run.phase, index: run.index },
      { jobId: id, ...(delayMs > 0 ? { delayMs } : {}) },
    );
  }

  async next(run: RunState): Promise<void> {
    run.index++;
    await this.save(run);
    await this.enqueue(run);
  }

  async finish(run: RunState, status: "succeeded" | "failed" | "denied", error?: string): Promise<void> {
    run.status = status;
    run.error = error;
    run.finishedAt = this.o.now().toISOString();
    await this.save(run);
    if (run.deviceKey && !run.dryRun) await this.o.store.unlockDevice(run.deviceKey, run.id);
    await this.audit({
      type: "run.finished",
      runId: run.id,
      playbookId: run.playbookId,
      deviceKey: run.deviceKey,
      actor: "engine",
      outcome: status === "succeeded" ? "success" : "failure",
      message: `${run.dryRun ? "Dry run" : "Run"} of ${run.playbookId} ${status}${error ? `: ${error}` : ""}.`,
    });
  }

  /** The step of the run's playbook with this id (main steps first, then `finally`). */
  stepOf(run: RunState, stepId: string): PlaybookStep | undefined {
    const pb = this.o.playbooks.get(run.playbookId);
    return pb?.steps.find((s) => s.id === stepId) ?? pb?.finally.find((s) => s.id === stepId);
  }

  scope(run: RunState): Record<string, unknown> {
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
      systems: this.o.systems,
      now: this.o.now().toISOString(),
    };
  }

  ctx(run: RunState, stepId: string, calls: RecordedCall[], signal?: AbortSignal): ActionContext {
    return {
      runId: run.id,
      stepId,
      idempotencyKey: `${run.id}-${stepId}`,
      playbookId: run.playbookId,
      device: run.device,
      dryRun: run.dryRun,
      record: (call) => calls.push(call),
      log: this.o.log.child({ runId: run.id, step: stepId }),
      now: this.o.now,
      signal,
    };
  }

  /** Audits the recorded outside calls of a step, in order, as one batch of the chain. */
  async flushCalls(run: RunState, stepId: string, calls: RecordedCall[]): Promise<void> {
    await Promise.all(
      calls.splice(0).map((c) =>
        this.audit({
          type: "call",
          runId: run.id,
          playbookId: run.playbookId,
          stepId,
          deviceKey: run.deviceKey,
          actor: "engine",
          outcome: c.error || (c.status !== undefined && c.status >= 400) ? "failure" : "success",
          message: `${c.method} ${c.url} → ${c.error ? `error: ${c.error}` : (c.status ?? "?")}`,
          detail: c,
        }),
      ),
    );
  }
}

export async function withTimeout<T>(
  ms: number,
  what: string,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
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
