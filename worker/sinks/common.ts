import { z } from "zod";
import { BackpressureError, ConfigError, PermanentError, RetryableError } from "../../core/errors.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import type { SinkResult } from "./types.ts";

/** An http(s) URL without credentials in it (credentials belong in `auth`, where they are redacted). */
export const serviceUrlSchema = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//i.test(u), "must be an http:// or https:// URL")
  .refine((u) => {
    try {
      const parsed = new URL(u);
      return parsed.username === "" && parsed.password === "";
    } catch {
      return false;
    }
  }, "must not contain credentials; use the auth settings");

/** Parses a sink config with its schema, reporting every problem at once under `sinks.<name>`. */
export function parseSinkConfig<S extends z.ZodType>(schema: S, raw: unknown, name: string): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => ({
      path: ["sinks", name, ...issue.path.map(String)].join("."),
      message: issue.message,
    })),
    `sinks.${name}`,
  );
}

/** What a failed `write` had already done, so a caller can resend only `remaining`. */
export interface PartialWrite {
  /** Documents settled before the failure (delivered, duplicates, dead-lettered). */
  result: SinkResult;
  /** Documents neither delivered nor dead-lettered: exactly what a retry must resend. */
  remaining: EcsDocument[];
}

/**
 * The destination is unavailable (network, 5xx, busy) after the sink's own bounded retries.
 * `partial` tells what already went through, so accounting stays exact and, where the caller can,
 * only `partial.remaining` is resent.
 */
export class SinkRetryableError extends RetryableError {
  readonly partial: PartialWrite;
  constructor(message: string, partial: PartialWrite, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    this.partial = partial;
  }
}

/**
 * The destination is busy or down (whole-request 429, HEC server busy, 5xx or network errors that
 * outlasted the sink's own retries, items still answered 429): nothing is wrong with the documents.
 * The queue waits and tries `partial.remaining` again without spending a job attempt.
 */
export class SinkBackpressureError extends BackpressureError {
  readonly partial: PartialWrite;
  constructor(message: string, partial: PartialWrite, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    this.partial = partial;
  }
}

/** The destination refused the configuration (credentials, endpoint, permissions): retrying will not help. */
export class SinkPermanentError extends PermanentError {
  readonly partial: PartialWrite;
  constructor(message: string, partial: PartialWrite, options?: { cause?: unknown }) {
    super(message, options);
    this.partial = partial;
  }
}

/** The partial outcome carried by a sink error, if any. */
export function partialWriteOf(error: unknown): PartialWrite | undefined {
  if (
    error instanceof SinkRetryableError ||
    error instanceof SinkBackpressureError ||
    error instanceof SinkPermanentError
  )
    return error.partial;
  return undefined;
}

/** Data stream dataset and namespace parts: lower case, no `-` (it separates the parts), ≤ 100 bytes. */
export const dataStreamPart = /^[a-z0-9_.]{1,100}$/;

/** Returns the document's deterministic id, or undefined when the mapping did not set one. */
export function docIdOf(doc: EcsDocument): string | undefined {
  const id = (doc as { medsoc?: { doc_id?: unknown } }).medsoc?.doc_id;
  return typeof id === "string" && id.length > 0 ? id : undefined;
}

/** An empty result. */
export function emptyResult(): SinkResult {
  return { delivered: 0, duplicates: 0, deadLettered: [] };
}
