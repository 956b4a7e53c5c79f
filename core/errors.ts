/**
 * Errors carry their retry meaning in their type (STYLE house rule 4): a worker never guesses
 * whether something can succeed on retry.
 */

/** Base class of every error medsoc raises on purpose. */
export class MedsocError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Will fail again on retry (bad input, 4xx other than 401/408/429, invalid config). Goes to the dead-letter queue. */
export class PermanentError extends MedsocError {}

/** May succeed on retry (5xx, network error, timeout). `retryAfterMs` is a lower bound for the next attempt. */
export class RetryableError extends MedsocError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** HTTP 429 or an equivalent "slow down": retry no earlier than `retryAfterMs`. */
export class RateLimitedError extends RetryableError {}

/**
 * The destination is busy or unreachable (whole-request 429, HEC server busy, 5xx, network) and
 * nothing in the batch is wrong: the queue waits and runs the job again WITHOUT spending one of its
 * attempts, for as long as the outage lasts (bounded memory comes from the queues' backpressure
 * upstream). Only failures of the work itself spend attempts and end in the dead-letter queue.
 */
export class BackpressureError extends RateLimitedError {}

/** Credentials were refused even after a forced re-authentication. Permanent until an operator acts. */
export class AuthError extends PermanentError {}

/** One problem in a configuration file, with the path of the offending key. */
export interface ConfigProblem {
  path: string;
  message: string;
}

/** An invalid configuration: every problem at once, each with its path. */
export class ConfigError extends PermanentError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[], source = "config") {
    super(
      `${source}: ${problems.length} problem(s): ${problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`,
    );
    this.problems = problems;
  }
}

/** True when a retry can succeed. Unknown errors (bugs, network failures without a class) count as retryable. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof PermanentError) return false;
  return true;
}

/** Wraps an error with lowercase context, keeping the original as `cause` and its retry class. */
export function wrapError(context: string, error: unknown): Error {
  const message = `${context}: ${error instanceof Error ? error.message : String(error)}`;
  if (error instanceof BackpressureError)
    return new BackpressureError(message, { cause: error, retryAfterMs: error.retryAfterMs });
  if (error instanceof RateLimitedError)
    return new RateLimitedError(message, { cause: error, retryAfterMs: error.retryAfterMs });
  if (error instanceof RetryableError)
    return new RetryableError(message, { cause: error, retryAfterMs: error.retryAfterMs });
  if (error instanceof AuthError) return new AuthError(message, { cause: error });
  if (error instanceof PermanentError) return new PermanentError(message, { cause: error });
  return new RetryableError(message, { cause: error });
}
