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
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import type { DeviceStateStore } from "../mappings/device-state.ts";
import { enrich } from "../mappings/enrich.ts";
import type { EcsDocument } from "../mappings/types.ts";
import { mapRecord } from "../monitors/index.ts";
import { armisRecords } from "../simulators/armis/records.ts";
import { createFleet, type Fleet } from "../simulators/fleet/fleet.ts";
import { secondSourceDoc } from "../test/helpers/hospital-docs.ts";
import { MemoryDeviceStateStore, RedisDeviceStateStore } from "../worker/device-state/index.ts";

const gc = (globalThis as { gc?: () => void }).gc;

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
export async function feed(
  store: DeviceStateStore,
  fleet: Fleet,
  second: boolean,
): Promise<{ docs: number; ms: number; pages: number; cpuMs: number }> {
  let docs = 0;
  let ms = 0;
  let cpuMs = 0;
  let pages = 0;
  const cves = armisRecords(fleet)
    .vulnerabilities()
    .map((v) => ({ v, n: fleet.matchCount(v.id), k: 0 }));
  let alert = 0;
  const chunk = 5000;
  const upsert = async (batch: EcsDocument[]) => {
    for (let i = 0; i < batch.length; i += 1000) {
      const b = batch.slice(i, i + 1000);
      const t = process.hrtime.bigint();
      const cpu = process.cpuUsage();
      await store.upsert(b);
      const used = process.cpuUsage(cpu);
      cpuMs += (used.user + used.system) / 1000;
      ms += Number(process.hrtime.bigint() - t) / 1e6;
      docs += b.length;
      pages++;
    }
  };
  for (let from = 0; from < fleet.size; from += chunk) {
    const to = Math.min(fleet.size, from + chunk);
    const devices: EcsDocument[] = [];
    for (let i = from; i < to; i++)
      devices.push(mapRecord("armis", "device", armisRecords(fleet).device(i), INGESTED));
    await upsert(devices);
    const findings: EcsDocument[] = [];
    for (const c of cves)
      for (; c.k < c.n; c.k++) {
        const match = armisRecords(fleet).match(c.v.id, c.k);
        if (match.deviceId > to) break;
        findings.push(mapRecord("armis", "vulnerability", { ...c.v, vulnerability_match: match }, INGESTED));
      }
    await upsert(findings);
    const alerts: EcsDocument[] = [];
    for (; alert < fleet.alertCount; alert++) {
      const record = armisRecords(fleet).alert(alert);
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
  return { docs, ms, pages, cpuMs };
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

/** `INFO commandstats` as calls per command. */
async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of (await redis.info("commandstats")).matchAll(/cmdstat_([^:]+):calls=(\d+)/g))
    out.set(m[1] as string, Number(m[2]));
  return out;
}

function callsDelta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [cmd, n] of after) {
    const d = n - (before.get(cmd) ?? 0);
    if (d > 0 && cmd !== "info") out[cmd] = d;
  }
  return out;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
const per = (n: number, d: number) => Math.round((n / d) * 100) / 100;

/**
 * The Redis store over the Armis fleet (inventory, vulnerability matches, alerts) in pages of
 * 1,000 documents, then the same fleet again (a second pull: nothing changed). `INFO memory`
 * used_memory and `INFO commandstats` are server-wide: on a Redis shared with other work the
 * figures include theirs (point `--redis-url` at a private `redis-server` for clean figures).
 * Commands counted by commandstats include those a script runs.
 */
export async function redisDeviceStateBench(size: number, url: string) {
  const redis = new Redis(url);
  const prefix = `medsoc-bench-${randomUUID()}`;
  const used = async () => Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1]);
  const redisCpuMs = async () => {
    const info = await redis.info("cpu");
    const f = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
    return (f("used_cpu_user") + f("used_cpu_sys")) * 1000;
  };
  const fleet = createFleet({ size, seed: 5 });
  const store = new RedisDeviceStateStore({ redisUrl: url, prefix });
  const stats = (store as { stats?: { roundTrips: number; devicesWritten: number } }).stats;
  try {
    const before = await used();
    const calls0 = await commandCalls(redis);
    const rt0 = stats?.roundTrips ?? 0;
    const cpu0 = await redisCpuMs();
    const first = await feed(store, fleet, false);
    const cpu1 = await redisCpuMs();
    const after = await used();
    const calls1 = await commandCalls(redis);
    const rt1 = stats?.roundTrips ?? 0;
    const written1 = stats?.devicesWritten ?? 0;
    const devices = await store.count();
    const again = await feed(store, fleet, false);
    const calls2 = await commandCalls(redis);
    const cpu2 = await redisCpuMs();
    const us = (ms: number, n: number) => Math.round((ms * 1000) / n);
    const firstCalls = callsDelta(calls0, calls1);
    const againCalls = callsDelta(calls1, calls2);
    const perDevice = (after - before) / devices;
    return {
      size,
      devices,
      docs: first.docs,
      pages: first.pages,
      docsPerSecond: Math.round(first.docs / (first.ms / 1000)),
      devicesPerSecond: Math.round(devices / (first.ms / 1000)),
      clientCpuUsPerDoc: us(first.cpuMs, first.docs),
      redisCpuUsPerDoc: us(cpu1 - cpu0, first.docs),
      bytesPerDevice: Math.round(perDevice),
      perMillionMiB: Math.round((perDevice * 1e6) / 2 ** 20),
      commandsPerDevice: per(sum(firstCalls), devices),
      commands: firstCalls,
      roundTripsPerPage: stats ? per(rt1 - rt0, first.pages) : undefined,
      again: {
        docsPerSecond: Math.round(again.docs / (again.ms / 1000)),
        clientCpuUsPerDoc: us(again.cpuMs, again.docs),
        redisCpuUsPerDoc: us(cpu2 - cpu1, again.docs),
        commandsPerDevice: per(sum(againCalls), devices),
        commands: againCalls,
        roundTripsPerPage: stats ? per((stats.roundTrips ?? 0) - rt1, again.pages) : undefined,
        devicesWritten: stats ? stats.devicesWritten - written1 : undefined,
      },
    };
  } finally {
    await store.clear();
    await store.close();
    await redis.quit();
  }
}

export function printRedisDeviceState(r: Awaited<ReturnType<typeof redisDeviceStateBench>>): void {
  const top = (c: Record<string, number>) =>
    Object.entries(c)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 6)
      .map(([k, v]) => `${k} ${per(v, r.devices)}`)
      .join(", ");
  process.stdout.write(
    `redis store, Armis only: ${r.devices} devices, ${r.docs} docs in ${r.pages} pages merged at ${r.docsPerSecond} docs/s (${r.devicesPerSecond} devices/s), CPU ${r.clientCpuUsPerDoc} µs/doc here + ${r.redisCpuUsPerDoc} µs/doc in Redis; ${r.bytesPerDevice} B used_memory/device (target ≤ 600) → ${r.perMillionMiB} MiB per million devices; ${r.commandsPerDevice} Redis commands/device (${top(r.commands)})${r.roundTripsPerPage === undefined ? "" : `; ${r.roundTripsPerPage} round trips/page`}\n` +
      `redis store, same fleet again: ${r.again.docsPerSecond} docs/s, CPU ${r.again.clientCpuUsPerDoc} µs/doc here + ${r.again.redisCpuUsPerDoc} µs/doc in Redis; ${r.again.commandsPerDevice} commands/device (${top(r.again.commands)})${r.again.devicesWritten === undefined ? "" : `; ${r.again.devicesWritten} devices written, ${r.again.roundTripsPerPage} round trips/page`}\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      devices: { type: "string", default: "200000" },
      "redis-devices": { type: "string", default: "50000" },
      "redis-url": { type: "string", default: "redis://127.0.0.1:6379" },
      only: { type: "string" },
    },
  });

  if (!gc && values.only !== "redis") {
    process.stderr.write("run with node --expose-gc for heap figures\n");
    process.exit(2);
  }
  const only = values.only;
  const size = Number(values.devices);
  if (!only || only === "memory") {
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
  }
  if (!only || only === "redis") {
    try {
      printRedisDeviceState(
        await redisDeviceStateBench(Number(values["redis-devices"]), String(values["redis-url"])),
      );
    } catch (error) {
      process.stdout.write(`redis store: skipped (${(error as Error).message})\n`);
    }
  }
}
