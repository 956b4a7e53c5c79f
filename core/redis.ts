/**
 * Connection settings shared by every Redis client the runtime keeps open (queues, cursors, device
 * state, playbook runs, audit): ride out a Redis restart instead of failing the first command.
 */
import type { RedisOptions } from "ioredis";

/** How long a Redis outage is ridden out before commands fail. @defaultValue 60000 (ms) */
export const DEFAULT_REDIS_GRACE_MS = 60_000;

/**
 * ioredis options for a connection that survives a Redis restart: it reconnects forever with capped,
 * jittered backoff; commands issued or in flight while Redis is away wait in the offline queue and are
 * sent again once it is back (`maxRetriesPerRequest: null`), but no longer than `graceMs`
 * (`commandTimeout`), so a Redis that does not come back ends in a clear error, not a hang. Only for
 * connections without blocking commands (BullMQ workers keep their own, which waits as long as it takes).
 */
export function resilientRedisOptions(role: string, graceMs = DEFAULT_REDIS_GRACE_MS): RedisOptions {
  return {
    connectionName: `medsoc-${role}`,
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    commandTimeout: graceMs,
    retryStrategy: (times) => Math.min(2000, 50 * 2 ** Math.min(times, 6)) + Math.floor(Math.random() * 100),
  };
}
