/**
 * The queue the playbook engine needs, owned here so the engine depends on nothing above it: any
 * driver with these methods will do (`worker/queue`'s BullMQ and memory drivers match it as they
 * are). Semantics as in `worker/queue/types.ts`: deterministic job ids make a second add of the
 * same id a no-op; `delayMs` runs a job no earlier than that; a handler that throws a
 * `PermanentError` is dead-lettered, any other error is retried by the queue.
 */

export interface StepJobOptions {
  /** Deterministic id (no `:`): adding an id that exists is a no-op. */
  jobId?: string;
  /** Run no earlier than this many ms from now. @defaultValue 0 */
  delayMs?: number;
}

export interface StepWorkerOptions {
  /** Jobs processed at once by this process. @defaultValue 1 */
  concurrency?: number;
  /** BullMQ only: lock lifetime of a job without renewal. */
  lockDurationMs?: number;
  /** BullMQ only: how often stalled jobs are looked for. */
  stalledIntervalMs?: number;
}

export interface StepQueueCounts {
  waiting: number;
  active: number;
  delayed: number;
}

export interface StepQueue<T> {
  readonly name: string;
  add(name: string, data: T, options?: StepJobOptions): Promise<string>;
  process(
    handler: (job: { id: string; data: T }) => Promise<void>,
    options?: StepWorkerOptions,
  ): {
    close(): Promise<void>;
  };
  counts(): Promise<StepQueueCounts>;
  /** Removes every job (tests and `medsoc reset`). */
  obliterate(): Promise<void>;
}

export interface StepQueueDriver {
  queue<T>(name: string, options?: { attempts?: number; keepCompleted?: number }): StepQueue<T>;
}
