/**
 * Durable run state: runs, approvals and the guards (device locks, blast-radius counter, kill
 * switch). Redis in production (every worker process sees the same runs), memory in the embedded
 * default. Only the job of a run's current step writes the run, so a plain JSON value per run is enough;
 * the contended transitions (device lock, approval decision) are atomic (`SET NX`).
 */
import { Redis } from "ioredis";
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
  approvalId?: string;
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
  /** This run's containment is already counted against the blast radius (one per run, however many enforcement points). */
  containmentCounted?: boolean;
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
}

export interface RunStore {
  getRun(id: string): Promise<RunState | null>;
  saveRun(run: RunState): Promise<void>;
  listRuns(limit?: number): Promise<RunState[]>;
  /** Takes the device lock for `runId`; returns the holder (this run when taken). */
  lockDevice(key: string, runId: string): Promise<string>;
  unlockDevice(key: string, runId: string): Promise<void>;
  /** Records one automatic containment at `atMs`; returns how many happened in the last `windowMs`. */
  countContainments(nowMs: number, windowMs: number): Promise<number>;
  addContainment(runId: string, atMs: number): Promise<void>;
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

export class MemoryRunStore implements RunStore {
  readonly #runs = new Map<string, string>();
  readonly #locks = new Map<string, string>();
  #containments: number[] = [];
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
  async lockDevice(key: string, runId: string) {
    const holder = this.#locks.get(key);
    if (holder) return holder;
    this.#locks.set(key, runId);
    return runId;
  }
  async unlockDevice(key: string, runId: string) {
    if (this.#locks.get(key) === runId) this.#locks.delete(key);
  }
  async countContainments(nowMs: number, windowMs: number) {
    this.#containments = this.#containments.filter((t) => t > nowMs - windowMs);
    return this.#containments.length;
  }
  async addContainment(_runId: string, atMs: number) {
    this.#containments.push(atMs);
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
  readonly #redis: Redis;
  readonly #p: string;

  constructor(options: { redisUrl: string; prefix: string } | { redis: Redis; prefix: string }) {
    this.#redis =
      "redis" in options ? options.redis : new Redis(options.redisUrl, { maxRetriesPerRequest: 3 });
    this.#p = `${options.prefix}:pb`;
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
  async lockDevice(key: string, runId: string) {
    const k = `${this.#p}:device-lock:${key}`;
    const ok = await this.#redis.set(k, runId, "NX");
    if (ok) return runId;
    return (await this.#redis.get(k)) ?? runId;
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
  async countContainments(nowMs: number, windowMs: number) {
    const k = `${this.#p}:containments`;
    await this.#redis.zremrangebyscore(k, "-inf", nowMs - windowMs);
    return this.#redis.zcount(k, nowMs - windowMs, "+inf");
  }
  async addContainment(runId: string, atMs: number) {
    await this.#redis.zadd(`${this.#p}:containments`, atMs, `${runId}-${atMs}`);
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
    let cursor = "0";
    do {
      const [next, keys] = await this.#redis.scan(cursor, "MATCH", `${this.#p}:*`, "COUNT", 500);
      if (keys.length) await this.#redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  }
}
