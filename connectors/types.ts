/**
 * The connector contract (DESIGN.md, "Contracts"). A connector talks to one monitor's API and
 * returns vendor records untouched; mapping to ECS happens in `mappings/`.
 */

/**
 * Incremental position in one (source, stream). Every vendor filters by time at coarse precision or
 * returns equal timestamps, so the ids already seen at `timestamp` are kept to de-duplicate the next
 * poll, which queries with an inclusive lower bound.
 */
export interface Cursor {
  /** ISO-8601 UTC of the newest record handed on, or null before the first poll. */
  timestamp: string | null;
  /** Vendor ids of the records already handed on whose timestamp equals `timestamp`. */
  idsAtTimestamp: string[];
}

/** One page of raw vendor records and the cursor to store once the page is durably enqueued. */
export interface Page<R = unknown> {
  records: R[];
  cursor: Cursor;
}

export interface PollOptions {
  /** Stop between pages (shutdown). */
  signal?: AbortSignal;
  /** Records per request. @defaultValue the connector's configured page size */
  pageSize?: number;
}

/** A monitor connector. Registered through its monitor definition (`monitors/<id>/index.ts`). */
export interface Connector {
  /** Source id, part of the CLI contract (`armis`, `claroty_xdome`, …). */
  readonly source: string;
  /** Stream names, part of the CLI contract. */
  readonly streams: readonly string[];
  /**
   * Yields pages of raw records newer than `cursor` (inclusive lower bound, boundary ids dropped)
   * until the stream is exhausted. Errors are typed (`core/errors.ts`): `AuthError` after one forced
   * re-auth, `RateLimitedError`/`RetryableError` after the client's own bounded retries,
   * `PermanentError` for other 4xx.
   */
  poll(stream: string, cursor: Cursor | null, options?: PollOptions): AsyncIterable<Page>;
  /** Checks the credentials (one token request). */
  validate(): Promise<void>;
  /** Releases sockets. */
  close(): Promise<void>;
}

export const EMPTY_CURSOR: Cursor = Object.freeze({ timestamp: null, idsAtTimestamp: [] }) as Cursor;
