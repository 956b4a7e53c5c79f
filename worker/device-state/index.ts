/** Device state stores: memory (embedded default) and Redis (production), and NDJSON snapshots. */
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { finished } from "node:stream/promises";
import type { RedisClusterConfig } from "../../core/redis.ts";
import type { DeviceState, DeviceStateStore } from "../../mappings/device-state.ts";
import type { EnrichmentOptions } from "../../mappings/enrich/options.ts";
import { MemoryDeviceStateStore } from "./memory.ts";
import { RedisDeviceStateStore } from "./redis.ts";

export type * from "../../mappings/device-state.ts";
export { type DerivedDevice, deriveDevice } from "./derive.ts";
export { MemoryDeviceStateStore } from "./memory.ts";
export { RedisDeviceStateStore } from "./redis.ts";

export type DeviceStateConfig =
  | { kind: "memory"; enrichment?: EnrichmentOptions }
  | {
      kind: "redis";
      redisUrl: string;
      /** A Redis Cluster instead of `redisUrl` (`queue.cluster`). */
      cluster?: RedisClusterConfig;
      prefix?: string;
      enrichment?: EnrichmentOptions;
      /** How long a command waits for Redis to come back. @defaultValue 60000 (ms) */
      graceMs?: number;
    };

export function createDeviceStateStore(config: DeviceStateConfig): DeviceStateStore {
  return config.kind === "redis" ? new RedisDeviceStateStore(config) : new MemoryDeviceStateStore(config);
}

/** Fleet view: devices per credential fingerprint, counted over a listing of the state. */
export async function fingerprintCounts(
  states: AsyncIterable<{ exposure?: { credentialFingerprints: string[] } }>,
) {
  const counts = new Map<string, number>();
  for await (const s of states)
    for (const fp of s.exposure?.credentialFingerprints ?? []) counts.set(fp, (counts.get(fp) ?? 0) + 1);
  return counts;
}

/** Writes every device of a store, one JSON per line. */
export async function writeStateSnapshot(store: DeviceStateStore, file: string): Promise<number> {
  const out = createWriteStream(file);
  let n = 0;
  for await (const state of store.list()) {
    if (!out.write(`${JSON.stringify(state)}\n`))
      await new Promise<void>((r) => out.once("drain", () => r()));
    n++;
  }
  out.end();
  await finished(out);
  return n;
}

/** Reads a snapshot written by {@link writeStateSnapshot}; a clear error names a bad line. */
export async function readStateSnapshot(file: string): Promise<DeviceState[]> {
  const text = await readFile(file, "utf8");
  const out: DeviceState[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let state: DeviceState;
    try {
      state = JSON.parse(line) as DeviceState;
    } catch (error) {
      throw new Error(`reading ${file} line ${i + 1}: ${(error as Error).message}`);
    }
    if (
      typeof state?.key !== "string" ||
      typeof state.identifiers !== "object" ||
      typeof state.facts !== "object"
    )
      throw new Error(`reading ${file} line ${i + 1}: not a device state (key, identifiers, facts expected)`);
    out.push(state);
  });
  return out;
}
