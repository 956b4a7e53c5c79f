import { type Logger, silentLogger } from "../../core/log.ts";
import type { RedisClusterConfig } from "../../core/redis.ts";
import { MemoryCursorStore } from "./memory.ts";
import { RedisCursorStore } from "./redis.ts";
import type { CursorStore } from "./types.ts";

export { type AdvanceResult, advanceCursor, type RecordAccessors } from "./advance.ts";
export { MemoryCursorStore } from "./memory.ts";
export { RedisCursorStore, type RedisCursorStoreOptions } from "./redis.ts";
export type { CursorStore } from "./types.ts";

/** Where cursors live: memory (embedded default) or Redis (production, shared by every process). */
export type CursorStoreConfig =
  | { kind: "memory" }
  | {
      kind: "redis";
      redisUrl: string;
      /** A Redis Cluster instead of `redisUrl` (`queue.cluster`). */
      cluster?: RedisClusterConfig;
      /** Key namespace. @defaultValue "medsoc" */
      prefix?: string;
      /** How long a command waits for Redis to come back. @defaultValue 60000 (ms) */
      graceMs?: number;
    };

/** Creates the configured cursor store. The caller closes it on shutdown. */
export function createCursorStore(config: CursorStoreConfig, log: Logger = silentLogger): CursorStore {
  switch (config.kind) {
    case "memory":
      return new MemoryCursorStore();
    case "redis":
      return new RedisCursorStore({
        redisUrl: config.redisUrl,
        cluster: config.cluster,
        prefix: config.prefix,
        log,
        graceMs: config.graceMs,
      });
  }
}
