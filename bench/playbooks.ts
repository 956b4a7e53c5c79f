/**
 * Playbook latency: from an alert document entering the rules (right after mapping) to the pump's
 * containment verified (the `isolate` step's read-back on every enforcement point done), on the automatic path (idle pumps, blast
 * radius out of the way), over HTTP to the ISE/PAN-OS/ServiceNow/PagerDuty simulators. Alerts
 * arrive at `rate` per second. Prints p50/p99 per queue driver; never asserted anywhere.
 *
 * The simulators run in their own process by default: in a deployment the
 * outside systems are other machines, so their CPU is not on medsoc's event loop. `--playbook-sims
 * in-process` runs them in the engine's process as before (the figure then includes their CPU).
 */

import { fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { playbooksConfigSchema } from "../playbooks/config.ts";
import { createPlaybookRuntime } from "../playbooks/index.ts";
import { createFleet } from "../simulators/fleet/fleet.ts";
import { clinicalServersOf, startResponseSystems } from "../simulators/response/index.ts";
import { alertDoc, deviceDoc } from "../test/helpers/playbooks.ts";
import { BullmqQueueDriver } from "../worker/queue/bullmq.ts";
import { MemoryQueueDriver } from "../worker/queue/memory.ts";
import type { QueueDriver } from "../worker/queue/types.ts";

export interface PlaybookBenchResult {
  driver: string;
  alerts: number;
  ratePerSecond: number;
  containedVerified: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  peakRssMB: number;
  /**
   * CPU time (user + system) of the engine's process per alert, from the first alert until every
   * containment is verified: a figure that does not depend on how busy the machine is.
   */
  cpuMsPerAlert: number;
  /** Where the outside systems' simulators ran. */
  simulators: "own-process" | "in-process";
}

/** The outside systems in their own process (see the module comment): their settings, and how to stop them. */
async function systemsInProcess(
  size: number,
  seed: number,
): Promise<{ systemsConfig: () => Record<string, unknown>; stop: () => Promise<void> }> {
  const child = fork(
    fileURLToPath(new URL("./playbook-systems-proc.ts", import.meta.url)),
    [String(size), String(seed)],
    {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    },
  );
  const systems = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`the simulators' process exited (${code})`)));
    child.once("message", (m: { systems: Record<string, unknown> }) => resolve(m.systems));
  });
  child.removeAllListeners("exit");
  return {
    systemsConfig: () => systems,
    stop: async () => {
      const exited = new Promise((r) => child.once("exit", r));
      child.send("stop");
      await exited;
    },
  };
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

export async function benchPlaybooks(
  kind: "memory" | "bullmq",
  alerts = 1000,
  rate = 100,
  redisUrl = "redis://127.0.0.1:6379",
  simulators: "own-process" | "in-process" = "own-process",
): Promise<PlaybookBenchResult> {
  const size = Math.max(5000, alerts * 5);
  const fleet = createFleet({ size, seed: 7 });
  const pumps: number[] = [];
  for (let i = 0; i < fleet.size && pumps.length < alerts; i++) {
    const f = fleet.facts(i);
    if (f.deviceClass === "infusion_pump" && f.credential.kind !== "hard_coded") pumps.push(i);
  }
  const sims =
    simulators === "in-process" ? await startResponseSystems({ fleet }) : await systemsInProcess(size, 7);
  const prefix = `medsoc-bench-${randomUUID()}`;
  const driver: QueueDriver =
    kind === "bullmq"
      ? new BullmqQueueDriver({ redisUrl, prefix })
      : new MemoryQueueDriver({ maxWaiting: 100_000 });
  const runtime = await createPlaybookRuntime({
    config: playbooksConfigSchema.parse({
      systems: sims.systemsConfig(),
      clinicalServers: clinicalServersOf(fleet),
      blastRadiusPerHour: 1_000_000,
      concurrency: 32,
      audit: { key: "bench-audit-key-0123456789abcdef" },
    }),
    driver,
    redis: kind === "bullmq" ? { url: redisUrl, prefix } : undefined,
    // The automatic path at full rate: the shipped throttle (30 per minute) would hold most back.
    adjustRules: (rules) => rules.map((r) => ({ ...r, throttle: { max: 1_000_000, per: "1m" } })),
  });
  runtime.engine.startWorkers();
  const facts = pumps.map((i) => fleet.facts(i));
  runtime.directory.observe(facts.map((f) => deviceDoc(f, { inUse: false })));
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let peakRss = 0;
  // `memoryUsage.rss()` alone: the full `memoryUsage()` walks the heap spaces (measurable CPU at 20 Hz).
  const rss = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 50);
  // Containment verified = the audit entry of the containment step's successful read-back.
  const originalAppend = runtime.audit.append.bind(runtime.audit);
  runtime.audit.append = (input) => {
    if (input.type === "step.completed" && input.stepId === "isolate" && input.deviceKey) {
      const t0 = sentAt.get(input.deviceKey);
      if (t0 !== undefined) latencies.push(performance.now() - t0);
    }
    return originalAppend(input);
  };
  const gap = 1000 / rate;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  for (let k = 0; k < facts.length; k++) {
    const f = facts[k] as (typeof facts)[number];
    const due = start + k * gap;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    sentAt.set(f.mac.replace(/:/g, "-"), performance.now());
    void runtime.rules.onDocuments([alertDoc(f, "Communication to a suspicious host")]);
  }
  const deadline = Date.now() + 120_000;
  while (latencies.length < facts.length && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  const cpu = process.cpuUsage(cpu0);
  const q = runtime.engine.queue;
  for (;;) {
    const n = await q.counts();
    if (n.waiting + n.active === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  clearInterval(rss);
  await runtime.close();
  if (kind === "bullmq") await q.obliterate().catch(() => undefined);
  await driver.close();
  if (kind === "bullmq") {
    const r = new Redis(redisUrl);
    let cursor = "0";
    do {
      const [next, keys] = await r.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      if (keys.length) await r.del(...keys);
      cursor = next;
    } while (cursor !== "0");
    r.disconnect();
  }
  await sims.stop();
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    driver: kind,
    alerts: facts.length,
    ratePerSecond: rate,
    containedVerified: latencies.length,
    p50Ms: Math.round(pct(sorted, 50)),
    p99Ms: Math.round(pct(sorted, 99)),
    maxMs: Math.round(sorted.at(-1) ?? Number.NaN),
    peakRssMB: Math.round(peakRss / 1024 ** 2),
    cpuMsPerAlert: Math.round((cpu.user + cpu.system) / 1000 / Math.max(1, facts.length)),
    simulators,
  };
}
