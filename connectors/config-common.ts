/**
 * Config schema pieces every pull connector's `config.ts` shares (the retry policy, its URL and
 * number rules), so a fix to one rule reaches every connector. Secrets and TLS are in
 * `core/config-fields.ts`, shared with the sinks.
 */
import { z } from "zod";

/** A positive whole number, at most `max` when given. */
export const positiveInt = (max?: number) => {
  const base = z.number().int().positive();
  return max === undefined ? base : base.max(max);
};

/** The vendor API's base URL: http or https only. */
export const httpUrlSchema = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

/** The `retry` block of a connector config: the policy `connectors/http.ts` applies to every request. */
export const connectorRetrySchema = z
  .strictObject({
    /** Attempts per request for 429, 5xx, non-JSON bodies and network errors, the first included. @defaultValue 5 */
    maxAttempts: positiveInt(20).default(5),
    /** Backoff base in milliseconds (exponential, equal jitter). @defaultValue 500 */
    baseDelayMs: z.number().int().nonnegative().default(500),
    /** Cap of one backoff wait, in milliseconds. @defaultValue 30000 */
    maxDelayMs: z.number().int().nonnegative().default(30_000),
    /** Longest Retry-After waited inline, in milliseconds; longer ones end the poll with `RateLimitedError`. @defaultValue 120000 */
    maxRetryAfterMs: z.number().int().nonnegative().default(120_000),
  })
  .describe("retry policy");
