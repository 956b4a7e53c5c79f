import { type Logger, silentLogger } from "../../core/log.ts";
import type { RedisClusterConfig } from "../../core/redis.ts";
import { BullmqQueueDriver } from "./bullmq.ts";
import { MemoryQueueDriver } from "./memory.ts";
import type { QueueDriver, QueueOptions } from "./types.ts";

export type { BullmqDriverOptions } from "./bullmq.ts";
export { BullmqQueueDriver } from "./bullmq.ts";
export type { MemoryDriverOptions } from "./memory.ts";
export { MemoryQueueDriver } from "./memory.ts";
export type * from "./types.ts";

/**
 * Which queue driver to run: in-memory (embedded default) or BullMQ on Redis (production). The
 * `QueueOptions` fields (`attempts`, `backoffMs`, `maxBackoffMs`, `keepCompleted`) are defaults for
 * every queue of the driver.
 */
export type QueueDriverConfig = QueueOptions &
  (
    | {
        kind: "memory";
        /** Waiting jobs per queue before `add` waits (backpressure). @defaultValue 1000 */
        maxWaiting?: number;
      }
    | {
        kind: "bullmq";
        /** `redis://host:port` (or `rediss://` for TLS). */
        redisUrl: string;
        /** A Redis Cluster instead of `redisUrl` (`queue.cluster`). */
        cluster?: RedisClusterConfig;
        /** Key namespace. @defaultValue "medsoc" */
        prefix?: string;
        /** How long `add` waits for Redis before failing. @defaultValue 5000 */
        connectTimeoutMs?: number;
        /** How long a command waits for a restarting Redis. @defaultValue 60000 */
        graceMs?: number;
      }
  );

/** Creates the configured queue driver. The caller closes it on shutdown (SIGINT/SIGTERM). */
export function createQueueDriver(config: QueueDriverConfig, log: Logger = silentLogger): QueueDriver {
  const defaults: QueueOptions = {
    attempts: config.attempts,
    backoffMs: config.backoffMs,
    maxBackoffMs: config.maxBackoffMs,
    keepCompleted: config.keepCompleted,
  };
  for (const key of Object.keys(defaults) as (keyof QueueOptions)[])
    if (defaults[key] === undefined) delete defaults[key];
  switch (config.kind) {
    case "memory":
      return new MemoryQueueDriver({ maxWaiting: config.maxWaiting, defaults, log });
    case "bullmq":
      return new BullmqQueueDriver({
        redisUrl: config.redisUrl,
        cluster: config.cluster,
        prefix: config.prefix,
        connectTimeoutMs: config.connectTimeoutMs,
        graceMs: config.graceMs,
        defaults,
        log,
      });
  }
}
