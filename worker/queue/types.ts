/**
 * One small queue interface with two drivers: BullMQ on Redis (production, any number of worker
 * processes) and in-memory (the embedded default, one process). The behaviour tests in
 * `test/redis/queue.test.ts` run the same cases against both.
 */

export interface JobOptions {
  /**
   * Deterministic id: adding a job whose id already exists (waiting, active, delayed or completed
   * and still retained) is a no-op. Must not contain `:` (BullMQ rule).
   */
  jobId?: string;
  /** Run no earlier than this many ms from now. @defaultValue 0 */
  delayMs?: number;
  /** Total attempts including the first. @defaultValue the queue's `attempts` */
  attempts?: number;
}

export interface Job<T> {
  id: string;
  name: string;
  data: T;
  /** Attempts already made before this one (0 on the first run). */
  attemptsMade: number;
}

/** A job that failed for good, moved to the dead-letter queue with its reason. */
export interface DeadLetterEntry {
  queue: string;
  jobId: string;
  name: string;
  data: unknown;
  reason: string;
  attemptsMade: number;
  failedAt: string;
}

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
}

export interface QueueOptions {
  /** Attempts per job (first run included). @defaultValue 5 */
  attempts?: number;
  /** Backoff base: attempt n waits about `backoffMs * 2^(n-1)` with jitter. @defaultValue 1000 */
  backoffMs?: number;
  /** Upper bound of one backoff wait. @defaultValue 60000 */
  maxBackoffMs?: number;
  /**
   * Completed jobs remembered for deterministic-id de-duplication: re-adding one of the last
   * `keepCompleted` completed ids is a no-op; older ids can run again. The memory driver keeps ids
   * only; BullMQ keeps the whole job (its data included), so keep it small for queues of large pages.
   * @defaultValue 10000 (memory), 1000 (bullmq)
   */
  keepCompleted?: number;
}

export interface WorkerOptions {
  /** Jobs of this queue processed at once by this process. @defaultValue 1 */
  concurrency?: number;
  /**
   * BullMQ only: how long a job's lock lives without renewal; a worker that dies holds its job
   * this long before another takes it (stalled-job recovery). @defaultValue 30000 (BullMQ's)
   */
  lockDurationMs?: number;
  /** BullMQ only: how often stalled jobs are looked for. @defaultValue 30000 (BullMQ's) */
  stalledIntervalMs?: number;
}

export type Handler<T> = (job: Job<T>) => Promise<void>;

export interface Worker {
  /** Stops taking jobs, waits for in-flight jobs to finish (or returns them to the queue). */
  close(): Promise<void>;
}

export interface Queue<T> {
  readonly name: string;
  /** Enqueues one job; resolves once it is durably stored (Redis acknowledged it). Returns the job id. */
  add(name: string, data: T, options?: JobOptions): Promise<string>;
  addBulk(jobs: { name: string; data: T; options?: JobOptions }[]): Promise<string[]>;
  /**
   * Processes jobs. A handler that throws a `PermanentError` sends the job straight to the
   * dead-letter queue; any other error is retried with exponential backoff and jitter (honouring
   * `RetryableError.retryAfterMs`) until `attempts` run out, then dead-lettered.
   */
  process(handler: Handler<T>, options?: WorkerOptions): Worker;
  counts(): Promise<QueueCounts>;
  /** Resolves when nothing is waiting, delayed or active. */
  drained(options?: { pollMs?: number; timeoutMs?: number }): Promise<void>;
  /** Removes every job (tests and `medsoc reset`). */
  obliterate(): Promise<void>;
}

export interface QueueDriver {
  readonly kind: "memory" | "bullmq";
  queue<T>(name: string, options?: QueueOptions): Queue<T>;
  /** The dead-letter queue shared by every queue of this driver. */
  deadLetters(): DeadLetterQueue;
  /** Closes every worker (graceful) and connection. */
  close(): Promise<void>;
}

export interface DeadLetterQueue {
  add(entry: DeadLetterEntry): Promise<void>;
  count(): Promise<number>;
  list(start?: number, end?: number): Promise<DeadLetterEntry[]>;
  /** Removes these entries (as `list` returned them), e.g. once replayed; returns how many went. */
  remove(entries: readonly DeadLetterEntry[]): Promise<number>;
  clear(): Promise<void>;
}
