import { backoffDelay } from "../../core/backoff.ts";
import { type BackpressureError, PermanentError, RetryableError } from "../../core/errors.ts";
import type { QueueCounts, QueueOptions } from "./types.ts";

/** Rejects ids BullMQ cannot store (`:` separates its Redis key parts); both drivers apply it. */
export function checkJobId(queue: string, id: string): void {
  if (id.length === 0 || id.includes(":"))
    throw new PermanentError(
      `adding job to queue ${queue}: job id ${JSON.stringify(id)} is empty or contains ':'`,
    );
}

export function resolveQueueOptions(options: QueueOptions, keepCompleted: number): Required<QueueOptions> {
  return {
    attempts: Math.max(1, options.attempts ?? 5),
    backoffMs: options.backoffMs ?? 1000,
    maxBackoffMs: options.maxBackoffMs ?? 60_000,
    keepCompleted: Math.max(0, options.keepCompleted ?? keepCompleted),
  };
}

/**
 * Polls `counts()` until nothing is waiting, delayed or active. Rejects after `timeoutMs`
 * (@defaultValue no limit).
 */
export async function waitUntilDrained(
  queue: { name: string; counts(): Promise<QueueCounts> },
  options: { pollMs?: number; timeoutMs?: number } = {},
): Promise<void> {
  const pollMs = options.pollMs ?? 50;
  const deadline =
    options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
  for (;;) {
    const c = await queue.counts();
    if (c.waiting + c.delayed + c.active === 0) return;
    if (Date.now() >= deadline)
      throw new Error(
        `waiting for queue ${queue.name} to drain: still ${c.waiting} waiting, ${c.delayed} delayed, ${c.active} active after ${options.timeoutMs} ms`,
      );
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** How long a job waits after a {@link BackpressureError}: its Retry-After or the queue's base backoff, jittered. */
export function backpressureDelay(
  error: BackpressureError,
  options: Required<QueueOptions>,
  random: () => number = Math.random,
): number {
  const base = Math.min(options.maxBackoffMs, Math.max(options.backoffMs, error.retryAfterMs ?? 0));
  return backoffDelay(1, { baseMs: base, maxMs: options.maxBackoffMs, floorMs: error.retryAfterMs, random });
}

/** Redis stayed unreachable longer than the configured grace (`queue.redisGraceMs`). */
export class RedisOutageError extends RetryableError {}

/**
 * Runs `fn` (a Redis read of the runtime, such as queue counts), trying again while it fails, for at
 * most `graceMs` from the first failure; then throws {@link RedisOutageError} with a clear message.
 * Permanent errors are thrown at once.
 */
export async function withinRedisGrace<T>(what: string, graceMs: number, fn: () => Promise<T>): Promise<T> {
  let since: number | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof PermanentError) throw error;
      since ??= Date.now();
      if (Date.now() - since >= graceMs)
        throw new RedisOutageError(
          `${what}: redis did not come back within queue.redisGraceMs (${Math.round(graceMs / 1000)} s): ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 100 * attempt)));
    }
  }
}
