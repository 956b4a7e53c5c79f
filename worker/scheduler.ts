import { createTask, type ScheduledTask, validate } from "node-cron";
import { ConfigError, type ConfigProblem } from "../core/errors.ts";
import { type Logger, silentLogger } from "../core/log.ts";
import type { Queue } from "./queue/types.ts";

/** Enqueued by the scheduler: poll one (source, stream) from its cursor until exhausted. */
export interface PollJob {
  source: string;
  stream: string;
  /** The tick's slot (`slotFor`), part of the job id. */
  slot: string;
}

/** When to poll one (source, stream). */
export interface PollSchedule {
  /** Source instance name (`armis`). */
  source: string;
  /** Stream name (`device`). */
  stream: string;
  /**
   * node-cron expression, 5 fields (minute precision) or 6 with seconds first:
   * `"*\/5 * * * *"` every five minutes, `"*\/30 * * * * *"` every thirty seconds.
   */
  cron: string;
  /**
   * Slot width in seconds, normally the cron's period (300 for `"*\/5 * * * *"`). Every tick in the
   * same slot, from any number of replicas, enqueues the same job id, so a (source, stream) is
   * polled once per slot however many schedulers run.
   */
  intervalSeconds: number;
}

export interface SchedulerOptions {
  /** Name of the enqueued jobs. @defaultValue "poll" */
  jobName?: string;
  /** IANA time zone the cron expressions are read in. Slots are always UTC. @defaultValue the process's zone */
  timezone?: string;
  /** @defaultValue `silentLogger` */
  log?: Logger;
}

/**
 * The scheduled time truncated to the slot width, in UTC, as `YYYYMMDDTHHMM` when the width is whole
 * minutes and `YYYYMMDDTHHMMSS` otherwise (no `:`, so it can be part of a BullMQ job id). Slots are
 * aligned to the Unix epoch: a 300 s slot starts at :00, :05, :10, ….
 */
export function slotFor(date: Date, intervalSeconds: number): string {
  if (!Number.isFinite(intervalSeconds) || intervalSeconds <= 0)
    throw new RangeError(
      `computing poll slot: interval must be a positive number of seconds, got ${intervalSeconds}`,
    );
  const width = Math.round(intervalSeconds * 1000);
  const start = new Date(Math.floor(date.getTime() / width) * width);
  const iso = start.toISOString(); // 2026-11-28T15:05:07.000Z
  const minutes = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}`;
  return width % 60_000 === 0 ? minutes : `${minutes}${iso.slice(17, 19)}`;
}

/** The deterministic id of one poll: `poll-<source>-<stream>-<slot>`. */
export function pollJobId(source: string, stream: string, slot: string): string {
  const id = `poll-${source}-${stream}-${slot}`;
  if (id.includes(":")) throw new RangeError(`building poll job id ${id}: ':' is not allowed in job ids`);
  return id;
}

/**
 * Cron ticks that only enqueue poll jobs (STYLE house rule 6). Every replica may run a scheduler:
 * the job id is deterministic per (source, stream, slot), so the queue keeps one job per slot and
 * the poll runs once, on whichever worker takes it.
 */
export class Scheduler {
  readonly #queue: Queue<PollJob>;
  readonly #schedules: readonly PollSchedule[];
  readonly #jobName: string;
  readonly #timezone: string | undefined;
  readonly #log: Logger;
  #tasks: ScheduledTask[] = [];

  /** @throws ConfigError listing every invalid cron expression or interval at once. */
  constructor(queue: Queue<PollJob>, schedules: readonly PollSchedule[], options: SchedulerOptions = {}) {
    const problems: ConfigProblem[] = [];
    schedules.forEach((s, i) => {
      if (!validate(s.cron))
        problems.push({ path: `schedules[${i}].cron`, message: `invalid cron expression "${s.cron}"` });
      if (!Number.isFinite(s.intervalSeconds) || s.intervalSeconds <= 0)
        problems.push({
          path: `schedules[${i}].intervalSeconds`,
          message: "must be a positive number of seconds",
        });
      try {
        pollJobId(s.source, s.stream, "x");
      } catch {
        problems.push({ path: `schedules[${i}]`, message: "source and stream must not contain ':'" });
      }
    });
    if (problems.length > 0) throw new ConfigError(problems, "scheduler");
    this.#queue = queue;
    this.#schedules = schedules;
    this.#jobName = options.jobName ?? "poll";
    this.#timezone = options.timezone;
    this.#log = options.log ?? silentLogger;
  }

  /** Starts one cron task per schedule. Calling it twice is a no-op. */
  start(): void {
    if (this.#tasks.length > 0) return;
    const logger = cronLogger(this.#log);
    this.#tasks = this.#schedules.map((schedule) => {
      const task = createTask(
        schedule.cron,
        (context) => this.tick(schedule, context.date).then(() => undefined),
        {
          name: `poll-${schedule.source}-${schedule.stream}`,
          timezone: this.#timezone,
          logger,
        },
      );
      void task.start();
      return task;
    });
    this.#log.info({ schedules: this.#schedules.length }, "Scheduler started.");
  }

  /** Stops every task. Enqueues already under way still complete. */
  async stop(): Promise<void> {
    const tasks = this.#tasks;
    this.#tasks = [];
    await Promise.allSettled(tasks.map((t) => t.destroy()));
    if (tasks.length > 0) this.#log.info({}, "Scheduler stopped.");
  }

  /**
   * What one tick does: enqueue the poll job of `schedule` for the slot of `date` (the tick's
   * scheduled time). Never throws: a failed enqueue is logged and the next tick tries again.
   * Returns the job id, or undefined when enqueueing failed.
   */
  async tick(schedule: PollSchedule, date: Date): Promise<string | undefined> {
    const slot = slotFor(date, schedule.intervalSeconds);
    const jobId = pollJobId(schedule.source, schedule.stream, slot);
    try {
      await this.#queue.add(
        this.#jobName,
        { source: schedule.source, stream: schedule.stream, slot },
        { jobId },
      );
      this.#log.debug({ source: schedule.source, stream: schedule.stream, slot, jobId }, "Poll enqueued.");
      return jobId;
    } catch (error) {
      this.#log.warn(
        { source: schedule.source, stream: schedule.stream, slot, err: error },
        "Could not enqueue a scheduled poll; the next tick will try again.",
      );
      return undefined;
    }
  }
}

/** node-cron's own warnings (missed executions) as structured log lines. */
function cronLogger(log: Logger) {
  return {
    info: (message: string) => log.debug({ component: "node-cron" }, message),
    warn: (message: string) => log.warn({ component: "node-cron" }, message),
    error: (message: string | Error, err?: Error) =>
      log.error(
        { component: "node-cron", err: err ?? message },
        typeof message === "string" ? message : "Cron task failed.",
      ),
    debug: (message: string | Error) => log.debug({ component: "node-cron" }, String(message)),
  };
}
