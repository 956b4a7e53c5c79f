import {
  type Job as BullJob,
  Queue as BullQueue,
  Worker as BullWorker,
  DelayedError,
  type JobsOptions,
  UnrecoverableError,
} from "bullmq";
import type { RedisOptions } from "ioredis";
import { backoffDelay } from "../../core/backoff.ts";
import { BackpressureError, PermanentError, RetryableError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import {
  createRedis,
  describeRedis,
  type RedisClient,
  type RedisClusterConfig,
  resilientRedisOptions,
} from "../../core/redis.ts";
import { backpressureDelay, checkJobId, resolveQueueOptions, waitUntilDrained } from "./common.ts";
import type {
  DeadLetterEntry,
  DeadLetterQueue,
  Handler,
  JobOptions,
  Queue,
  QueueCounts,
  QueueDriver,
  QueueOptions,
  Worker,
  WorkerOptions,
} from "./types.ts";

/** Options of the BullMQ driver (production: any number of processes share the queues in Redis). */
export interface BullmqDriverOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. */
  redisUrl: string;
  /**
   * A Redis Cluster to use instead of `redisUrl`. Each queue then gets its own hash tag (BullMQ's
   * scripts touch several keys of a queue at once): keys are `<prefix>:{<queue>}:…`.
   */
  cluster?: RedisClusterConfig;
  /**
   * Namespace of every key: BullMQ keys are `<prefix>:<queue>:…`, the dead-letter list is
   * `<prefix>:dead-letters`. Tests use a unique prefix each.
   * @defaultValue "medsoc"
   */
  prefix?: string;
  /**
   * How long `add` waits for the producer connection to be ready before failing with a clear error
   * (producers fail fast; workers wait for Redis as long as it takes).
   * @defaultValue 5000
   */
  connectTimeoutMs?: number;
  /**
   * Failed jobs BullMQ keeps per queue for inspection (the dead-letter list has its own copy, so this
   * stays small). Retained failed ids also de-duplicate re-adds.
   * @defaultValue 100
   */
  keepFailed?: number;
  /**
   * Dead-letter entries kept in Redis; past it the oldest are trimmed with a warning. Entries carry
   * the job data (pages of 1–5 MB), hence the bound.
   * @defaultValue 10000
   */
  maxDeadLetters?: number;
  /**
   * How long a command on the producer connection waits for a restarting Redis before it fails
   * (`queue.redisGraceMs`). @defaultValue 60000
   */
  graceMs?: number;
  /** Defaults for every queue of this driver (a queue's own options win). @defaultValue {} */
  defaults?: QueueOptions;
  /** @defaultValue `silentLogger` */
  log?: Logger;
}

/** Marks the error a processor throws after it has dead-lettered the job itself. */
class DeadLetteredError extends UnrecoverableError {}

/**
 * Dead-letter queue as a Redis list of JSON entries (oldest first). A list keeps the data without
 * BullMQ's per-job overhead, survives restarts and is countable and listable with LLEN / LRANGE.
 */
class RedisDeadLetterQueue implements DeadLetterQueue {
  readonly key: string;
  readonly #driver: BullmqQueueDriver;
  readonly #max: number;

  constructor(driver: BullmqQueueDriver, key: string, max: number) {
    this.#driver = driver;
    this.key = key;
    this.#max = max;
  }

  async add(entry: DeadLetterEntry): Promise<void> {
    // The worker connection waits for Redis, so a dead letter is not lost to a short outage.
    const redis = this.#driver.workerConnection();
    try {
      const [[, length]] = (await redis
        .multi()
        .rpush(this.key, JSON.stringify(entry))
        .ltrim(this.key, -this.#max, -1)
        .exec()) as [[Error | null, number]];
      if (length > this.#max)
        this.#driver.log.warn(
          { key: this.key, maxDeadLetters: this.#max, dropped: length - this.#max },
          "Dead-letter list is full; trimmed the oldest entries.",
        );
    } catch (error) {
      throw new RetryableError(
        `adding dead letter for job ${entry.jobId} of queue ${entry.queue}: ${message(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  async count(): Promise<number> {
    return this.#driver.readyProducer("counting dead letters").then((r) => r.llen(this.key));
  }

  async list(start = 0, end = -1): Promise<DeadLetterEntry[]> {
    const redis = await this.#driver.readyProducer("listing dead letters");
    const rows = await redis.lrange(this.key, start, end);
    return rows.map((row) => JSON.parse(row) as DeadLetterEntry);
  }

  async remove(entries: readonly DeadLetterEntry[]): Promise<number> {
    if (entries.length === 0) return 0;
    const redis = await this.#driver.readyProducer("removing dead letters");
    // Entries are stored as JSON.stringify(entry) and list() parses them: the same text again.
    const pipeline = redis.pipeline();
    for (const e of entries) pipeline.lrem(this.key, 1, JSON.stringify(e));
    const replies = (await pipeline.exec()) ?? [];
    return replies.reduce((n, [, removed]) => n + Number(removed ?? 0), 0);
  }

  async clear(): Promise<void> {
    const redis = await this.#driver.readyProducer("clearing dead letters");
    await redis.del(this.key);
  }
}

class BullmqQueue<T> implements Queue<T> {
  readonly name: string;
  /** The queue's name in BullMQ: the name, hash-tagged on a Redis Cluster (`{raw}`). */
  readonly bullName: string;
  readonly #driver: BullmqQueueDriver;
  readonly #options: Required<QueueOptions>;
  readonly #queue: BullQueue;
  readonly #jobOptions: JobsOptions;

  constructor(driver: BullmqQueueDriver, name: string, options: Required<QueueOptions>) {
    this.name = name;
    this.bullName = driver.clustered ? `{${name}}` : name;
    this.#driver = driver;
    this.#options = options;
    this.#queue = new BullQueue(this.bullName, {
      connection: driver.producer,
      prefix: driver.prefix,
      // Events are not consumed here; a short stream keeps per-job overhead low.
      streams: { events: { maxLen: 1000 } },
    });
    this.#queue.on("error", (err) =>
      driver.log.warn({ queue: name, err }, "Queue connection reported an error."),
    );
    this.#jobOptions = {
      attempts: options.attempts,
      backoff: { type: "custom" },
      removeOnComplete: { count: options.keepCompleted },
      removeOnFail: { count: driver.keepFailed },
    };
  }

  get bull(): BullQueue {
    return this.#queue;
  }

  async add(name: string, data: T, options: JobOptions = {}): Promise<string> {
    const [id] = await this.addBulk([{ name, data, options }]);
    return id as string;
  }

  async addBulk(jobs: { name: string; data: T; options?: JobOptions }[]): Promise<string[]> {
    const context = `adding ${jobs.length} job(s) to queue ${this.name}`;
    for (const job of jobs) if (job.options?.jobId !== undefined) checkJobId(this.name, job.options.jobId);
    await this.#driver.readyProducer(context);
    try {
      const added = await this.#queue.addBulk(
        jobs.map((job) => ({ name: job.name, data: job.data, opts: this.#bullOptions(job.options) })),
      );
      return added.map((job) => job.id as string);
    } catch (error) {
      throw new RetryableError(`${context}: ${message(error)}`, { cause: error });
    }
  }

  #bullOptions(options: JobOptions = {}): JobsOptions {
    const opts: JobsOptions = { ...this.#jobOptions };
    if (options.jobId !== undefined) opts.jobId = options.jobId;
    if (options.delayMs) opts.delay = options.delayMs;
    if (options.attempts !== undefined) opts.attempts = Math.max(1, options.attempts);
    return opts;
  }

  process(handler: Handler<T>, options: WorkerOptions = {}): Worker {
    const driver = this.#driver;
    const log = driver.log;
    const queueOptions = this.#options;
    const processor = async (job: BullJob<T>, token?: string): Promise<void> => {
      try {
        await handler({
          id: job.id as string,
          name: job.name,
          data: job.data,
          attemptsMade: job.attemptsMade,
        });
      } catch (error) {
        const made = job.attemptsMade + 1;
        const attempts = job.opts.attempts ?? 1;
        if (error instanceof BackpressureError) {
          // The destination asked to wait: delayed again without spending an attempt.
          const delayMs = backpressureDelay(error, queueOptions);
          log.info({ queue: this.name, jobId: job.id, delayMs, err: error }, "Destination busy; job waits.");
          await job.moveToDelayed(Date.now() + delayMs, token);
          throw new DelayedError();
        }
        if (!(error instanceof PermanentError) && made < attempts) {
          log.info(
            { queue: this.name, jobId: job.id, attemptsMade: made, err: error },
            "Job failed; retrying.",
          );
          throw error;
        }
        // Dead-lettered before BullMQ marks the job failed: a crash in between re-runs the job
        // (a duplicate dead letter at worst) instead of losing it.
        await driver.deadLetters().add(deadLetter(this.name, job, message(error), made));
        log.warn(
          { queue: this.name, jobId: job.id, attemptsMade: made, err: error },
          "Job failed for good; moved it to the dead-letter queue.",
        );
        throw new DeadLetteredError(message(error));
      }
    };
    const worker = new BullWorker<T>(this.bullName, processor, {
      connection: driver.workerConnection(),
      prefix: driver.prefix,
      concurrency: Math.max(1, options.concurrency ?? 1),
      ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs } : {}),
      ...(options.stalledIntervalMs ? { stalledInterval: options.stalledIntervalMs } : {}),
      // Keeps the completed/failed bounds even for jobs added by an older producer.
      removeOnComplete: { count: queueOptions.keepCompleted },
      removeOnFail: { count: driver.keepFailed },
      settings: {
        backoffStrategy: (attemptsMade, _type, err) =>
          backoffDelay(attemptsMade, {
            baseMs: queueOptions.backoffMs,
            maxMs: queueOptions.maxBackoffMs,
            floorMs: err instanceof RetryableError ? err.retryAfterMs : undefined,
          }),
      },
    });
    worker.on("error", (err) => log.warn({ queue: this.name, err }, "Worker reported an error."));
    // Jobs that fail outside the processor (stalled too often) are dead-lettered here.
    worker.on("failed", (job, err) => {
      if (!job || err instanceof DeadLetteredError) return;
      if (!(err instanceof UnrecoverableError) && job.attemptsMade < (job.opts.attempts ?? 1)) return;
      driver
        .deadLetters()
        .add(deadLetter(this.name, job, err.message, job.attemptsMade))
        .catch((error: unknown) =>
          log.error({ queue: this.name, jobId: job.id, err: error }, "Could not dead-letter a failed job."),
        );
    });
    const handle: Worker = {
      close: async () => {
        driver.workers.delete(handle);
        await worker.close();
      },
    };
    driver.workers.add(handle);
    return handle;
  }

  async counts(): Promise<QueueCounts> {
    await this.#driver.readyProducer(`counting jobs of queue ${this.name}`);
    const c = await this.#queue.getJobCounts(
      "waiting",
      "prioritized",
      "active",
      "delayed",
      "completed",
      "failed",
    );
    return {
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      completed: c.completed ?? 0,
      failed: c.failed ?? 0,
    };
  }

  drained(options?: { pollMs?: number; timeoutMs?: number }): Promise<void> {
    return waitUntilDrained(this, options);
  }

  async obliterate(): Promise<void> {
    await this.#driver.readyProducer(`obliterating queue ${this.name}`);
    await this.#queue.obliterate({ force: true });
  }
}

function deadLetter(queue: string, job: BullJob, reason: string, attemptsMade: number): DeadLetterEntry {
  return {
    queue,
    jobId: job.id as string,
    name: job.name,
    data: job.data,
    reason,
    attemptsMade,
    failedAt: new Date().toISOString(),
  };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * BullMQ on ioredis, following BullMQ's production guide: the producer fails fast when Redis is
 * already down (bounded wait for readiness) but rides out a restart under a command in flight (up to
 * `graceMs`); the worker connection waits for Redis (`maxRetriesPerRequest: null`). The caller closes
 * the driver on SIGINT/SIGTERM.
 *
 * Retention (what keeps Redis bounded): each queue keeps its last `keepCompleted` completed jobs
 * (default 1000; a re-add of one of those ids is a no-op) and the last `keepFailed` failed jobs; the
 * dead-letter list keeps the last `maxDeadLetters` entries; the events stream is capped at 1000.
 */
export class BullmqQueueDriver implements QueueDriver {
  readonly kind = "bullmq" as const;
  readonly prefix: string;
  readonly log: Logger;
  readonly keepFailed: number;
  readonly producer: RedisClient;
  /** Whether the driver talks to a Redis Cluster (queues are hash-tagged there). */
  readonly clustered: boolean;
  readonly workers = new Set<Worker>();
  readonly #redisUrl: string;
  readonly #cluster: RedisClusterConfig | undefined;
  readonly #connectTimeoutMs: number;
  readonly #queues = new Map<string, BullmqQueue<unknown>>();
  readonly #deadLetters: RedisDeadLetterQueue;
  readonly #defaults: QueueOptions;
  #worker: RedisClient | undefined;
  #lastError: Error | undefined;
  #closed = false;

  constructor(options: BullmqDriverOptions) {
    this.prefix = options.prefix ?? "medsoc";
    this.log = options.log ?? silentLogger;
    this.keepFailed = options.keepFailed ?? 100;
    this.#defaults = options.defaults ?? {};
    this.#redisUrl = options.redisUrl;
    this.#cluster = options.cluster;
    this.clustered = options.cluster !== undefined;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    // Not `maxRetriesPerRequest: 1` (a command in flight when Redis restarts failed at once): the
    // producer waits out a restart up to the grace, and `readyProducer` still fails fast when Redis
    // is already down before a command is issued (receivers answer 503 then).
    this.producer = this.#connect("producer", resilientRedisOptions("producer", options.graceMs));
    this.#deadLetters = new RedisDeadLetterQueue(
      this,
      `${this.prefix}:dead-letters`,
      options.maxDeadLetters ?? 10_000,
    );
  }

  #connect(role: string, options: RedisOptions): RedisClient {
    const redis = createRedis(
      { url: this.#redisUrl, cluster: this.#cluster },
      { connectionName: `medsoc-${role}`, ...options },
    );
    let reported = false;
    redis.on("error", (err: Error) => {
      this.#lastError = err;
      // One line per outage, not one per reconnect attempt.
      if (!reported) this.log.warn({ role, err }, "Redis connection failed; reconnecting.");
      reported = true;
    });
    redis.on("ready", () => {
      if (reported) this.log.info({ role }, "Redis connection is back.");
      reported = false;
      this.#lastError = undefined;
    });
    return redis;
  }

  /** The connection workers and dead-letter writes use: it waits for Redis as long as it takes. */
  workerConnection(): RedisClient {
    this.#worker ??= this.#connect("worker", { maxRetriesPerRequest: null });
    return this.#worker;
  }

  /** The producer connection once ready, or a clear error after `connectTimeoutMs`. */
  async readyProducer(context: string): Promise<RedisClient> {
    const redis = this.producer;
    if (this.#closed) throw new PermanentError(`${context}: queue driver is closed`);
    if (redis.status === "ready") return redis;
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => done(false), this.#connectTimeoutMs);
      const onReady = () => done(true);
      const done = (ok: boolean) => {
        clearTimeout(timer);
        redis.off("ready", onReady);
        resolve(ok);
      };
      redis.on("ready", onReady);
    });
    if (ready) return redis;
    throw new RetryableError(
      `${context}: redis at ${describeRedis(redis)} is not reachable after ${this.#connectTimeoutMs} ms` +
        (this.#lastError ? ` (${this.#lastError.message})` : ""),
    );
  }

  queue<T>(name: string, options: QueueOptions = {}): Queue<T> {
    if (name.includes(":"))
      throw new PermanentError(`creating queue ${name}: queue names must not contain ':'`);
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new BullmqQueue<unknown>(
        this,
        name,
        resolveQueueOptions({ ...this.#defaults, ...options }, 1000),
      );
      this.#queues.set(name, queue);
    }
    return queue as Queue<T>;
  }

  deadLetters(): DeadLetterQueue {
    return this.#deadLetters;
  }

  /** Closes workers gracefully (in-flight jobs finish), then queues, then connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.workers].map((w) => w.close()));
    await Promise.all([...this.#queues.values()].map((q) => q.bull.close()));
    await Promise.all([this.producer, this.#worker].map((r) => (r ? quit(r) : undefined)));
  }
}

async function quit(redis: RedisClient): Promise<void> {
  if (redis.status === "ready") {
    try {
      await redis.quit();
      return;
    } catch {
      // Falls through to a hard disconnect.
    }
  }
  redis.disconnect();
}
