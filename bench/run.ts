/**
 * `npm run bench`: prints figures and ratios and writes bench/results/latest.json. Never asserts
 * timings (tests don't either): the figures are for reading and comparing within one run.
 *
 *   mapping   Armis device records mapped per second vs plain JSON.parse + JSON.stringify.
 *   enrichment  mapping with vs without enrichment (advisory matching against the full reference
 *             set, KEV, EOL OS), as a ratio; "cold" clears the advisory match cache before every
 *             record (every device a new vendor/model/version), the worst case.
 *   pipeline  simulated fleet over HTTP → BullMQ/Redis → mapping → Elasticsearch bulk double,
 *             devices/s and peak RSS of the worker process, at two fleet sizes.
 *
 *   playbooks alert → containment verified (automatic path), p50/p99 over `--alerts` (1000) alerts
 *             arriving at `--alert-rate` per second, memory driver and BullMQ on Redis; the outside
 *             systems' simulators in their own process (`--playbook-sims in-process` to share the loop).
 *
 *   embedded  peak RSS of the embedded default, `medsoc start --once --devices N` (memory queues, the
 *             simulated hospital with every monitor, NDJSON outputs), at `--embedded-devices`
 *             (20,000), and how long it took.
 *
 *   devicestate  the Redis device state merging the Armis fleet (inventory, findings, alerts) at
 *             `--state-devices` (200000) devices in pages of 1,000, then the same fleet again:
 *             docs/s, CPU µs per document in this process and in Redis, Redis used_memory per
 *             device (target ≤ 600 B), commands and round trips per device/page (bench/device-state.ts).
 *             Use `--redis-url` of a private redis-server for clean figures (INFO is server-wide).
 *
 *   syslog    Nozomi/xDome CEF lines (simulators/syslog-forwarder.ts) parsed by the syslog receiver's
 *             parser and mapped to ECS per second, vs parse alone.
 * Options: `--only mapping|enrichment|syslog|pipeline|playbooks|devicestate|embedded`, `--sizes 200000,1000000`, `--mapping-records 50000`,
 * `--worker-node-options=--max-old-space-size=256` (flags of the measured worker processes),
 * `--workers 2` (worker processes sharing the queues; peak RSS is the largest of them),
 * `--device-state off` (the pipeline without the device-state merge, for comparison).
 * Every Redis key of a pipeline run is removed when it ends, also on error, Ctrl-C or SIGTERM.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseMessage } from "../connectors/syslog/message.ts";
import { indexOfStore, snapshotStore } from "../mappings/advisories/store.ts";
import { getMapper, mapRecord } from "../monitors/index.ts";
import { armisRecords } from "../simulators/armis/records.ts";
import { createFleet } from "../simulators/fleet/fleet.ts";
import { nozomiAlertCef, xdomeAlertCef } from "../simulators/syslog-forwarder.ts";
import { deleteKeysOf, interrupted, onInterrupt } from "./cleanup.ts";
import { printRedisDeviceState, redisDeviceStateBench } from "./device-state.ts";
import { benchPlaybooks } from "./playbooks.ts";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    only: { type: "string" },
    sizes: { type: "string", default: "200000,1000000" },
    "mapping-records": { type: "string", default: "50000" },
    /** Node options of the measured worker process, e.g. "--max-old-space-size=192". */
    "worker-node-options": { type: "string", default: "" },
    /** Worker processes sharing the queues: one runs `start --once`, the others `start --workers-only`. */
    workers: { type: "string", default: "1" },
    alerts: { type: "string", default: "1000" },
    "embedded-devices": { type: "string", default: "20000" },
    /** `off` measures the pipeline without the device-state merge (to see what the merge costs). */
    "device-state": { type: "string", default: "on" },
    "alert-rate": { type: "string", default: "20" },
    /** Where the playbook bench runs the outside systems' simulators: `own` (their own process) or `in-process`. */
    "playbook-sims": { type: "string", default: "own" },
    "state-devices": { type: "string", default: "200000" },
    "redis-url": { type: "string", default: "redis://127.0.0.1:6379" },
  },
});
const workerNodeOptions = String(values["worker-node-options"]).split(/\s+/).filter(Boolean);

/** The figures of the previous full run (bench/results/latest.json as it is before this run writes it). */
const previous = await readFile(join(here, "results", "latest.json"), "utf8")
  .then((text) => JSON.parse(text) as PreviousResults)
  .catch(() => undefined);
interface PreviousResults {
  date?: string;
  mapping?: { ratio?: number };
  pipeline?: { runs?: { devices: number; devicesPerSecond: number; peakRssMB: number }[] };
}

/** ` (×1.23 vs 5,289/s on 2026-11-28)`: a figure against the previous run's, when there is one. */
function versus(now: number, before: number | undefined, unit = ""): string {
  if (!before) return "";
  const day = previous?.date?.slice(0, 10) ?? "the previous run";
  return ` (×${(now / before).toFixed(2)} vs ${before.toLocaleString("en")}${unit} on ${day})`;
}

function rate(n: number, ns: bigint): number {
  return n / (Number(ns) / 1e9);
}

function benchMapping(count: number) {
  const fleet = createFleet({ size: count, seed: 3 });
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(armisRecords(fleet).deviceJson(i));
  const ctx = { source: "armis", stream: "device", ingestedAt: "2026-11-28T00:00:00.000Z" };
  let sink = 0;
  const baseline = () => {
    const t = process.hrtime.bigint();
    for (const line of lines) sink += JSON.stringify(JSON.parse(line)).length;
    return process.hrtime.bigint() - t;
  };
  const mapping = () => {
    const t = process.hrtime.bigint();
    for (const line of lines)
      sink += JSON.stringify(mapRecord("armis", "device", JSON.parse(line), ctx)).length;
    return process.hrtime.bigint() - t;
  };
  baseline();
  mapping(); // warm-up
  const b: number[] = [];
  const m: number[] = [];
  for (let round = 0; round < 5; round++) {
    b.push(rate(count, baseline()));
    m.push(rate(count, mapping()));
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
  const mapped = median(m);
  const plain = median(b);
  if (sink < 0) console.log(sink);
  return {
    records: count,
    mappedPerSecond: Math.round(mapped),
    parseStringifyPerSecond: Math.round(plain),
    ratio: Number((mapped / plain).toFixed(3)),
    target: ">= 0.6",
  };
}

function benchEnrichment(count: number) {
  const fleet = createFleet({ size: count, seed: 3 });
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(armisRecords(fleet).deviceJson(i));
  const advisories = indexOfStore(snapshotStore());
  const ctx = { source: "armis", stream: "device", ingestedAt: "2026-11-28T00:00:00.000Z", advisories };
  const mapper = getMapper("armis", "device");
  let sink = 0;
  const timed = (enrich: boolean, cold: boolean) => {
    const t = process.hrtime.bigint();
    for (const line of lines) {
      if (cold) advisories.cache.clear();
      const doc = enrich
        ? mapRecord("armis", "device", JSON.parse(line), ctx)
        : mapper(JSON.parse(line), ctx);
      sink += JSON.stringify(doc).length;
    }
    return process.hrtime.bigint() - t;
  };
  timed(false, false);
  timed(true, false); // warm-up
  const raw: number[] = [];
  const warm: number[] = [];
  const cold: number[] = [];
  for (let round = 0; round < 5; round++) {
    raw.push(rate(count, timed(false, false)));
    warm.push(rate(count, timed(true, false)));
    cold.push(rate(count, timed(true, true)));
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
  if (sink < 0) console.log(sink);
  return {
    records: count,
    advisories: advisories.advisories.size,
    kevEntries: advisories.kev.size,
    withoutPerSecond: Math.round(median(raw)),
    withPerSecond: Math.round(median(warm)),
    withColdCachePerSecond: Math.round(median(cold)),
    ratio: Number((median(warm) / median(raw)).toFixed(3)),
    coldRatio: Number((median(cold) / median(raw)).toFixed(3)),
    target: ">= 0.5",
  };
}

function benchSyslog(count: number) {
  const fleet = createFleet({ size: 50_000, seed: 3 });
  const lines: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const k = (i >> 1) % fleet.alertCount;
    lines.push(Buffer.from(i % 2 === 0 ? nozomiAlertCef(fleet, k) : xdomeAlertCef(fleet, k)));
  }
  const receivedAt = new Date("2026-11-28T00:00:00.000Z");
  const opts = { ingestedAt: "2026-11-28T00:00:00.000Z" };
  let sink = 0;
  const run = (map: boolean) => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < lines.length; i++) {
      const p = parseMessage({ bytes: lines[i] as Buffer, transport: "tcp", peer: "b", receivedAt });
      if (!p.ok) continue;
      const source = i % 2 === 0 ? "nozomi" : "claroty_xdome";
      sink += map ? JSON.stringify(mapRecord(source, "alert", p.record, opts)).length : p.record.raw.length;
    }
    return process.hrtime.bigint() - t;
  };
  run(false);
  run(true); // warm-up
  const parsed: number[] = [];
  const mapped: number[] = [];
  for (let round = 0; round < 5; round++) {
    parsed.push(rate(count, run(false)));
    mapped.push(rate(count, run(true)));
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
  if (sink < 0) console.log(sink);
  return {
    lines: count,
    parsedAndMappedPerSecond: Math.round(median(mapped)),
    parsedPerSecond: Math.round(median(parsed)),
  };
}

/** Children of the running benchmark: killed (and their Redis keys removed) on Ctrl-C. */
const children = new Set<ReturnType<typeof spawn>>();

function runChild(
  args: string[],
  nodeOptions: string[] = [],
): { child: ReturnType<typeof spawn>; firstLine: Promise<string> } {
  const child = spawn(process.execPath, [...nodeOptions, "--import", "tsx", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  track(child);
  const firstLine = new Promise<string>((resolve, reject) => {
    let buf = "";
    child.stdout?.on("data", (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf("\n");
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    child.on("exit", (code) => reject(new Error(`${args[0]} exited with ${code} before answering`)));
  });
  return { child, firstLine };
}

function track(child: ReturnType<typeof spawn>): void {
  children.add(child);
  child.on("exit", () => children.delete(child));
}

/**
 * Stops a child and waits until it is gone: after `graceMs` for it to exit by itself (the worker
 * exits once it answered; `--cpu-prof` writes its profile then), `signal` (SIGKILL by default: it
 * must stop writing to Redis now).
 */
async function stop(
  child: ReturnType<typeof spawn>,
  signal: NodeJS.Signals = "SIGKILL",
  graceMs = 0,
): Promise<void> {
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  if (exited()) return;
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const within = (ms: number) =>
    Promise.race([gone, new Promise((resolve) => setTimeout(resolve, ms).unref())]);
  if (graceMs > 0) await within(graceMs);
  if (exited()) return;
  child.kill(signal);
  await within(10_000);
}

/** CPU seconds (user + system) a live Linux process has used so far, or 0 when unknown. */
async function cpuSecondsOf(pid: number | undefined): Promise<number> {
  if (!pid) return 0;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Peak resident set (VmHWM) of a live Linux process, in bytes. */
async function peakRssOf(pid: number | undefined): Promise<number> {
  if (!pid) return 0;
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function benchPipeline(devices: number, workers: number) {
  const doubles = runChild([join(here, "doubles.ts"), String(devices)]);
  const urls = JSON.parse(await doubles.firstLine) as {
    armis: string;
    secret: string;
    es: string;
    control: string;
  };
  const dir = await mkdtemp(join(tmpdir(), "medsoc-bench-"));
  // Unique per run and process: every key containing it is deleted when the run ends, however.
  const prefix = `bench${Date.now()}p${process.pid}`;
  const configFile = join(dir, "medsoc.yaml");
  await writeFile(
    configFile,
    JSON.stringify({
      queue: { driver: "bullmq", prefix, concurrency: { poll: 1, map: 2, sink: 2 }, maxPendingBatches: 8 },
      sources: [
        {
          type: "armis",
          streams: ["device"],
          config: { baseUrl: urls.armis, secretKey: urls.secret, pageSize: 1000, initialLookbackSeconds: 0 },
        },
      ],
      sinks: { elasticsearch: { node: urls.es, concurrency: 2 } },
      api: { enabled: false },
      ...(values["device-state"] === "off" ? { deviceState: { enabled: false } } : {}),
    }),
  );
  // Ctrl-C or SIGTERM: the workers die first (so nothing writes any more), then the keys go.
  const removeHandlers = onInterrupt(async () => {
    await Promise.all([...children].map((c) => stop(c)));
    const n = await deleteKeysOf(prefix);
    process.stderr.write(`removed ${n} Redis key(s) of ${prefix}\n`);
    await rm(dir, { recursive: true, force: true });
  });
  const replicas = Array.from({ length: workers - 1 }, () =>
    spawn(
      process.execPath,
      [
        ...workerNodeOptions,
        join(here, "..", "bin", "medsoc.mjs"),
        "start",
        "--workers-only",
        "--config",
        configFile,
      ],
      { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, MEDSOC_LOG_LEVEL: "warn" } },
    ),
  );
  for (const r of replicas) track(r);
  let worker: ReturnType<typeof runChild> | undefined;
  try {
    worker = runChild([join(here, "pipeline.ts"), configFile], workerNodeOptions);
    const result = JSON.parse(await worker.firstLine) as {
      seconds: number;
      cpuSeconds: number;
      polled: number;
      delivered: number;
      deadLettered: number;
      peakRssBytes: number;
    };
    const replicaRss = await Promise.all(replicas.map((r) => peakRssOf(r.pid)));
    // The simulated API and the Elasticsearch double share the machine: what they took matters.
    const doublesCpu = await cpuSecondsOf(doubles.child.pid);
    const stored = ((await (await fetch(`${urls.control}/count`)).json()) as { count: number }).count;
    return {
      devices,
      workers,
      seconds: Number(result.seconds.toFixed(2)),
      // Stored in the double, not this process's own count: replicas deliver part of the batches.
      devicesPerSecond: Math.round(stored / result.seconds),
      // CPU time of the main worker process per 1,000 devices (comparable on a busy machine).
      workerCpuSeconds: Number(result.cpuSeconds.toFixed(2)),
      workerCpuMsPer1000: Math.round((result.cpuSeconds * 1e6) / Math.max(1, result.polled)),
      doublesCpuSeconds: Number(doublesCpu.toFixed(2)),
      polled: result.polled,
      deliveredByMainProcess: result.delivered,
      storedInDouble: stored,
      deadLettered: result.deadLettered,
      peakRssMB: Math.round(Math.max(result.peakRssBytes, ...replicaRss) / 1024 / 1024),
    };
  } catch (error) {
    // Interrupted: the children were killed on purpose; the signal handler exits once it cleaned up.
    if (interrupted()) await new Promise(() => undefined);
    throw error;
  } finally {
    // Also on error: no child left running, no key of this run left in Redis.
    await Promise.all([
      ...replicas.map((c) => stop(c, "SIGTERM")),
      ...(worker ? [stop(worker.child, "SIGTERM", 60_000)] : []),
    ]);
    await stop(doubles.child, "SIGTERM");
    const left = await deleteKeysOf(prefix);
    if (left > 0) process.stderr.write(`removed ${left} Redis key(s) of ${prefix}\n`);
    await rm(dir, { recursive: true, force: true });
    removeHandlers();
  }
}

/**
 * Runs the embedded default once and reads its peak resident set (VmHWM, a high-water mark) from
 * /proc while it runs; the last reading before it exits is the peak.
 */
async function benchEmbedded(devices: number) {
  const dir = await mkdtemp(join(tmpdir(), "medsoc-bench-embedded-"));
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [
      ...workerNodeOptions,
      join(here, "..", "bin", "medsoc.mjs"),
      "start",
      "--once",
      "--devices",
      String(devices),
      "--out",
      dir,
    ],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, MEDSOC_LOG_LEVEL: "error" } },
  );
  let stdout = "";
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  let peak = 0;
  const timer = setInterval(() => {
    void peakRssOf(child.pid).then((b) => {
      peak = Math.max(peak, b);
    });
  }, 250);
  try {
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    return {
      devices,
      exitCode: code,
      seconds: Number(((Date.now() - started) / 1000).toFixed(1)),
      peakRssMB: Math.round(peak / 1024 / 1024),
      documents: Number(/mapped (\d+) ECS documents/.exec(stdout)?.[1] ?? 0),
    };
  } finally {
    clearInterval(timer);
    await rm(dir, { recursive: true, force: true });
  }
}

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  memoryGB: Math.round(totalmem() / 1024 ** 3),
};

if (!values.only || values.only === "mapping") {
  const m = benchMapping(Number(values["mapping-records"]));
  results.mapping = m;
  console.log(
    `mapping   ${m.mappedPerSecond.toLocaleString("en")} devices/s mapped+stringified vs ${m.parseStringifyPerSecond.toLocaleString("en")}/s parse+stringify → ratio ${m.ratio}${versus(m.ratio, previous?.mapping?.ratio)} (target ≥ 0.6)`,
  );
}

if (!values.only || values.only === "enrichment") {
  const e = benchEnrichment(Number(values["mapping-records"]));
  results.enrichment = e;
  console.log(
    `enrichment ${e.withPerSecond.toLocaleString("en")} devices/s mapped+enriched vs ${e.withoutPerSecond.toLocaleString("en")}/s mapped (${e.advisories} advisories, ${e.kevEntries} KEV) → ratio ${e.ratio}; cold match cache ${e.withColdCachePerSecond.toLocaleString("en")}/s → ratio ${e.coldRatio} (target ≥ 0.5)`,
  );
}

if (!values.only || values.only === "syslog") {
  const r = benchSyslog(Number(values["mapping-records"]));
  results.syslog = r;
  console.log(
    `syslog    ${r.parsedAndMappedPerSecond.toLocaleString("en")} CEF lines/s parsed+mapped+stringified vs ${r.parsedPerSecond.toLocaleString("en")}/s parsed only`,
  );
}

if (!values.only || values.only === "pipeline") {
  const sizes = String(values.sizes)
    .split(",")
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0);
  const runs = [];
  for (const size of sizes) {
    const r = await benchPipeline(size, Math.max(1, Number(values.workers)));
    runs.push(r);
    const before = previous?.pipeline?.runs?.find((p) => p.devices === r.devices);
    console.log(
      `pipeline  ${r.devices.toLocaleString("en")} devices, ${r.workers} worker process(es): ${r.devicesPerSecond.toLocaleString("en")} devices/s${versus(r.devicesPerSecond, before?.devicesPerSecond, "/s")} (${r.seconds} s; worker CPU ${r.workerCpuSeconds} s, ${r.workerCpuMsPer1000} ms per 1,000 devices; doubles CPU ${r.doublesCpuSeconds} s), peak RSS ${r.peakRssMB} MB${versus(r.peakRssMB, before?.peakRssMB, " MB")}, stored ${r.storedInDouble}, dead-lettered ${r.deadLettered} (targets ≥ 25,000/s, < 400 MB)`,
    );
  }
  const first = runs[0];
  const last = runs[runs.length - 1];
  results.pipeline = {
    workerNodeOptions,
    runs,
    rssRatioLargestToSmallest:
      first && last ? Number((last.peakRssMB / first.peakRssMB).toFixed(2)) : undefined,
  };
  if (first && last && runs.length > 1)
    console.log(
      `pipeline  peak RSS ${last.devices.toLocaleString("en")} vs ${first.devices.toLocaleString("en")} devices: ×${(last.peakRssMB / first.peakRssMB).toFixed(2)} (1.0 = not growing with fleet size)`,
    );
}

if (!values.only || values.only === "playbooks") {
  const runs = [];
  for (const kind of ["memory", "bullmq"] as const) {
    const r = await benchPlaybooks(
      kind,
      Number(values.alerts),
      Number(values["alert-rate"]),
      undefined,
      values["playbook-sims"] === "in-process" ? "in-process" : "own-process",
    );
    runs.push(r);
    console.log(
      `playbooks ${r.driver.padEnd(6)} ${r.containedVerified}/${r.alerts} pumps contained and verified; alert → containment verified p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms at ${r.ratePerSecond} alerts/s; peak RSS ${r.peakRssMB} MB; ${r.cpuMsPerAlert} ms CPU per alert; simulators ${r.simulators} (target p99 < 2000 ms)`,
    );
  }
  results.playbooks = runs;
}

if (values.only === "embedded") {
  const r = await benchEmbedded(Number(values["embedded-devices"]));
  results.embedded = r;
  console.log(
    `embedded  ${r.devices.toLocaleString("en")} devices: peak RSS ${r.peakRssMB} MB, ${r.documents.toLocaleString("en")} documents in ${r.seconds} s, exit ${r.exitCode} (target < 500 MB)`,
  );
}

if (!values.only || values.only === "devicestate") {
  const r = await redisDeviceStateBench(Number(values["state-devices"]), String(values["redis-url"]));
  results.deviceState = r;
  printRedisDeviceState(r);
}

// `--only playbooks` keeps the other figures of latest.json intact.
const out = join(
  here,
  "results",
  values.only === "playbooks"
    ? "playbooks.json"
    : values.only === "embedded"
      ? "embedded.json"
      : "latest.json",
);
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`written ${out}`);
