/**
 * Device state in Redis (production). Layout under `<prefix>:ds:`:
 * - `dev:<key>`: a hash per device (`identifiers`, `facts`, `exposure`, `conflicts` as JSON,
 *   `updatedAt`);
 * - `idx:<kind>:<identifier>` (kinds `mac`, `serial`, `iphost`, `vendor`): identifier → device key,
 *   one key per identifier so a merge can WATCH exactly the identifiers it resolves;
 * - `devices`: the set of device keys (count and listing);
 * - `cred:<fingerprint>`: the set of devices carrying a credential fingerprint (the fleet view).
 *
 * Merges are optimistic transactions on a connection of their own: every identifier resolved and
 * every device read is WATCHed,
 * the batch is written in one MULTI/EXEC, and when another worker changed one of those devices in
 * between, EXEC aborts and the batch is merged again from fresh reads. Upserts of one process run
 * one at a time (they share that connection).
 */
import {
  createRedis,
  keyGroup,
  type RedisClient as Redis,
  type RedisClusterConfig,
  resilientRedisOptions,
} from "../../core/redis.ts";
import { DEFAULT_ENRICHMENT, type EnrichmentOptions } from "../../mappings/enrich/options.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import { type IndexKind, indexEntries, type StateBackend, upsertDocuments } from "./core.ts";
import { resolveLookup } from "./lookup.ts";
import type { DeviceLookup, DeviceState, DeviceStateStore } from "./types.ts";

export interface RedisDeviceStateOptions {
  redisUrl: string;
  /** A Redis Cluster instead of `redisUrl` (`queue.cluster`): the keys share the hash tag `{ds}`. */
  cluster?: RedisClusterConfig;
  /** Key prefix (the queue prefix of the deployment). @defaultValue "medsoc" */
  prefix?: string;
  enrichment?: EnrichmentOptions;
  /** How long a command waits for Redis to come back (`queue.redisGraceMs`). @defaultValue 60000 (ms) */
  graceMs?: number;
}

export class RedisDeviceStateStore implements DeviceStateStore {
  readonly #redis: Redis;
  /** The connection merges WATCH and MULTI on (WATCH is per connection). */
  readonly #tx: Redis;
  #chain: Promise<void> = Promise.resolve();
  readonly #p: string;
  readonly #options: EnrichmentOptions;

  constructor(options: RedisDeviceStateOptions) {
    this.#redis = createRedis(
      { url: options.redisUrl, cluster: options.cluster },
      resilientRedisOptions("device-state", options.graceMs),
    );
    this.#tx = this.#redis.duplicate();
    // Reconnects are the client's job; without a listener ioredis prints every failed attempt.
    for (const r of [this.#redis, this.#tx]) r.on("error", () => undefined);
    this.#p = `${keyGroup(this.#redis, options.prefix ?? "medsoc", "ds")}:`;
    this.#options = options.enrichment ?? DEFAULT_ENRICHMENT;
  }

  async lookup(
    kind: IndexKind,
    values: readonly string[],
    conn: Redis = this.#redis,
    watch = false,
  ): Promise<(string | null)[]> {
    if (values.length === 0) return [];
    const keys = values.map((v) => `${this.#p}idx:${kind}:${v}`);
    if (watch) await conn.watch(...keys);
    return conn.mget(...keys);
  }

  async load(
    keys: readonly string[],
    conn: Redis = this.#redis,
    watch = false,
  ): Promise<(DeviceState | null)[]> {
    if (keys.length === 0) return [];
    if (watch) await conn.watch(...keys.map((k) => `${this.#p}dev:${k}`));
    const pipe = conn.pipeline();
    for (const k of keys) pipe.hgetall(`${this.#p}dev:${k}`);
    const results = (await pipe.exec()) ?? [];
    return results.map(([error, value], i) => {
      if (error) throw error;
      const h = value as Record<string, string>;
      if (!h || h.identifiers === undefined) return null;
      const state: DeviceState = {
        key: keys[i] as string,
        identifiers: JSON.parse(h.identifiers),
        facts: JSON.parse(h.facts ?? "{}"),
        conflicts: JSON.parse(h.conflicts ?? "[]"),
        updatedAt: h.updatedAt ?? "",
      };
      if (h.exposure !== undefined) state.exposure = JSON.parse(h.exposure);
      return state;
    });
  }

  async #commit(changes: {
    saved: DeviceState[];
    removed: { key: string; fingerprints: string[] }[];
  }): Promise<boolean> {
    const multi = this.#tx.multi();
    for (const r of changes.removed) {
      multi.del(`${this.#p}dev:${r.key}`);
      multi.srem(`${this.#p}devices`, r.key);
      for (const fp of r.fingerprints) multi.srem(`${this.#p}cred:${fp}`, r.key);
    }
    for (const s of changes.saved) {
      const fields: Record<string, string> = {
        identifiers: JSON.stringify(s.identifiers),
        facts: JSON.stringify(s.facts),
        conflicts: JSON.stringify(s.conflicts),
        updatedAt: s.updatedAt,
      };
      if (s.exposure) fields.exposure = JSON.stringify(s.exposure);
      multi.hset(`${this.#p}dev:${s.key}`, fields);
      multi.sadd(`${this.#p}devices`, s.key);
      const pairs: string[] = [];
      for (const e of indexEntries(s)) pairs.push(`${this.#p}idx:${e.kind}:${e.value}`, s.key);
      if (pairs.length > 0) multi.mset(...pairs);
      for (const fp of s.exposure?.credentialFingerprints ?? []) multi.sadd(`${this.#p}cred:${fp}`, s.key);
    }
    // null: a WATCHed device changed since it was read; nothing was written.
    return (await multi.exec()) !== null;
  }

  async fingerprintCount(fingerprint: string): Promise<number> {
    return this.#redis.scard(`${this.#p}cred:${fingerprint}`);
  }

  upsert(docs: readonly EcsDocument[]): Promise<void> {
    const tx = this.#tx;
    const backend: StateBackend = {
      lookup: (kind, values) => this.lookup(kind, values, tx, true),
      load: (keys) => this.load(keys, tx, true),
      created: async (key) => {
        await tx.watch(`${this.#p}dev:${key}`);
      },
      commit: (changes) => this.#commit(changes),
      fingerprintCount: (fp) => this.fingerprintCount(fp),
    };
    const run = this.#chain.then(async () => {
      try {
        await upsertDocuments(backend, docs, this.#options);
      } finally {
        await tx.unwatch().catch(() => undefined);
      }
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async get(key: string): Promise<DeviceState | null> {
    const [state] = await this.load([key]);
    return state ?? null;
  }

  resolve(lookup: DeviceLookup): Promise<string | null> {
    return resolveLookup({ lookup: (kind, values) => this.lookup(kind, values) }, lookup);
  }

  async *list(): AsyncIterable<DeviceState> {
    let cursor = "0";
    do {
      const [next, keys] = await this.#redis.sscan(`${this.#p}devices`, cursor, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) for (const s of await this.load(keys)) if (s) yield s;
    } while (cursor !== "0");
  }

  async count(): Promise<number> {
    return this.#redis.scard(`${this.#p}devices`);
  }

  /** Deletes every key of this state (tests, `medsoc report` scratch state). */
  async clear(): Promise<void> {
    let cursor = "0";
    do {
      const [next, keys] = await this.#redis.scan(cursor, "MATCH", `${this.#p}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await this.#redis.del(...keys);
    } while (cursor !== "0");
  }

  async close(): Promise<void> {
    await this.#chain;
    await this.#tx.quit().catch(() => this.#tx.disconnect());
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
