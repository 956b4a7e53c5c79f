/**
 * Device-state memory and merge throughput (issue 4). Prints figures; asserts nothing.
 *
 *   node --expose-gc --import tsx bench/device-state.ts [--devices 200000] [--redis-devices 50000]
 *
 * Memory store: the simulated fleet's Armis devices, vulnerability matches and alerts (and, with
 * the second pass, a second monitor's view of every device) are merged in batches of 1,000;
 * heap used after a forced GC, minus the heap before, per device, is extrapolated linearly to one
 * million devices (the store holds one JSON string per device plus four index maps, so it grows
 * linearly). Redis: `INFO memory` used_memory before and after filling a unique prefix at a smaller
 * count, extrapolated the same way, then the prefix is deleted.
 */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { enrich } from "../mappings/enrich.ts";
import type { EcsDocument } from "../mappings/types.ts";
import { mapRecord } from "../monitors/index.ts";
import { createFleet, type Fleet } from "../simulators/fleet.ts";
import { secondSourceDoc } from "../test/helpers/hospital-docs.ts";
import { MemoryDeviceStateStore, RedisDeviceStateStore } from "../worker/device-state/index.ts";
import type { DeviceStateStore } from "../worker/device-state/types.ts";

const { values } = parseArgs({
  options: {
    devices: { type: "string", default: "200000" },
    "redis-devices": { type: "string", default: "50000" },
    "redis-url": { type: "string", default: "redis://127.0.0.1:6379" },
  },
});

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  process.stderr.write("run with node --expose-gc for heap figures\n");
  process.exit(2);
}

function heap(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

const INGESTED = { ingestedAt: "2026-11-28T00:00:00.000Z" };

/**
 * Feeds the fleet in chunks of devices: their inventory, their vulnerability matches and alerts
 * (both come in device order, so one pointer per CVE and one for alerts walk them), and the second
 * monitor's view. Documents never pile up beyond one chunk.
 */
async function feed(
  store: DeviceStateStore,
  fleet: Fleet,
  second: boolean,
): Promise<{ docs: number; ms: number }> {
  let docs = 0;
  let ms = 0;
  const cves = fleet.vulnerabilities().map((v) => ({ v, n: fleet.matchCount(v.id), k: 0 }));
  let alert = 0;
  const chunk = 5000;
  const upsert = async (batch: EcsDocument[]) => {
    for (let i = 0; i < batch.length; i += 1000) {
      const b = batch.slice(i, i + 1000);
      const t = process.hrtime.bigint();
      await store.upsert(b);
      ms += Number(process.hrtime.bigint() - t) / 1e6;
      docs += b.length;
    }
  };
  for (let from = 0; from < fleet.size; from += chunk) {
    const to = Math.min(fleet.size, from + chunk);
    const devices: EcsDocument[] = [];
    for (let i = from; i < to; i++) devices.push(mapRecord("armis", "device", fleet.device(i), INGESTED));
    await upsert(devices);
    const findings: EcsDocument[] = [];
    for (const c of cves)
      for (; c.k < c.n; c.k++) {
        const match = fleet.match(c.v.id, c.k);
        if (match.deviceId > to) break;
        findings.push(mapRecord("armis", "vulnerability", { ...c.v, vulnerability_match: match }, INGESTED));
      }
    await upsert(findings);
    const alerts: EcsDocument[] = [];
    for (; alert < fleet.alertCount; alert++) {
      const record = fleet.alert(alert);
      if ((record.deviceIds[0] as number) > to) break;
      alerts.push(mapRecord("armis", "alert", record, INGESTED));
    }
    await upsert(alerts);
    if (second) {
      const view: EcsDocument[] = [];
      for (let i = from; i < to; i++) {
        const d = secondSourceDoc(fleet, i);
        enrich(d, { source: "claroty_xdome", stream: "device", ...INGESTED });
        view.push(d);
      }
      await upsert(view);
    }
  }
  return { docs, ms };
}

async function memoryBench(size: number, second: boolean) {
  const fleet = createFleet({ size, seed: 5 });
  const before = heap();
  const store = new MemoryDeviceStateStore();
  const { docs, ms } = await feed(store, fleet, second);
  const after = heap();
  const perDevice = (after - before) / (await store.count());
  return {
    size,
    sources: second ? 2 : 1,
    docs,
    docsPerSecond: Math.round(docs / (ms / 1000)),
    bytesPerDevice: Math.round(perDevice),
    perMillionMiB: Math.round((perDevice * 1e6) / 2 ** 20),
    store,
  };
}

async function redisBench(size: number) {
  const url = String(values["redis-url"]);
  const redis = new Redis(url);
  const prefix = `medsoc-bench-${randomUUID()}`;
  const used = async () => Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1]);
  const fleet = createFleet({ size, seed: 5 });
  const store = new RedisDeviceStateStore({ redisUrl: url, prefix });
  try {
    const before = await used();
    const { docs, ms } = await feed(store, fleet, false);
    const after = await used();
    const perDevice = (after - before) / (await store.count());
    return {
      size,
      docs,
      docsPerSecond: Math.round(docs / (ms / 1000)),
      bytesPerDevice: Math.round(perDevice),
      perMillionMiB: Math.round((perDevice * 1e6) / 2 ** 20),
    };
  } finally {
    await store.clear();
    await store.close();
    await redis.quit();
  }
}

const size = Number(values.devices);
const one = await memoryBench(size, false);
process.stdout.write(
  `memory store, Armis only:       ${one.size} devices, ${one.docs} docs merged at ${one.docsPerSecond} docs/s; ${one.bytesPerDevice} B heap/device → ${one.perMillionMiB} MiB per million devices (extrapolated)\n`,
);
await one.store.close();
const two = await memoryBench(size, true);
process.stdout.write(
  `memory store, Armis + 2nd view: ${two.size} devices, ${two.docs} docs merged at ${two.docsPerSecond} docs/s; ${two.bytesPerDevice} B heap/device → ${two.perMillionMiB} MiB per million devices (extrapolated)\n`,
);
await two.store.close();
try {
  const r = await redisBench(Number(values["redis-devices"]));
  process.stdout.write(
    `redis store, Armis only:        ${r.size} devices, ${r.docs} docs merged at ${r.docsPerSecond} docs/s; ${r.bytesPerDevice} B used_memory/device → ${r.perMillionMiB} MiB per million devices (extrapolated from ${r.size})\n`,
  );
} catch (error) {
  process.stdout.write(`redis store: skipped (${(error as Error).message})\n`);
}
