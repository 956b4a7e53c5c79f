/**
 * Device state in Redis (production). Every key lives under `<prefix>:{ds}:`, so the whole state
 * is one hash slot on Redis Cluster (`{ds}` is the hash tag; when the prefix itself carries a tag,
 * such as `{medsoc}`, that one applies) and every script below touches a single slot:
 * - `meta`: hash `{layout, buckets}`: the layout version and the index bucket count B, fixed when
 *   the state is first written (a store opened later with another `indexBuckets` keeps the
 *   stored one);
 * - `n`: the number of devices;
 * - `d:<b>`: hash, device id → the device in the compact encoding of codec.ts (about 300 bytes).
 *   The device id is its key without `dev-`; b = the first hex digits of the id mod B/16;
 * - `i:<b>`: hash, `<kind letter><identifier>` → device id, for the identifier kinds MAC (`m`),
 *   serial (`s`), site|ip|hostname (`h`) and source|vendor id (`v`); b = FNV-1a of the field mod B.
 *   Identifiers longer than 60 bytes are stored as `<kind>#<sha1>`. With the default B = 65,536
 *   a million devices (about five identifiers each) put about 80 entries in a bucket, so buckets
 *   stay compact listpacks (Redis' `hash-max-listpack-entries`, 128 or more); a larger fleet
 *   wants a larger B (set it before the first write);
 * - `c:<fingerprint>`: hash, device id → "" for the devices carrying a credential fingerprint
 *   (the fleet view of shared credentials).
 *
 * A merge reads every identifier of a page and every device it touches in two round trips (one
 * script call each), merges in memory, and commits with one script call that first checks that
 * nothing it read changed (each identifier entry, and each device by SHA-1 of its encoding) and
 * then writes only what changed: optimistic concurrency at the granularity of single devices
 * and identifiers, so two workers conflict only when they merge the same device. A conflict
 * writes nothing and the page is merged again from fresh reads. A device whose encoding did not
 * change is not written, nor are its index entries and fingerprints: a second pull of an
 * unchanged fleet reads and writes nothing. Upserts of one process run one at a time.
 */
import { createHash } from "node:crypto";
import {
  createRedis,
  deleteKeys,
  type RedisClient,
  type RedisClusterConfig,
  resilientRedisOptions,
} from "../../core/redis.ts";
import type { DeviceLookup, DeviceState, DeviceStateStore } from "../../mappings/device-state.ts";
import { DEFAULT_ENRICHMENT, type EnrichmentOptions } from "../../mappings/enrich/options.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import { decodeState, encodeState } from "./codec.ts";
import {
  type CommitChanges,
  type IndexKind,
  indexEntries,
  type StateBackend,
  upsertDocuments,
} from "./core.ts";
import { resolveLookup } from "./lookup.ts";

export interface RedisDeviceStateOptions {
  redisUrl: string;
  /** Key prefix (the queue prefix of the deployment). @defaultValue "medsoc" */
  prefix?: string;
  enrichment?: EnrichmentOptions;
  /** How long a command waits for Redis to come back (`queue.redisGraceMs`). @defaultValue 60000 (ms) */
  graceMs?: number;
  /** A Redis Cluster instead of `redisUrl` (`queue.cluster`): every key shares the hash tag `{ds}`. */
  cluster?: RedisClusterConfig;
  /**
   * Identifier index buckets for a new state (a power of two; an existing state keeps its own).
   * @defaultValue 65536
   */
  indexBuckets?: number;
}

/** Layout version in `meta` (the first Redis layout, `<prefix>:ds:dev:<key>` hashes, had none). */
const LAYOUT = "2";
const DEFAULT_BUCKETS = 65_536;
const KIND_LETTER: Record<IndexKind, string> = { mac: "m", serial: "s", iphost: "h", vendor: "v" };
/** Identifier values this long or longer are stored as a digest (18 bytes). */
const MAX_FIELD_BYTES = 20;
const MAC = /^[0-9A-F]{2}(-[0-9A-F]{2}){5}$/;

/** HGET of many (key, field) pairs in one call. */
const HGET_MANY = `
local out = {}
for i = 1, #KEYS do out[i] = redis.call('HGET', KEYS[i], ARGV[i]) end
return out`;

/**
 * The commit. KEYS: every key read or written (KEYS[1] is the device counter). ARGV, in order:
 * identifier checks (count, then key index, field, expected id or ""), device checks (count,
 * then key index, field, SHA-1 of the encoding read or ""), HSETs (count, then key index, field,
 * value), HDELs (count, then key index, field), the device count delta. Returns 0 (nothing
 * written) when a check fails, else 1.
 */
const COMMIT = `
local a = 1
local function nx() local v = ARGV[a]; a = a + 1; return v end
local function key() local v = KEYS[tonumber(ARGV[a])]; a = a + 1; return v end
local n = tonumber(nx())
for i = 1, n do
  local k = key(); local f = nx(); local e = nx()
  local v = redis.call('HGET', k, f)
  if (v or '') ~= e then return 0 end
end
n = tonumber(nx())
for i = 1, n do
  local k = key(); local f = nx(); local e = nx()
  local v = redis.call('HGET', k, f)
  if v then
    if redis.sha1hex(v) ~= e then return 0 end
  elseif e ~= '' then return 0 end
end
n = tonumber(nx())
for i = 1, n do
  local k = key(); local f = nx()
  redis.call('HSET', k, f, nx())
end
n = tonumber(nx())
for i = 1, n do
  local k = key()
  redis.call('HDEL', k, nx())
end
local delta = tonumber(nx())
if delta ~= 0 then redis.call('INCRBY', KEYS[1], delta) end
return 1`;

type ScriptRedis = RedisClient & {
  hgetMany(n: number, ...args: string[]): Promise<(string | null)[]>;
  hgetManyBuffer(n: number, ...args: string[]): Promise<(Buffer | null)[]>;
  dsCommit(n: number, ...args: (string | Buffer | number)[]): Promise<number>;
};

/** 32-bit FNV-1a of a string's UTF-16 code units. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Device id in Redis: the 80 bits of a `dev-<20 hex>` key in base64url (14 characters); any other
 * key verbatim after `!`.
 */
const DEV_KEY = /^dev-[0-9a-f]{20}$/;
const idOf = (key: string): string =>
  DEV_KEY.test(key) ? Buffer.from(key.slice(4), "hex").toString("base64url") : `!${key}`;
const keyOf = (id: string): string =>
  id.startsWith("!") ? id.slice(1) : `dev-${Buffer.from(id, "base64url").toString("hex")}`;

/** Counters of what the merges did (the bench prints them; tests assert on them). */
export interface RedisDeviceStateStats {
  /** Redis round trips made by upserts (a script call or a pipeline is one). */
  roundTrips: number;
  /** Merge attempts that committed, and those that found nothing to write. */
  commits: number;
  emptyCommits: number;
  /** Commits refused because another writer changed what the merge read. */
  conflicts: number;
  devicesWritten: number;
  devicesUnchanged: number;
  indexWrites: number;
}

/** What one merge attempt read (checked again by the commit). */
interface Reads {
  /** Index key + "\0" + field → id read ("" when absent). */
  index: Map<string, { key: string; field: string; id: string }>;
  /** Device key → the encoding read (null when absent) and its fingerprints. */
  devices: Map<string, { raw: Buffer | null; fingerprints: readonly string[] }>;
  /** Index key and field per identifier (kind + "\0" + value). */
  slots: Map<string, { key: string; field: string }>;
}

export class RedisDeviceStateStore implements DeviceStateStore {
  readonly #redis: ScriptRedis;
  #chain: Promise<void> = Promise.resolve();
  readonly #p: string;
  readonly #options: EnrichmentOptions;
  readonly #wantBuckets: number;
  #buckets: Promise<number> | undefined;
  readonly stats: RedisDeviceStateStats = {
    roundTrips: 0,
    commits: 0,
    emptyCommits: 0,
    conflicts: 0,
    devicesWritten: 0,
    devicesUnchanged: 0,
    indexWrites: 0,
  };

  constructor(options: RedisDeviceStateOptions) {
    this.#redis = createRedis(
      { url: options.redisUrl, cluster: options.cluster },
      resilientRedisOptions("device-state", options.graceMs),
    ) as ScriptRedis;
    // Reconnects are the client's job; without a listener ioredis prints every failed attempt.
    this.#redis.on("error", () => undefined);
    this.#redis.defineCommand("hgetMany", { lua: HGET_MANY });
    this.#redis.defineCommand("dsCommit", { lua: COMMIT });
    this.#p = `${options.prefix ?? "medsoc"}:{ds}:`;
    this.#options = options.enrichment ?? DEFAULT_ENRICHMENT;
    const b = options.indexBuckets ?? DEFAULT_BUCKETS;
    if (!Number.isInteger(b) || b < 16 || (b & (b - 1)) !== 0)
      throw new Error(`indexBuckets must be a power of two ≥ 16, not ${b}`);
    this.#wantBuckets = b;
  }

  /** The index bucket count of this state (fixed by its first writer). */
  #bucketCount(): Promise<number> {
    this.#buckets ??= (async () => {
      const meta = `${this.#p}meta`;
      await this.#redis.hsetnx(meta, "layout", LAYOUT);
      await this.#redis.hsetnx(meta, "buckets", String(this.#wantBuckets));
      const stored = Number(await this.#redis.hget(meta, "buckets"));
      if (!Number.isInteger(stored) || stored < 16 || (stored & (stored - 1)) !== 0)
        throw new Error(`${meta}: bad bucket count ${stored}`);
      return stored;
    })().catch((error) => {
      this.#buckets = undefined;
      throw error;
    });
    return this.#buckets;
  }

  /**
   * The index field of an identifier: the kind letter and the value (a MAC without dashes), or,
   * when that is longer than {@link MAX_FIELD_BYTES}, the kind letter, `#` and 96 bits of the
   * value's SHA-1 (a site|ip|hostname triple is usually that long).
   */
  /** Index key and field of an identifier (memoised per merge attempt in `cache`). */
  #indexSlot(
    kind: IndexKind,
    value: string,
    buckets: number,
    cache?: Map<string, { key: string; field: string }>,
  ): { key: string; field: string } {
    const id = `${kind}\u0000${value}`;
    let slot = cache?.get(id);
    if (!slot) {
      const field = this.#indexField(kind, value);
      slot = { key: this.#indexKey(field, buckets), field };
      cache?.set(id, slot);
    }
    return slot;
  }

  #indexField(kind: IndexKind, value: string): string {
    const letter = KIND_LETTER[kind];
    const v = kind === "mac" && MAC.test(value) ? value.replaceAll("-", "") : value;
    return Buffer.byteLength(v) < MAX_FIELD_BYTES && !v.startsWith("#")
      ? `${letter}${v}`
      : `${letter}#${createHash("sha1").update(value).digest("base64url").slice(0, 16)}`;
  }

  #indexKey(field: string, buckets: number): string {
    return `${this.#p}i:${(fnv1a(field) & (buckets - 1)).toString(36)}`;
  }

  /** The bucket of a device: the first hex digits of its key (FNV-1a of other keys) mod B/16. */
  #deviceKey(key: string, buckets: number): string {
    const b = DEV_KEY.test(key) ? Number.parseInt(key.slice(4, 10), 16) : fnv1a(key);
    return `${this.#p}d:${(b & (buckets / 16 - 1)).toString(36)}`;
  }

  async #lookupAll(
    asks: readonly { kind: IndexKind; values: readonly string[] }[],
    reads?: Reads,
  ): Promise<(string | null)[][]> {
    const buckets = await this.#bucketCount();
    const keys: string[] = [];
    const fields: string[] = [];
    for (const { kind, values } of asks)
      for (const v of values) {
        const slot = this.#indexSlot(kind, v, buckets, reads?.slots);
        fields.push(slot.field);
        keys.push(slot.key);
      }
    if (keys.length === 0) return asks.map(() => []);
    const ids = await this.#redis.hgetMany(keys.length, ...keys, ...fields);
    if (reads) this.stats.roundTrips++;
    let i = 0;
    return asks.map(({ values }) =>
      values.map(() => {
        const id = ids[i];
        const key = keys[i] as string;
        const field = fields[i] as string;
        i++;
        reads?.index.set(`${key}\u0000${field}`, { key, field, id: id ?? "" });
        return id ? keyOf(id) : null;
      }),
    );
  }

  async lookup(kind: IndexKind, values: readonly string[]): Promise<(string | null)[]> {
    const [out] = await this.#lookupAll([{ kind, values }]);
    return out ?? [];
  }

  async #load(keys: readonly string[], reads?: Reads): Promise<(DeviceState | null)[]> {
    if (keys.length === 0) return [];
    const buckets = await this.#bucketCount();
    const ids = keys.map(idOf);
    const raws = await this.#redis.hgetManyBuffer(
      keys.length,
      ...keys.map((key) => this.#deviceKey(key, buckets)),
      ...ids,
    );
    if (reads) this.stats.roundTrips++;
    return keys.map((key, i) => {
      const raw = raws[i] ?? null;
      const state = raw ? decodeState(key, raw) : null;
      reads?.devices.set(key, { raw, fingerprints: [...(state?.exposure?.credentialFingerprints ?? [])] });
      return state;
    });
  }

  load(keys: readonly string[]): Promise<(DeviceState | null)[]> {
    return this.#load(keys);
  }

  async #commit(changes: CommitChanges, reads: Reads): Promise<boolean> {
    const buckets = await this.#bucketCount();
    const keyIndex = new Map<string, number>([[`${this.#p}n`, 1]]);
    const keys = [`${this.#p}n`];
    const k = (key: string): number => {
      let i = keyIndex.get(key);
      if (i === undefined) {
        keys.push(key);
        i = keys.length;
        keyIndex.set(key, i);
      }
      return i;
    };
    const sets: (string | number | Buffer)[] = [];
    const dels: (string | number)[] = [];
    let delta = 0;
    const survivors = new Set(changes.removed.map((r) => r.into));
    for (const r of changes.removed) {
      const id = idOf(r.key);
      dels.push(k(this.#deviceKey(r.key, buckets)), id);
      if (reads.devices.get(r.key)?.raw) delta--;
      for (const fp of r.fingerprints) dels.push(k(`${this.#p}c:${fp}`), id);
    }
    let written = 0;
    let unchanged = 0;
    let indexWrites = 0;
    for (const s of changes.saved) {
      const id = idOf(s.key);
      const before = reads.devices.get(s.key);
      const blob = encodeState(s);
      const same = before?.raw?.equals(blob) === true;
      if (same && !survivors.has(s.key)) {
        unchanged++;
        continue;
      }
      if (!same) {
        sets.push(k(this.#deviceKey(s.key, buckets)), id, blob);
        written++;
        if (!before?.raw) delta++;
      }
      for (const e of indexEntries(s)) {
        const { key, field } = this.#indexSlot(e.kind, e.value, buckets, reads.slots);
        if (reads.index.get(`${key}\u0000${field}`)?.id === id) continue;
        sets.push(k(key), field, id);
        indexWrites++;
      }
      for (const fp of s.exposure?.credentialFingerprints ?? [])
        if (!before?.fingerprints.includes(fp)) sets.push(k(`${this.#p}c:${fp}`), id, "");
    }
    this.stats.devicesUnchanged += unchanged;
    if (sets.length === 0 && dels.length === 0) {
      this.stats.emptyCommits++;
      return true;
    }
    const args: (string | number | Buffer)[] = [reads.index.size];
    for (const r of reads.index.values()) args.push(k(r.key), r.field, r.id);
    args.push(reads.devices.size);
    for (const [key, d] of reads.devices) {
      const id = idOf(key);
      args.push(
        k(this.#deviceKey(key, buckets)),
        id,
        d.raw ? createHash("sha1").update(d.raw).digest("hex") : "",
      );
    }
    args.push(sets.length / 3);
    for (const x of sets) args.push(x);
    args.push(dels.length / 2);
    for (const x of dels) args.push(x);
    args.push(delta);
    const ok = (await this.#redis.dsCommit(keys.length, ...keys, ...args)) === 1;
    this.stats.roundTrips++;
    if (!ok) {
      this.stats.conflicts++;
      return false;
    }
    this.stats.commits++;
    this.stats.devicesWritten += written;
    this.stats.indexWrites += indexWrites;
    return true;
  }

  async fingerprintCount(fingerprint: string): Promise<number> {
    return this.#redis.hlen(`${this.#p}c:${fingerprint}`);
  }

  async #fingerprintCounts(fingerprints: readonly string[]): Promise<number[]> {
    if (fingerprints.length === 0) return [];
    const pipe = this.#redis.pipeline();
    for (const fp of fingerprints) pipe.hlen(`${this.#p}c:${fp}`);
    const results = (await pipe.exec()) ?? [];
    this.stats.roundTrips++;
    return results.map(([error, n]) => {
      if (error) throw error;
      return Number(n);
    });
  }

  upsert(docs: readonly EcsDocument[]): Promise<void> {
    let reads: Reads = { index: new Map(), devices: new Map(), slots: new Map() };
    const backend: StateBackend = {
      begin: () => {
        reads = { index: new Map(), devices: new Map(), slots: new Map() };
      },
      lookup: async (kind, values) => (await this.#lookupAll([{ kind, values }], reads))[0] ?? [],
      lookupAll: (asks) => this.#lookupAll(asks, reads),
      load: (keys) => this.#load(keys, reads),
      commit: (changes) => this.#commit(changes, reads),
      fingerprintCount: (fp) => this.fingerprintCount(fp),
      fingerprintCounts: (fps) => this.#fingerprintCounts(fps),
    };
    const run = this.#chain.then(() => upsertDocuments(backend, docs, this.#options));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async get(key: string): Promise<DeviceState | null> {
    const [state] = await this.#load([key]);
    return state ?? null;
  }

  resolve(lookup: DeviceLookup): Promise<string | null> {
    return resolveLookup({ lookup: (kind, values) => this.lookup(kind, values) }, lookup);
  }

  async *list(): AsyncIterable<DeviceState> {
    const deviceBuckets = (await this.#bucketCount()) / 16;
    const step = 64;
    for (let from = 0; from < deviceBuckets; from += step) {
      const pipe = this.#redis.pipeline();
      for (let b = from; b < Math.min(deviceBuckets, from + step); b++)
        pipe.hgetallBuffer(`${this.#p}d:${b.toString(36)}`);
      for (const [error, hash] of (await pipe.exec()) ?? []) {
        if (error) throw error;
        for (const [id, raw] of Object.entries(hash as Record<string, Buffer>))
          yield decodeState(keyOf(id), raw);
      }
    }
  }

  async count(): Promise<number> {
    return Number((await this.#redis.get(`${this.#p}n`)) ?? 0);
  }

  /** Deletes every key of this state (tests, `medsoc report` scratch state). */
  async clear(): Promise<void> {
    await deleteKeys(this.#redis, `${this.#p}*`);
    this.#buckets = undefined;
  }

  async close(): Promise<void> {
    await this.#chain;
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
