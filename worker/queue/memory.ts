import { backoffDelay } from "../../core/backoff.ts";
import { BackpressureError, PermanentError, RetryableError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { backpressureDelay, checkJobId, resolveQueueOptions, waitUntilDrained } from "./common.ts";
import type {
  DeadLetterEntry,
  DeadLetterQueue,
  Handler,
  Job,
  JobOptions,
  Queue,
  QueueCounts,
  QueueDriver,
  QueueOptions,
  Worker,
  WorkerOptions,
} from "./types.ts";

/** Options of the in-memory driver (the embedded default: one process, nothing survives a restart). */
export interface MemoryDriverOptions {
  /**
   * Waiting jobs a queue holds before `add` waits for a worker to take some (backpressure, so a
   * producer cannot grow memory without bound). Pages are 1–5 MB each, so this bounds memory at
   * roughly `maxWaiting` pages per queue. Delayed jobs (retries) do not count.
   * @defaultValue 1000
   */
  maxWaiting?: number;
  /**
   * Dead-letter entries kept; past it the oldest is dropped with a warning.
   * @defaultValue 10000
   */
  maxDeadLetters?: number;
  /** Defaults for every queue of this driver (a queue's own options win). @defaultValue {} */
  defaults?: QueueOptions;
  /** @defaultValue `silentLogger` */
  log?: Logger;
  /** Random source for backoff jitter (tests). @defaultValue `Math.random` */
  random?: () => number;
}

interface MemoryJob<T> {
  id: string;
  name: string;
  data: T;
  attempts: number;
  attemptsMade: number;
}

type JobState = "waiting" | "delayed" | "active" | "completed";

class MemoryDeadLetterQueue implements DeadLetterQueue {
  readonly #entries: DeadLetterEntry[] = [];
  readonly #max: number;
  readonly #log: Logger;

  constructor(max: number, log: Logger) {
    this.#max = max;
    this.#log = log;
  }

  async add(entry: DeadLetterEntry): Promise<void> {
    this.#entries.push(entry);
    if (this.#entries.length > this.#max) {
      const dropped = this.#entries.shift();
      this.#log.warn(
        { queue: dropped?.queue, jobId: dropped?.jobId, maxDeadLetters: this.#max },
        "Dead-letter queue is full; dropped the oldest entry.",
      );
    }
  }

  async count(): Promise<number> {
    return this.#entries.length;
  }

  async list(start = 0, end = -1): Promise<DeadLetterEntry[]> {
    const stop = end < 0 ? this.#entries.length + end + 1 : end + 1;
    return this.#entries.slice(start, stop);
  }

  async remove(entries: readonly DeadLetterEntry[]): Promise<number> {
    const gone = new Set(entries.map((e) => JSON.stringify(e)));
    const before = this.#entries.length;
    const kept = this.#entries.filter((e) => !gone.has(JSON.stringify(e)));
    this.#entries.splice(0, this.#entries.length, ...kept);
    return before - kept.length;
  }

  async clear(): Promise<void> {
    this.#entries.length = 0;
  }
}

class MemoryWorker<T> implements Worker {
  readonly #queue: MemoryQueue<T>;
  readonly handler: Handler<T>;
  readonly concurrency: number;
  readonly inFlight = new Set<Promise<void>>();
  closing = false;

  constructor(queue: MemoryQueue<T>, handler: Handler<T>, concurrency: number) {
    this.#queue = queue;
    this.handler = handler;
    this.concurrency = concurrency;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.#queue.detach(this);
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}

class MemoryQueue<T> implements Queue<T> {
  readonly name: string;
  readonly #options: Required<QueueOptions>;
  readonly #driver: MemoryQueueDriver;
  readonly #waiting: MemoryJob<T>[] = [];
  readonly #delayed = new Map<string, { job: MemoryJob<T>; timer: NodeJS.Timeout }>();
  readonly #states = new Map<string, JobState>();
  /** Completed ids in completion order, for de-duplication; bounded by `keepCompleted`. */
  readonly #completed = new Set<string>();
  readonly #workers = new Set<MemoryWorker<T>>();
  /** Producers waiting for room (backpressure). */
  readonly #roomWaiters: (() => void)[] = [];
  #active = 0;
  #failed = 0;
  #nextId = 1;

  constructor(name: string, options: Required<QueueOptions>, driver: MemoryQueueDriver) {
    this.name = name;
    this.#options = options;
    this.#driver = driver;
  }

  async add(name: string, data: T, options: JobOptions = {}): Promise<string> {
    const id = options.jobId ?? `${this.#nextId++}`;
    checkJobId(this.name, id);
    if (this.#states.has(id)) return id;
    while (this.#waiting.length >= this.#driver.maxWaiting) {
      if (this.#driver.closed) throw new PermanentError(`adding job to queue ${this.name}: driver is closed`);
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
      // Another producer may have added the same id while this one waited.
      if (this.#states.has(id)) return id;
    }
    if (this.#driver.closed) throw new PermanentError(`adding job to queue ${this.name}: driver is closed`);
    const job: MemoryJob<T> = {
      id,
      name,
      data,
      attempts: Math.max(1, options.attempts ?? this.#options.attempts),
      attemptsMade: 0,
    };
    const delayMs = options.delayMs ?? 0;
    if (delayMs > 0) this.#delay(job, delayMs);
    else this.#enqueue(job);
    return id;
  }

  async addBulk(jobs: { name: string; data: T; options?: JobOptions }[]): Promise<string[]> {
    const ids: string[] = [];
    for (const job of jobs) ids.push(await this.add(job.name, job.data, job.options));
    return ids;
  }

  process(handler: Handler<T>, options: WorkerOptions = {}): Worker {
    const worker = new MemoryWorker(this, handler, Math.max(1, options.concurrency ?? 1));
    this.#workers.add(worker);
    this.#driver.workers.add(worker);
    queueMicrotask(() => this.#dispatch());
    return worker;
  }

  detach(worker: MemoryWorker<T>): void {
    this.#workers.delete(worker);
    this.#driver.workers.delete(worker);
  }

  async counts(): Promise<QueueCounts> {
    return {
      waiting: this.#waiting.length,
      active: this.#active,
      delayed: this.#delayed.size,
      completed: this.#completed.size,
      failed: this.#failed,
    };
  }

  drained(options?: { pollMs?: number; timeoutMs?: number }): Promise<void> {
    return waitUntilDrained(this, options);
  }

  async obliterate(): Promise<void> {
    this.clearTimers();
    this.#waiting.length = 0;
    this.#completed.clear();
    for (const [id, state] of this.#states) if (state !== "active") this.#states.delete(id);
    this.#failed = 0;
    this.#wakeProducers();
  }

  clearTimers(): void {
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    for (const id of this.#delayed.keys()) this.#states.delete(id);
    this.#delayed.clear();
  }

  wakeAll(): void {
    for (const wake of this.#roomWaiters.splice(0)) wake();
  }

  #enqueue(job: MemoryJob<T>): void {
    this.#states.set(job.id, "waiting");
    this.#waiting.push(job);
    this.#dispatch();
  }

  #delay(job: MemoryJob<T>, delayMs: number): void {
    this.#states.set(job.id, "delayed");
    const timer = setTimeout(() => {
      this.#delayed.delete(job.id);
      this.#enqueue(job);
    }, delayMs);
    this.#delayed.set(job.id, { job, timer });
  }

  #wakeProducers(): void {
    while (this.#roomWaiters.length > 0 && this.#waiting.length < this.#driver.maxWaiting) {
      this.#roomWaiters.shift()?.();
    }
  }

  #dispatch(): void {
    for (const worker of this.#workers) {
      while (!worker.closing && worker.inFlight.size < worker.concurrency && this.#waiting.length > 0) {
        const job = this.#waiting.shift() as MemoryJob<T>;
        this.#states.set(job.id, "active");
        this.#active++;
        const run = this.#run(worker, job).finally(() => {
          worker.inFlight.delete(run);
          this.#active--;
          this.#dispatch();
        });
        worker.inFlight.add(run);
      }
    }
    this.#wakeProducers();
  }

  async #run(worker: MemoryWorker<T>, job: MemoryJob<T>): Promise<void> {
    const view: Job<T> = { id: job.id, name: job.name, data: job.data, attemptsMade: job.attemptsMade };
    try {
      await worker.handler(view);
      this.#complete(job.id);
    } catch (error) {
      await this.#fail(job, error);
    }
  }

  #complete(id: string): void {
    this.#states.set(id, "completed");
    this.#completed.add(id);
    if (this.#completed.size > this.#options.keepCompleted) {
      const oldest = this.#completed.values().next().value as string;
      this.#completed.delete(oldest);
      if (this.#states.get(oldest) === "completed") this.#states.delete(oldest);
    }
  }

  async #fail(job: MemoryJob<T>, error: unknown): Promise<void> {
    const reason = error instanceof Error ? error.message : String(error);
    const made = job.attemptsMade + 1;
    const log = this.#driver.log;
    if (error instanceof BackpressureError) {
      // The destination asked to wait: run again later without spending an attempt.
      const delayMs = backpressureDelay(error, this.#options, this.#driver.random);
      log.info({ queue: this.name, jobId: job.id, delayMs, reason }, "Destination busy; job waits.");
      this.#delay(job, delayMs);
      return;
    }
    if (error instanceof PermanentError || made >= job.attempts) {
      this.#states.delete(job.id);
      this.#failed++;
      log.warn(
        { queue: this.name, jobId: job.id, attemptsMade: made, err: error },
        "Job failed for good; moved it to the dead-letter queue.",
      );
      await this.#driver.deadLetterQueue.add({
        queue: this.name,
        jobId: job.id,
        name: job.name,
        data: job.data,
        reason,
        attemptsMade: made,
        failedAt: new Date().toISOString(),
      });
      return;
    }
    job.attemptsMade = made;
    const delayMs = backoffDelay(made, {
      baseMs: this.#options.backoffMs,
      maxMs: this.#options.maxBackoffMs,
      floorMs: error instanceof RetryableError ? error.retryAfterMs : undefined,
      random: this.#driver.random,
    });
    log.info(
      { queue: this.name, jobId: job.id, attemptsMade: made, delayMs, reason },
      "Job failed; retrying.",
    );
    this.#delay(job, delayMs);
  }
}

/** The in-memory driver: one process, bounded, nothing survives a restart. */
export class MemoryQueueDriver implements QueueDriver {
  readonly kind = "memory" as const;
  readonly maxWaiting: number;
  readonly log: Logger;
  readonly random: () => number;
  readonly deadLetterQueue: MemoryDeadLetterQueue;
  readonly workers = new Set<Worker>();
  readonly #queues = new Map<string, MemoryQueue<unknown>>();
  readonly #defaults: QueueOptions;
  closed = false;

  constructor(options: MemoryDriverOptions = {}) {
    this.maxWaiting = Math.max(1, options.maxWaiting ?? 1000);
    this.log = options.log ?? silentLogger;
    this.random = options.random ?? Math.random;
    this.#defaults = options.defaults ?? {};
    this.deadLetterQueue = new MemoryDeadLetterQueue(options.maxDeadLetters ?? 10_000, this.log);
  }

  queue<T>(name: string, options: QueueOptions = {}): Queue<T> {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new MemoryQueue<unknown>(
        name,
        resolveQueueOptions({ ...this.#defaults, ...options }, 10_000),
        this,
      );
      this.#queues.set(name, queue);
    }
    return queue as Queue<T>;
  }

  deadLetters(): DeadLetterQueue {
    return this.deadLetterQueue;
  }

  /**
   * Jobs the queues still held when the driver closed (nothing persists in memory: they are gone
   * with the process). Filled by `close()`, for the shutdown summary.
   */
  readonly leftOnClose: { queue: string; waiting: number; delayed: number }[] = [];

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const queue of this.#queues.values()) queue.wakeAll();
    await Promise.all([...this.workers].map((w) => w.close()));
    for (const queue of this.#queues.values()) {
      const { waiting, delayed } = await queue.counts();
      if (waiting + delayed > 0) {
        this.leftOnClose.push({ queue: queue.name, waiting, delayed });
        this.log.warn(
          { queue: queue.name, waiting, delayed },
          "Closed the in-memory queue with jobs left in it.",
        );
      }
      queue.clearTimers();
    }
  }
}
