/**
 * Durable run state: runs, approvals and the guards (device locks, blast-radius counter, kill
 * switch). Redis in production (every worker process sees the same runs), memory in the embedded
 * default. Only the job of a run's current step writes the run, so a plain JSON value per run is enough;
 * the contended transitions (device lock, approval decision, blast-radius reservation) are atomic
 * (`SET NX`, one Lua script shared by every replica). Device locks and run leases expire unless the
 * run keeps renewing them (docs/playbooks-safety.md).
 */
import { Redis } from "ioredis";
import { deleteKeys, keyGroup, type RedisClient } from "../../core/redis.ts";
import type { DeviceInfo, Verification } from "../actions/types.ts";

export type RunStatus =
  | "running"
  | "waiting_approval"
  | "paused"
  | "succeeded"
  | "failed"
  | "denied"
  | "rejected";

export const TERMINAL: ReadonlySet<RunStatus> = new Set(["succeeded", "failed", "denied", "rejected"]);

export type StepStatus = "pending" | "running" | "completed" | "skipped" | "failed" | "waiting";

export interface StepState {
  status: StepStatus;
  /** Attempts started (a crash mid-attempt leaves it counted). */
  attempts: number;
  input?: unknown;
  output?: unknown;
  verification?: Verification;
  error?: string;
  startedAt?: string;
  finishedAt?: string;
  /** Undone by a compensation. */
  undone?: boolean;
  /** Undo attempts made so far (retried through the queue's delay). */
  undoAttempts?: number;
  approvalId?: string;
  /** Approvals this step has asked for so far (their ids are derived from it: a retry reuses the id). */
  approvalSeq?: number;
  /** What the engine's safety gate decided for this step (clinical gate, blast radius). */
  gate?: StepGate;
}

/** The engine's gate record of one device-touching step (playbooks/engine/guards.ts). */
export interface StepGate {
  /** `containment:full`, `containment:restricted` or `credential`. */
  effect: string;
  /** Device keys the step touches, with their clinical state as re-read right before the step. */
  targets: { key: string; state: string; reasons: string[]; clinicalServers: number }[];
  /** The approval the step waits for: which guard asked. */
  pending?: "clinical" | "blast";
  /** Devices clinical engineering did not approve: left out of the step (reported, never touched). */
  skipped?: string[];
  /** Devices whose blast-radius capacity this step reserved (or that an approval covered). */
  reserved?: string[];
}

export type Phase = "main" | "compensate" | "finally";

export interface RunState {
  id: string;
  playbookId: string;
  deviceKey?: string;
  device?: DeviceInfo;
  inputs: Record<string, unknown>;
  trigger: { kind: string; id?: string; detail?: unknown };
  dryRun: boolean;
  status: RunStatus;
  /** Where the run is: the phase and the index of the step to run next. */
  phase: Phase;
  index: number;
  steps: Record<string, StepState>;
  /** Ids of completed steps marked `compensate`, in completion order. */
  compensations: string[];
  /** The outcome before `finally` ran: succeeded, failed or denied. */
  outcome?: "succeeded" | "failed" | "denied";
  error?: string;
  /** Blast-radius approval already granted for this run's containments. */
  containmentApproved?: boolean;
  /** Legacy (runs saved before per-device reservation): this run's containment was counted. */
  containmentCounted?: boolean;
  /** Devices whose blast-radius capacity this run reserved (per device, however many enforcement points). */
  reservedDevices?: string[];
  /** `containment:<device>` / `credential:<device>` → the clinical engineering approval (recorded before the change). */
  clinicalApprovals?: Record<string, string>;
  /** `containment:<device>` / `credential:<device>` refused or unanswered: later steps leave them out. */
  clinicalDenied?: Record<string, string>;
  /** Containment steps kept (verified, lower level) when a later, stronger step failed. */
  containmentKept?: string[];
  /** The kept containment was re-verified (and re-applied where needed) after the compensations. */
  containmentRestored?: boolean;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
}

export interface ApprovalRecord {
  id: string;
  runId: string;
  stepId: string;
  playbookId: string;
  deviceKey?: string;
  /** Role that may decide (`clinical_engineering`, `soc`). */
  role: string;
  reason: string;
  status: "pending" | "approved" | "denied" | "expired";
  createdAt: string;
  expiresAt: string;
  decidedAt?: string;
  decidedBy?: string;
  comment?: string;
  /** Devices the approval covers (clinical gate of a multi-device step); absent: `deviceKey`. */
  devices?: string[];
  /** Set once the timeout job, audit entry and notification went out (after the run was saved). */
  announcedAt?: string;
}

/** Result of an atomic blast-radius reservation. */
export interface Reservation {
  ok: boolean;
  /** Distinct devices reserved in the window after (ok) or before (refused) this call. */
  count: number;
}

export interface RunStore {
  getRun(id: string): Promise<RunState | null>;
  saveRun(run: RunState): Promise<void>;
  listRuns(limit?: number): Promise<RunState[]>;
  /** Takes the device lock for `runId` with a lease of `leaseMs`; returns the holder (this run when taken). */
  lockDevice(key: string, runId: string, leaseMs?: number): Promise<string>;
  /** Extends the lease of `runId`'s lock (re-taking it when it lapsed and nobody took it); returns the holder. */
  renewDeviceLock(key: string, runId: string, leaseMs: number): Promise<string>;
  unlockDevice(key: string, runId: string): Promise<void>;
  /**
   * Blast radius, atomically and per device: when the devices of `keys` not yet reserved in the last
   * `windowMs` fit under `limit` distinct devices, reserves them all (at `nowMs`) and returns ok;
   * otherwise reserves nothing. Devices already reserved in the window take no new capacity.
   */
  reserveDevices(keys: string[], nowMs: number, windowMs: number, limit: number): Promise<Reservation>;
  /** Distinct devices reserved in the last `windowMs`. */
  countContainments(nowMs: number, windowMs: number): Promise<number>;
  /** The run's lease: it is alive while this is renewed (the reaper ends runs whose lease lapsed). */
  touchRun(runId: string, leaseMs: number): Promise<void>;
  /** True while the run's lease has not lapsed. */
  runAlive(runId: string): Promise<boolean>;
  /** Marks an approval as announced (timeout job, audit, notification sent). */
  markAnnounced(approvalId: string): Promise<void>;
  wasAnnounced(approvalId: string): Promise<boolean>;
  setPaused(paused: boolean): Promise<void>;
  isPaused(): Promise<boolean>;
  saveApproval(a: ApprovalRecord): Promise<void>;
  getApproval(id: string): Promise<ApprovalRecord | null>;
  listApprovals(): Promise<ApprovalRecord[]>;
  /** Pending → decided, once: false when someone (or the timeout) decided first. */
  decideApproval(
    id: string,
    decision: Pick<ApprovalRecord, "status" | "decidedBy" | "comment" | "decidedAt">,
  ): Promise<boolean>;
  /** True the first time `key` is claimed within `ttlMs` (rule de-duplication). */
  claimOnce(key: string, ttlMs: number): Promise<boolean>;
  /** Increments the counter `key` living `ttlMs` from its first increment; returns the new value (throttles). */
  incrWindow(key: string, ttlMs: number): Promise<number>;
  /** Runs parked by the kill switch. */
  park(runId: string): Promise<void>;
  unparkAll(): Promise<string[]>;
  close(): Promise<void>;
}

/** Lease of a device lock when none is given (the engine passes its configured lease). */
export const DEFAULT_LEASE_MS = 10 * 60_000;

/** Renew (or re-take when lapsed) a device lock held by ARGV[1]; returns the holder. */
const RENEW_LOCK = `
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return ARGV[1]
end
return cur`;

/**
 * Blast radius, one script for every replica: a sorted set of device keys scored by reservation time.
 * KEYS[1] the set; ARGV: now, window, limit, device keys…. All-or-nothing; a device already reserved
 * in the window takes no new capacity. Returns {1, count after} or {0, count before}.
 */
const RESERVE_DEVICES = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local fresh = {}
for i = 4, #ARGV do
  if not redis.call('ZSCORE', KEYS[1], ARGV[i]) then table.insert(fresh, ARGV[i]) end
end
if count + #fresh > limit then return {0, count} end
for _, k in ipairs(fresh) do redis.call('ZADD', KEYS[1], now, k) end
redis.call('PEXPIRE', KEYS[1], window)
return {1, count + #fresh}`;

export class MemoryRunStore implements RunStore {
  readonly #runs = new Map<string, string>();
  readonly #locks = new Map<string, { runId: string; until: number }>();
  /** Device key → reservation time. */
  readonly #reserved = new Map<string, number>();
  readonly #leases = new Map<string, number>();
  #paused = false;
  readonly #approvals = new Map<string, ApprovalRecord>();
  readonly #parked = new Set<string>();

  async getRun(id: string) {
    const s = this.#runs.get(id);
    return s ? (JSON.parse(s) as RunState) : null;
  }
  async saveRun(run: RunState) {
    this.#runs.set(run.id, JSON.stringify(run));
  }
  async listRuns(limit = 1000) {
    return [...this.#runs.values()].slice(-limit).map((s) => JSON.parse(s) as RunState);
  }
  #holder(key: string) {
    const l = this.#locks.get(key);
    if (l && l.until <= Date.now()) {
      this.#locks.delete(key);
      return undefined;
    }
    return l;
  }
  async lockDevice(key: string, runId: string, leaseMs = DEFAULT_LEASE_MS) {
    const holder = this.#holder(key);
    if (holder) return holder.runId;
    this.#locks.set(key, { runId, until: Date.now() + leaseMs });
    return runId;
  }
  async renewDeviceLock(key: string, runId: string, leaseMs: number) {
    const holder = this.#holder(key);
    if (holder && holder.runId !== runId) return holder.runId;
    this.#locks.set(key, { runId, until: Date.now() + leaseMs });
    return runId;
  }
  async unlockDevice(key: string, runId: string) {
    if (this.#holder(key)?.runId === runId) this.#locks.delete(key);
  }
  async reserveDevices(keys: string[], nowMs: number, windowMs: number, limit: number) {
    // Same semantics as the Redis script; a JS function body runs without interleaving.
    for (const [k, t] of this.#reserved) if (t <= nowMs - windowMs) this.#reserved.delete(k);
    const fresh = [...new Set(keys)].filter((k) => !this.#reserved.has(k));
    const count = this.#reserved.size;
    if (count + fresh.length > limit) return { ok: false, count };
    for (const k of fresh) this.#reserved.set(k, nowMs);
    return { ok: true, count: count + fresh.length };
  }
  async countContainments(nowMs: number, windowMs: number) {
    for (const [k, t] of this.#reserved) if (t <= nowMs - windowMs) this.#reserved.delete(k);
    return this.#reserved.size;
  }
  async touchRun(runId: string, leaseMs: number) {
    this.#leases.set(runId, Date.now() + leaseMs);
  }
  async runAlive(runId: string) {
    return (this.#leases.get(runId) ?? 0) > Date.now();
  }
  readonly #announced = new Set<string>();
  async markAnnounced(approvalId: string) {
    this.#announced.add(approvalId);
  }
  async wasAnnounced(approvalId: string) {
    return this.#announced.has(approvalId);
  }
  async setPaused(paused: boolean) {
    this.#paused = paused;
  }
  async isPaused() {
    return this.#paused;
  }
  async saveApproval(a: ApprovalRecord) {
    this.#approvals.set(a.id, { ...a });
  }
  async getApproval(id: string) {
    const a = this.#approvals.get(id);
    return a ? { ...a } : null;
  }
  async listApprovals() {
    return [...this.#approvals.values()].map((a) => ({ ...a }));
  }
  async decideApproval(
    id: string,
    d: Pick<ApprovalRecord, "status" | "decidedBy" | "comment" | "decidedAt">,
  ) {
    const a = this.#approvals.get(id);
    if (a?.status !== "pending") return false;
    Object.assign(a, d);
    return true;
  }
  readonly #claims = new Map<string, number>();
  async claimOnce(key: string, ttlMs: number) {
    const now = Date.now();
    const exp = this.#claims.get(key);
    if (exp !== undefined && exp > now) return false;
    this.#claims.set(key, now + ttlMs);
    if (this.#claims.size > 100_000) for (const [k, e] of this.#claims) if (e <= now) this.#claims.delete(k);
    return true;
  }
  readonly #windows = new Map<string, { n: number; exp: number }>();
  async incrWindow(key: string, ttlMs: number) {
    const now = Date.now();
    let w = this.#windows.get(key);
    if (!w || w.exp <= now) {
      w = { n: 0, exp: now + ttlMs };
      this.#windows.set(key, w);
    }
    return ++w.n;
  }
  async park(runId: string) {
    this.#parked.add(runId);
  }
  async unparkAll() {
    const ids = [...this.#parked];
    this.#parked.clear();
    return ids;
  }
  async close() {}
}

export class RedisRunStore implements RunStore {
  readonly #redis: RedisClient;
  readonly #p: string;

  constructor(options: { redisUrl: string; prefix: string } | { redis: RedisClient; prefix: string }) {
    this.#redis =
      "redis" in options ? options.redis : new Redis(options.redisUrl, { maxRetriesPerRequest: 3 });
    // MULTI, MGET and the scripts touch several of these keys: one slot on a cluster (`{pb}`).
    this.#p = keyGroup(this.#redis, options.prefix, "pb");
  }
  async getRun(id: string) {
    const s = await this.#redis.get(`${this.#p}:run:${id}`);
    return s ? (JSON.parse(s) as RunState) : null;
  }
  async saveRun(run: RunState) {
    await this.#redis
      .multi()
      .set(`${this.#p}:run:${run.id}`, JSON.stringify(run))
      .zadd(`${this.#p}:runs`, Date.parse(run.createdAt), run.id)
      .exec();
  }
  async listRuns(limit = 1000) {
    const ids = await this.#redis.zrange(`${this.#p}:runs`, -limit, -1);
    if (!ids.length) return [];
    const vals = await this.#redis.mget(ids.map((id) => `${this.#p}:run:${id}`));
    return vals.filter((v): v is string => !!v).map((v) => JSON.parse(v) as RunState);
  }
  async lockDevice(key: string, runId: string, leaseMs = DEFAULT_LEASE_MS) {
    const k = `${this.#p}:device-lock:${key}`;
    const ok = await this.#redis.set(k, runId, "PX", Math.max(1, leaseMs), "NX");
    if (ok) return runId;
    const holder = await this.#redis.get(k);
    // Lapsed between the two calls: try once more.
    if (holder === null)
      return (await this.#redis.set(k, runId, "PX", Math.max(1, leaseMs), "NX"))
        ? runId
        : ((await this.#redis.get(k)) ?? runId);
    return holder;
  }
  async renewDeviceLock(key: string, runId: string, leaseMs: number) {
    return (await this.#redis.eval(
      RENEW_LOCK,
      1,
      `${this.#p}:device-lock:${key}`,
      runId,
      String(Math.max(1, Math.round(leaseMs))),
    )) as string;
  }
  async unlockDevice(key: string, runId: string) {
    // Delete only our own lock (compare-and-delete).
    await this.#redis.eval(
      "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end",
      1,
      `${this.#p}:device-lock:${key}`,
      runId,
    );
  }
  async reserveDevices(keys: string[], nowMs: number, windowMs: number, limit: number) {
    const [ok, count] = (await this.#redis.eval(
      RESERVE_DEVICES,
      1,
      `${this.#p}:blast-radius`,
      String(nowMs),
      String(windowMs),
      String(limit),
      ...new Set(keys),
    )) as [number, number];
    return { ok: ok === 1, count };
  }
  async countContainments(nowMs: number, windowMs: number) {
    return this.#redis.zcount(`${this.#p}:blast-radius`, `(${nowMs - windowMs}`, "+inf");
  }
  async touchRun(runId: string, leaseMs: number) {
    await this.#redis.set(`${this.#p}:run-lease:${runId}`, "1", "PX", Math.max(1, Math.round(leaseMs)));
  }
  async runAlive(runId: string) {
    return (await this.#redis.exists(`${this.#p}:run-lease:${runId}`)) === 1;
  }
  async markAnnounced(approvalId: string) {
    await this.#redis.set(`${this.#p}:approval-announced:${approvalId}`, "1", "EX", 30 * 86_400);
  }
  async wasAnnounced(approvalId: string) {
    return (await this.#redis.exists(`${this.#p}:approval-announced:${approvalId}`)) === 1;
  }
  async setPaused(paused: boolean) {
    if (paused) await this.#redis.set(`${this.#p}:paused`, "1");
    else await this.#redis.del(`${this.#p}:paused`);
  }
  async isPaused() {
    return (await this.#redis.exists(`${this.#p}:paused`)) === 1;
  }
  async saveApproval(a: ApprovalRecord) {
    await this.#redis
      .multi()
      .set(`${this.#p}:approval:${a.id}`, JSON.stringify(a))
      .zadd(`${this.#p}:approvals`, Date.parse(a.createdAt), a.id)
      .exec();
  }
  async getApproval(id: string) {
    const s = await this.#redis.get(`${this.#p}:approval:${id}`);
    return s ? (JSON.parse(s) as ApprovalRecord) : null;
  }
  async listApprovals() {
    const ids = await this.#redis.zrange(`${this.#p}:approvals`, 0, -1);
    if (!ids.length) return [];
    const vals = await this.#redis.mget(ids.map((id) => `${this.#p}:approval:${id}`));
    return vals.filter((v): v is string => !!v).map((v) => JSON.parse(v) as ApprovalRecord);
  }
  async decideApproval(
    id: string,
    d: Pick<ApprovalRecord, "status" | "decidedBy" | "comment" | "decidedAt">,
  ) {
    // The first decision wins: a SET NX marker, then the record update.
    const won = await this.#redis.set(`${this.#p}:approval-decided:${id}`, d.status, "NX");
    if (!won) return false;
    const a = await this.getApproval(id);
    if (a?.status !== "pending") return false;
    await this.saveApproval({ ...a, ...d });
    return true;
  }
  async claimOnce(key: string, ttlMs: number) {
    return (await this.#redis.set(`${this.#p}:claim:${key}`, "1", "PX", Math.max(1, ttlMs), "NX")) === "OK";
  }
  async incrWindow(key: string, ttlMs: number) {
    const k = `${this.#p}:window:${key}`;
    const [[, n]] = (await this.#redis.multi().incr(k).pexpire(k, Math.max(1, ttlMs), "NX").exec()) as [
      [unknown, number],
      unknown,
    ];
    return n;
  }
  async park(runId: string) {
    await this.#redis.sadd(`${this.#p}:parked`, runId);
  }
  async unparkAll() {
    const k = `${this.#p}:parked`;
    const [[, ids]] = (await this.#redis.multi().smembers(k).del(k).exec()) as [[unknown, string[]], unknown];
    return ids;
  }
  async close() {
    this.#redis.disconnect();
  }
  /** Deletes every key of this store (tests). */
  async clear() {
    await deleteKeys(this.#redis, `${this.#p}:*`);
  }
}
