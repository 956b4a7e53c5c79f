import type { Cursor } from "../../connectors/types.ts";
import { PermanentError, RetryableError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import {
  createRedis,
  type RedisClient,
  type RedisClusterConfig,
  resilientRedisOptions,
} from "../../core/redis.ts";
import type { CursorStore } from "./types.ts";

/** Options of the Redis cursor store. */
export interface RedisCursorStoreOptions {
  /** `redis://host:port[/db]` (or `rediss://` for TLS). */
  redisUrl: string;
  /** A Redis Cluster instead of `redisUrl` (`queue.cluster`); each cursor is one key, so no hash tag. */
  cluster?: RedisClusterConfig;
  /**
   * Key namespace: one key per (source, stream), `<prefix>:cursor:<source>:<stream>`, holding the
   * cursor as JSON. No expiry: a cursor lives until `delete` (`medsoc reset`).
   * @defaultValue "medsoc"
   */
  prefix?: string;
  /** @defaultValue `silentLogger` */
  log?: Logger;
  /** How long a command waits for Redis to come back (`queue.redisGraceMs`). @defaultValue 60000 (ms) */
  graceMs?: number;
}

/** Cursors in Redis, shared by every worker process; they survive restarts. */
export class RedisCursorStore implements CursorStore {
  readonly prefix: string;
  readonly #redis: RedisClient;

  constructor(options: RedisCursorStoreOptions) {
    this.prefix = options.prefix ?? "medsoc";
    const log = options.log ?? silentLogger;
    // A command waits for Redis to come back, up to the grace; then it fails (and the poll job that
    // called it is retried by the queue with backoff) instead of hanging.
    this.#redis = createRedis(
      { url: options.redisUrl, cluster: options.cluster },
      resilientRedisOptions("cursors", options.graceMs),
    );
    let reported = false;
    this.#redis.on("error", (err: Error) => {
      if (!reported) log.warn({ err }, "Cursor store lost its Redis connection; reconnecting.");
      reported = true;
    });
    this.#redis.on("ready", () => {
      reported = false;
    });
  }

  /** The Redis key of one (source, stream). */
  key(source: string, stream: string): string {
    return `${this.prefix}:cursor:${source}:${stream}`;
  }

  async get(source: string, stream: string): Promise<Cursor | null> {
    const context = `reading cursor of ${source}/${stream}`;
    let raw: string | null;
    try {
      raw = await this.#redis.get(this.key(source, stream));
    } catch (error) {
      throw new RetryableError(`${context}: ${message(error)}`, { cause: error });
    }
    if (raw === null) return null;
    return parseCursor(raw, context);
  }

  async set(source: string, stream: string, cursor: Cursor): Promise<void> {
    const value = JSON.stringify({ timestamp: cursor.timestamp, idsAtTimestamp: cursor.idsAtTimestamp });
    try {
      await this.#redis.set(this.key(source, stream), value);
    } catch (error) {
      throw new RetryableError(`saving cursor of ${source}/${stream}: ${message(error)}`, { cause: error });
    }
  }

  async delete(source: string, stream: string): Promise<void> {
    try {
      await this.#redis.del(this.key(source, stream));
    } catch (error) {
      throw new RetryableError(`deleting cursor of ${source}/${stream}: ${message(error)}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    if (this.#redis.status === "ready") {
      try {
        await this.#redis.quit();
        return;
      } catch {
        // Falls through to a hard disconnect.
      }
    }
    this.#redis.disconnect();
  }
}

function parseCursor(raw: string, context: string): Cursor {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new PermanentError(`${context}: stored value is not JSON: ${message(error)}`, { cause: error });
  }
  const v = value as Partial<Cursor> | null;
  if (
    typeof v !== "object" ||
    v === null ||
    !(v.timestamp === null || typeof v.timestamp === "string") ||
    !Array.isArray(v.idsAtTimestamp) ||
    !v.idsAtTimestamp.every((id) => typeof id === "string")
  )
    throw new PermanentError(`${context}: stored value is not a cursor {timestamp, idsAtTimestamp}`);
  return { timestamp: v.timestamp, idsAtTimestamp: v.idsAtTimestamp };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
