/**
 * De-duplication claims shared by every replica (Redis `<prefix>:pb:dedup:<key>`, or memory for a
 * single process): a claim is held by whoever took it, for a window, and can be given back by its
 * holder. Rules and SIEM triggers claim before they start a run and give the claim back when the
 * start was refused or failed, so a refused start never silences the next real alert.
 */
import { randomUUID } from "node:crypto";
import { keyGroup, type RedisClient as Redis } from "../../core/redis.ts";
import type { StartResult } from "./engine.ts";

export interface ClaimStore {
  /** Takes `key` for `ttlMs`: a holder token, or undefined when someone holds it already. */
  claim(key: string, ttlMs: number): Promise<string | undefined>;
  /** Gives `key` back if `token` still holds it. */
  release(key: string, token: string): Promise<void>;
}

export class MemoryClaimStore implements ClaimStore {
  readonly #claims = new Map<string, { token: string; exp: number }>();
  async claim(key: string, ttlMs: number) {
    const now = Date.now();
    const c = this.#claims.get(key);
    if (c && c.exp > now) return undefined;
    const token = randomUUID();
    this.#claims.set(key, { token, exp: now + ttlMs });
    if (this.#claims.size > 100_000)
      for (const [k, v] of this.#claims) if (v.exp <= now) this.#claims.delete(k);
    return token;
  }
  async release(key: string, token: string) {
    if (this.#claims.get(key)?.token === token) this.#claims.delete(key);
  }
}

const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end return 0`;

export class RedisClaimStore implements ClaimStore {
  readonly #r: Redis;
  readonly #p: string;
  constructor(o: { client: Redis; prefix: string }) {
    this.#r = o.client;
    this.#p = `${keyGroup(o.client, o.prefix, "pb")}:dedup`;
  }
  async claim(key: string, ttlMs: number) {
    const token = randomUUID();
    const ok = await this.#r.set(`${this.#p}:${key}`, token, "PX", Math.max(1, ttlMs), "NX");
    return ok === "OK" ? token : undefined;
  }
  async release(key: string, token: string) {
    await this.#r.eval(RELEASE, 1, `${this.#p}:${key}`, token);
  }
}

/**
 * Starts a run unless `key` is held (then `undefined`: a duplicate). The claim is kept only when
 * the run really started; a refused start (paused, device locked, throttled, …) or an error gives
 * it back. `ttlMs` 0 means no de-duplication.
 */
export async function startOnce(
  claims: ClaimStore,
  key: string,
  ttlMs: number,
  start: () => Promise<StartResult | undefined>,
): Promise<StartResult | undefined | "duplicate"> {
  if (ttlMs <= 0) return start();
  const token = await claims.claim(key, ttlMs);
  if (!token) return "duplicate";
  let kept = false;
  try {
    const r = await start();
    kept = r !== undefined && r.status !== "rejected";
    return r;
  } finally {
    if (!kept) await claims.release(key, token);
  }
}
