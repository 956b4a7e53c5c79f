/**
 * The delivery ledger: which document ids a non-idempotent destination (Splunk HEC, which indexes
 * whatever it is sent) has already accepted, so that a re-delivery — a job retried after a crash, a
 * re-poll from an older cursor, a dead-letter replay run twice — sends nothing twice. Elasticsearch
 * needs none: `create` with the deterministic `_id` answers 409.
 *
 * Ids are recorded only after the destination accepted them (HEC 200, or the indexer ack when
 * `useAck`). One window remains: a worker killed between the destination's answer and the record
 * resends that batch once (at-least-once); `fields.event_id` lets a search `dedup` it.
 */
import {
  createRedis,
  keyGroup,
  type RedisClient,
  type RedisClusterConfig,
  resilientRedisOptions,
} from "../../core/redis.ts";

export interface DeliveryLedger {
  /** The ids among `ids` already delivered to `sink`. */
  delivered(sink: string, ids: readonly string[]): Promise<Set<string>>;
  /** Records `ids` as delivered to `sink`. */
  record(sink: string, ids: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** The embedded default's ledger: one process, the newest `maxIds` ids per sink. */
export class MemoryDeliveryLedger implements DeliveryLedger {
  readonly #ids = new Map<string, Set<string>>();
  readonly #max: number;

  /** @param maxIds ids kept per sink, oldest forgotten first. @defaultValue 1000000 */
  constructor(maxIds = 1_000_000) {
    this.#max = maxIds;
  }

  async delivered(sink: string, ids: readonly string[]): Promise<Set<string>> {
    const known = this.#ids.get(sink);
    return new Set(known ? ids.filter((id) => known.has(id)) : []);
  }

  async record(sink: string, ids: readonly string[]): Promise<void> {
    let known = this.#ids.get(sink);
    if (!known) {
      known = new Set();
      this.#ids.set(sink, known);
    }
    for (const id of ids) known.add(id);
    for (const id of known) {
      if (known.size <= this.#max) break;
      known.delete(id);
    }
  }

  async close(): Promise<void> {}
}

export interface RedisDeliveryLedgerOptions {
  redisUrl: string;
  /** A Redis Cluster instead of `redisUrl` (`queue.cluster`); the buckets then share the hash tag `{delivered}`. */
  cluster?: RedisClusterConfig;
  /** Key namespace (the queue prefix). @defaultValue "medsoc" */
  prefix?: string;
  /** How long a delivered id is remembered. @defaultValue 86400000 (ms, 24 h) */
  ttlMs?: number;
  /** Ids are kept in one set per bucket of this length, each expiring as a whole. @defaultValue 3600000 (ms) */
  bucketMs?: number;
  /** How long a command waits for a restarting Redis. @defaultValue 60000 (ms) */
  graceMs?: number;
  /** Clock (tests). @defaultValue Date.now */
  now?: () => number;
}

/**
 * The ledger in Redis, shared by every worker: sets `<prefix>:delivered:<sink>:<bucket>` of ids, one
 * per hour by default, each expiring `ttlMs` after its hour; a lookup asks every live bucket in one
 * round trip (SMISMEMBER). Memory: about 100 bytes per delivered document while remembered.
 */
export class RedisDeliveryLedger implements DeliveryLedger {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #bucketMs: number;
  readonly #now: () => number;

  constructor(options: RedisDeliveryLedgerOptions) {
    this.#redis = createRedis(
      { url: options.redisUrl, cluster: options.cluster },
      resilientRedisOptions("ledger", options.graceMs),
    );
    this.#redis.on("error", () => undefined);
    // One pipeline reads every bucket: on a cluster they share the `{delivered}` hash tag.
    this.#prefix = keyGroup(this.#redis, options.prefix ?? "medsoc", "delivered");
    this.#ttlMs = options.ttlMs ?? 86_400_000;
    this.#bucketMs = options.bucketMs ?? 3_600_000;
    this.#now = options.now ?? Date.now;
  }

  #key(sink: string, bucket: number): string {
    return `${this.#prefix}:${sink}:${bucket}`;
  }

  async delivered(sink: string, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const newest = Math.floor(this.#now() / this.#bucketMs);
    const oldest = Math.floor((this.#now() - this.#ttlMs) / this.#bucketMs);
    const pipeline = this.#redis.pipeline();
    for (let b = oldest; b <= newest; b++) pipeline.smismember(this.#key(sink, b), ...ids);
    const replies = (await pipeline.exec()) ?? [];
    const found = new Set<string>();
    for (const [error, flags] of replies) {
      if (error) throw error;
      (flags as number[]).forEach((flag, i) => {
        if (flag === 1) found.add(ids[i] as string);
      });
    }
    return found;
  }

  async record(sink: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const bucket = Math.floor(this.#now() / this.#bucketMs);
    const key = this.#key(sink, bucket);
    const expireAt = Math.ceil(((bucket + 1) * this.#bucketMs + this.#ttlMs) / 1000);
    await this.#redis
      .multi()
      .sadd(key, ...ids)
      .expireat(key, expireAt)
      .exec();
  }

  async close(): Promise<void> {
    try {
      await this.#redis.quit();
    } catch {
      this.#redis.disconnect();
    }
  }
}
