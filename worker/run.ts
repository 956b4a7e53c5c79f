import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { connectorSchemas, createConnector } from "../connectors/index.ts";
import { type ComponentSchemas, loadConfigFile, type MedsocConfig, validateConfig } from "../core/config.ts";
import { RetryableError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { createRedis, queueRedisTarget, type RedisClient, type RedisTarget } from "../core/redis.ts";
import { batchShipper } from "../playbooks/engine/audit.ts";
import { createPlaybookRuntime, type PlaybookRuntime } from "../playbooks/index.ts";
import { formatPlaybookSummary, type PlaybookSummary, summarizeStore } from "../playbooks/summary.ts";
import { type Hospital, startHospital } from "../simulators/hospital.ts";
import { startExtendedResponseSystems } from "../simulators/response/enforcement.ts";
import { clinicalServersOf, startResponseSystems } from "../simulators/response/index.ts";
import { createApi } from "./api.ts";
import { loadAdvisoryIndex } from "./commands/advisories.ts";
import { createCursorStore } from "./cursors/index.ts";
import { createDeviceStateStore, writeStateSnapshot } from "./device-state/index.ts";
import { boundHeapGrowth } from "./memory.ts";
import { Metrics } from "./metrics.ts";
import { Pipeline, type SourceInstance } from "./pipeline.ts";
import { registerPlaybookRoutes } from "./playbook-routes.ts";
import { RedisOutageError, withinRedisGrace } from "./queue/common.ts";
import { createQueueDriver, MemoryQueueDriver } from "./queue/index.ts";
import { type RunningReceivers, startReceivers } from "./receivers.ts";
import { Scheduler, slotFor } from "./scheduler.ts";
import { appendNdjson } from "./sinks/file.ts";
import { createSinks, sinkSchemas } from "./sinks/index.ts";
import { type DeliveryLedger, MemoryDeliveryLedger, RedisDeliveryLedger } from "./sinks/ledger.ts";

/** Schemas of every component, for `validate-config` and `start --config`. */
export function componentSchemas(): ComponentSchemas {
  return { sources: connectorSchemas(), sinks: sinkSchemas() };
}

export interface StartOptions {
  /** A medsoc.yaml; without it, the embedded default runs (memory queues, simulator, ./out). */
  configFile?: string;
  /** Poll every stream until exhausted, drain the queues and return. @defaultValue false */
  once?: boolean;
  /**
   * Run only the stage workers (no scheduler, no initial poll): extra replicas that share the
   * queues of a deployment whose scheduling runs elsewhere. @defaultValue false
   */
  workersOnly?: boolean;
  /** Simulated fleet size in the embedded default. @defaultValue 3000 */
  devices?: number;
  /** Output folder of the embedded default. @defaultValue "./out" */
  outDir?: string;
  /** Print a live progress line on stderr. @defaultValue true when stderr is a TTY */
  progress?: boolean;
  log: Logger;
  /** Resolves when the process should stop (SIGINT/SIGTERM). */
  stopSignal?: Promise<void>;
  /** Where the summary goes. @defaultValue process.stdout */
  out?: NodeJS.WritableStream;
}

export interface StartSummary {
  seconds: number;
  polled: number;
  mapped: number;
  delivered: Record<string, number>;
  duplicates: number;
  deadLettered: number;
  /** Poll jobs given up: their streams were not (fully) collected. */
  failedPolls: number;
  /** Records the push receivers (HTTP push, syslog) enqueued. */
  pushed: number;
  /** Simulated monitors whose push failed (embedded default). */
  failedPushes: number;
  perStream: Record<string, { polled: number; mapped: number; pushed?: number }>;
  outputs: string[];
  /** What the playbooks did (when they run in this process). */
  playbooks?: PlaybookSummary;
  /**
   * Jobs left in the in-memory queues at shutdown (embedded default): they are lost with the process,
   * and the summary says so (for example delayed playbook steps after SIGTERM).
   */
  leftInMemory?: { queue: string; waiting: number; delayed: number }[];
}

/** `medsoc start`: wires queues, connectors, sinks, scheduler and API, then runs until stopped or drained. */
export async function runStart(options: StartOptions): Promise<StartSummary> {
  const started = Date.now();
  const log = options.log;
  const cleanups: (() => Promise<void>)[] = [];
  let config: MedsocConfig;
  const embedded = !options.configFile;
  const outDir = resolve(options.outDir ?? "out");
  let hospital: Hospital | undefined;
  if (options.configFile) {
    config = await loadConfigFile(options.configFile, componentSchemas());
  } else {
    // One process holds the simulated hospital, the queues and the device state: keep its heap
    // near what is live (worker/memory.ts).
    boundHeapGrowth();
    const sim = await startHospital({ devices: options.devices ?? 3000 });
    hospital = sim;
    cleanups.push(() => sim.stop());
    // Every enforcement point medsoc drives (ISE, PAN-OS, ClearPass, FortiGate, Armis, xDome,
    // Forescout), so the shipped playbooks show containment through all of them.
    const [response, extended] = await Promise.all([
      startResponseSystems({ fleet: sim.fleet }),
      startExtendedResponseSystems({ fleet: sim.fleet }),
    ]);
    cleanups.push(
      () => response.stop(),
      () => extended.stop(),
    );
    log.info(
      { devices: sim.fleet.size, monitors: sim.monitors.map((m) => `${m.source} ${m.url}`) },
      "Simulated hospital started.",
    );
    config = validateConfig(
      {
        queue: { driver: "memory" },
        sources: sim.monitors.map((m) => ({
          type: m.source,
          schedule: "*/30 * * * * *",
          intervalSeconds: 30,
          config: m.sourceConfig,
        })),
        sinks: { file: { dir: outDir } },
        api: { port: 8787 },
        // Both push receivers on loopback, any free port, a generated token per monitor.
        receivers: {
          syslog: { enabled: true, host: "127.0.0.1", tcpPort: 0, udpPort: 0 },
          httpPush: {
            enabled: true,
            host: "127.0.0.1",
            port: 0,
            tokens: Object.fromEntries(
              sim.monitors.map((m) => [m.source, randomBytes(24).toString("base64url")]),
            ),
          },
        },
        playbooks: {
          enabled: true,
          // The first pull of the simulated hospital brings its whole alert history at once (what a
          // real hospital sees over days): a higher blast radius than the production default of 10.
          // The simulated fleet's observations are historical (2025), so the clinical gate sees every
          // "not in use" as stale and holds those pumps for clinical engineering too
          // (docs/playbooks-safety.md).
          blastRadiusPerHour: 30,
          auditFile: resolve(outDir, "audit-chain.ndjson"),
          clinicalServers: clinicalServersOf(sim.fleet),
          systems: { ...response.systemsConfig(), ...extended.systemsConfig() },
          // Approval requests go to the simulated approver's own DM with a one-time link.
          approvals: {
            linkSecret: randomBytes(32).toString("base64url"),
            approvers: [
              {
                identity: "clinical.engineering",
                role: "clinical_engineering",
                slackWebhookUrl: response.chat.personal("slack", "clinical.engineering"),
              },
            ],
          },
        },
      },
      componentSchemas(),
      {},
      "embedded default",
    );
  }

  const metrics = new Metrics();
  const q = config.queue;
  // Producers fail fast (BullMQ production guide): an unreachable Redis at start is a clear error,
  // not workers waiting forever. Once running, workers wait for Redis to come back.
  const redisTarget = queueRedisTarget(q);
  if (q.driver === "bullmq") await checkRedis(redisTarget);
  const driver = createQueueDriver(
    q.driver === "bullmq"
      ? {
          kind: "bullmq",
          redisUrl: q.redisUrl,
          cluster: q.cluster,
          prefix: q.prefix,
          attempts: q.attempts,
          backoffMs: q.backoffMs,
          graceMs: q.redisGraceMs,
        }
      : { kind: "memory", attempts: q.attempts, backoffMs: q.backoffMs },
    log,
  );
  const cursors = createCursorStore(
    q.driver === "bullmq"
      ? { kind: "redis", redisUrl: q.redisUrl, cluster: q.cluster, prefix: q.prefix, graceMs: q.redisGraceMs }
      : { kind: "memory" },
  );
  const sources: SourceInstance[] = config.sourceConfigs.map((s) => ({
    name: s.name,
    type: s.type,
    streams: s.streams,
    connector: createConnector(s.type, s.config, { log: log.child({ source: s.name }) }),
  }));
  const sinks = createSinks(config.sinkConfigs, { log });
  // Splunk indexes whatever it is sent: delivered ids are remembered so re-delivery sends nothing twice.
  const ledger: DeliveryLedger | undefined = sinks.some((s) => s.idempotent === false)
    ? q.driver === "bullmq"
      ? new RedisDeliveryLedger({
          redisUrl: q.redisUrl,
          cluster: q.cluster,
          prefix: q.prefix,
          graceMs: q.redisGraceMs,
        })
      : new MemoryDeliveryLedger()
    : undefined;
  // One identity per device: Redis with the bullmq driver (shared by every worker), memory otherwise.
  const deviceState = config.deviceState.enabled
    ? createDeviceStateStore(
        q.driver === "bullmq"
          ? {
              kind: "redis",
              redisUrl: q.redisUrl,
              cluster: q.cluster,
              prefix: q.prefix,
              enrichment: config.enrichment,
              graceMs: q.redisGraceMs,
            }
          : { kind: "memory", enrichment: config.enrichment },
      )
    : undefined;
  let pipelineRef: Pipeline | undefined;
  let playbooks: PlaybookRuntime | undefined;
  const shipAudit = batchShipper(
    async (docs) => {
      if (pipelineRef)
        await pipelineRef.enqueueDocs("audit", docs, String(docs[0]?.medsoc.doc_id).slice(0, 24));
    },
    { onError: (error) => log.warn({ err: error }, "Shipping audit entries to the sinks failed.") },
  );
  if (config.playbooks.enabled) {
    playbooks = await createPlaybookRuntime({
      config: config.playbooks,
      driver,
      redis:
        q.driver === "bullmq"
          ? { url: q.redisUrl, cluster: q.cluster, prefix: q.prefix, graceMs: q.redisGraceMs }
          : undefined,
      ship: shipAudit,
      deviceState,
      log: log.child({ component: "playbooks" }),
      // A one-shot backfill starts playbooks once every monitor's pull is in the device state.
      holdRulesUntilFlush: options.once === true,
    });
    playbooks.engine.startWorkers();
    log.info({ playbooks: [...playbooks.engine.playbooks.keys()] }, "Playbooks loaded.");
  }
  const pipeline = new Pipeline({
    driver,
    cursors,
    sources,
    sinks,
    metrics,
    log,
    preserveOriginal: config.mapping.preserveOriginal,
    preserveDuplicateVendorFields: config.mapping.preserveDuplicateVendorFields,
    // Documents say the data stream they are written to: the Elasticsearch sink's namespace.
    namespace:
      (config.sinkConfigs.elasticsearch as { namespace?: string } | undefined)?.namespace ?? "default",
    advisories: await loadAdvisoryIndex(),
    concurrency: q.concurrency,
    maxPendingBatches: q.maxPendingBatches,
    attempts: q.attempts,
    redisGraceMs: q.redisGraceMs,
    ledger,
    deviceState,
    enrichment: config.enrichment,
    onMapped: playbooks ? (docs) => (playbooks as PlaybookRuntime).rules.onDocuments(docs) : undefined,
  });
  pipelineRef = pipeline;
  pipeline.start();

  let redisPing: RedisClient | undefined;
  if (q.driver === "bullmq") {
    redisPing = createRedis(redisTarget, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
    });
    // `/readyz` reports the outage; without a listener ioredis prints every reconnect attempt.
    redisPing.on("error", () => undefined);
    await redisPing.connect().catch(() => undefined);
  }
  const api = config.api.enabled
    ? createApi({
        metrics,
        log,
        maxBodyBytes: config.api.maxBodyBytes,
        timeouts: config.api.timeouts,
        beforeScrape: () => pipeline.collectQueueDepth(),
        routes: playbooks
          ? (app) => registerPlaybookRoutes(app, playbooks as PlaybookRuntime, config.playbooks)
          : undefined,
        ready: async (): Promise<{ ok: boolean; checks: Record<string, string> }> => {
          if (!redisPing) return { ok: true, checks: { queue: "memory" } };
          try {
            await redisPing.ping();
            return { ok: true, checks: { redis: "ok" } };
          } catch (error) {
            return { ok: false, checks: { redis: (error as Error).message } };
          }
        },
      })
    : undefined;
  if (api) {
    try {
      const address = await api.listen({ host: config.api.host, port: config.api.port });
      log.info({ address }, "HTTP API listening.");
    } catch (error) {
      if (!embedded) throw error;
      const address = await api.listen({ host: config.api.host, port: 0 });
      log.warn(
        { address, port: config.api.port },
        "Port taken; the HTTP API listens on a free port instead.",
      );
    }
  }

  let receivers: RunningReceivers | undefined;
  let failedPushes = 0;
  try {
    // Replicas run stage workers only: the receivers listen in the process that schedules.
    if (!options.workersOnly) receivers = await startReceivers({ config, pipeline, driver, metrics, log });
  } catch (error) {
    await pipeline.close();
    await api?.close();
    redisPing?.disconnect();
    throw error;
  }
  // The simulated monitors that push (Cynerio events, Forescout host push, syslog forwarders) send
  // their records once the receivers listen, so `start --once` ingests pushed streams too.
  if (hospital && receivers) {
    const targets = receivers.targets;
    for (const m of hospital.monitors) {
      if (!m.push) continue;
      try {
        const sent = await m.push(targets);
        log.info({ source: m.source, records: sent }, "Simulated monitor pushed its records.");
      } catch (error) {
        failedPushes++;
        log.error({ source: m.source, err: error }, "Simulated monitor push failed.");
      }
    }
    await receivers.settled();
  }

  const progress = startProgress(metrics, pipeline, options.progress ?? Boolean(process.stderr.isTTY));
  let scheduler: Scheduler | undefined;
  let outage: RedisOutageError | undefined;
  try {
    // --once is a backfill of its own; otherwise the first poll takes the current schedule slot,
    // so replicas started together (and the first cron tick of this slot) poll once.
    const intervals = new Map(config.sourceConfigs.map((s) => [s.name, s.intervalSeconds]));
    const startedAt = new Date();
    if (options.workersOnly) {
      await (options.stopSignal ?? new Promise<void>(() => undefined));
    } else
      await pipeline.pollAll(
        options.once
          ? `now-${startedAt.getTime()}`
          : (name) => slotFor(startedAt, intervals.get(name) ?? 300),
      );
    if (options.workersOnly) {
      // Stopped above; nothing to schedule.
    } else if (options.once) {
      await pipeline.drained();
      if (playbooks) {
        await playbooks.rules.flushPending();
        // Runs waiting for an approval hold no job (only their delayed timeout): wait for the rest.
        const q2 = playbooks.engine.queue;
        for (;;) {
          const n = await withinRedisGrace("waiting for the playbook runs", q.redisGraceMs, () =>
            q2.counts(),
          );
          if (n.waiting + n.active === 0) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        await playbooks.audit.flush();
        // The head as of now, signed, reaches the sinks with the last entries.
        await playbooks.audit.checkpoint();
        await shipAudit.flush();
        await pipeline.drained();
      }
    } else {
      scheduler = new Scheduler(
        pipeline.pollQueue,
        config.sourceConfigs.flatMap((s) =>
          s.streams.map((stream) => ({
            source: s.name,
            stream,
            cron: s.schedule,
            intervalSeconds: s.intervalSeconds,
          })),
        ),
        { log },
      );
      scheduler.start();
      await (options.stopSignal ?? new Promise<void>(() => undefined));
    }
  } catch (error) {
    if (error instanceof RedisOutageError) {
      outage = new RedisOutageError(
        `${error.message}. The run stopped before the queues drained; what was enqueued stays in Redis: rerun once Redis is back`,
        { cause: error },
      );
      throw outage;
    }
    throw error;
  } finally {
    progress.stop();
    scheduler?.stop();
    if (outage) {
      // Redis is gone for good: a graceful close would wait for it forever (in-flight jobs cannot
      // be handed back). What was enqueued stays in Redis; cursors only moved past what was.
      log.error({ err: outage }, "Redis did not come back within the grace; stopping without draining.");
      await settleWithin(
        Promise.allSettled([
          receivers?.close(),
          playbooks?.close(),
          pipeline.close(),
          ...sinks.map((s) => s.close()),
          ledger?.close(),
          ...sources.map((s) => s.connector.close()),
          api?.close(),
          deviceState?.close(),
          cursors.close(),
          driver.close(),
          ...cleanups.map((c) => c()),
        ]),
        3000,
      );
      redisPing?.disconnect();
    } else {
      // Receivers first: what they buffered is enqueued while the workers still run.
      await receivers?.close();
      if (playbooks) {
        await playbooks.engine.close();
        await playbooks.audit.flush();
        await playbooks.audit.checkpoint();
        await shipAudit.flush();
      }
      await pipeline.close();
      await Promise.all(sinks.map((s) => s.close()));
      await ledger?.close();
      await Promise.all(sources.map((s) => s.connector.close()));
      await api?.close();
      redisPing?.disconnect();
    }
  }

  const summary = await summarize(
    metrics,
    started,
    sinks.map((s) => s.name),
  );
  summary.failedPushes = failedPushes;
  if (playbooks) {
    const pbs = playbooks.engine.playbooks;
    summary.playbooks = await summarizeStore(playbooks.store, (pb, step) => {
      const p = pbs.get(pb);
      return (p?.steps.find((s) => s.id === step) ?? p?.finally.find((s) => s.id === step))?.action;
    });
    await playbooks.close();
  }
  if (embedded) {
    const dead = await driver.deadLetters().list(0, -1);
    await mkdir(outDir, { recursive: true });
    const deadFile = resolve(outDir, "dead-letter.ndjson");
    // Written in chunks (up to maxDeadLetters entries, each a whole document): not one big string.
    await writeFile(deadFile, "");
    await appendNdjson(deadFile, dead);
    const streams = new Set(sources.flatMap((s) => s.streams));
    if (playbooks) streams.add("audit");
    for (const [key, n] of Object.entries(summary.perStream))
      if (n.pushed) streams.add(key.slice(key.indexOf("/") + 1));
    // The device state of the run, for `medsoc report --state out/device-state.ndjson`.
    const stateFile = resolve(outDir, "device-state.ndjson");
    if (deviceState) await writeStateSnapshot(deviceState, stateFile);
    summary.outputs = [
      ...[...streams].map((st) => resolve(outDir, `${st}.ndjson`)),
      ...(playbooks
        ? [resolve(outDir, "audit-chain.ndjson"), resolve(outDir, "audit-checkpoints.ndjson")]
        : []),
      deadFile,
      ...(deviceState ? [stateFile] : []),
    ];
  }
  await deviceState?.close();
  await cursors.close();
  await driver.close();
  if (driver instanceof MemoryQueueDriver && driver.leftOnClose.length > 0)
    summary.leftInMemory = [...driver.leftOnClose];
  for (const c of cleanups.reverse()) await c();
  return summary;
}

/** Waits for `work`, at most `ms`. */
async function settleWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Connects once to Redis and PINGs it; throws a clear error when it does not answer. */
export async function checkRedis(target: RedisTarget | string, timeoutMs = 5000): Promise<void> {
  const t = typeof target === "string" ? { url: target } : target;
  const where = (() => {
    try {
      if (t.cluster) return `cluster ${t.cluster.nodes.map((n) => new URL(n).host).join(",")}`;
      const u = new URL(t.url);
      return `${u.hostname}:${u.port || "6379"}`;
    } catch {
      return "the configured address";
    }
  })();
  const redis = createRedis(t, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let lastError: Error | undefined;
  redis.on("error", (error: Error) => {
    lastError = error;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new RetryableError(
      `${t.cluster ? "queue.cluster" : "queue.redisUrl"}: redis at ${where} is not reachable (${(lastError ?? (error as Error)).message}); start Redis or use queue.driver: memory`,
    );
  } finally {
    redis.disconnect();
  }
}

async function summarize(metrics: Metrics, started: number, sinkNames: string[]): Promise<StartSummary> {
  const { values } = await metrics.records.get();
  const perStream: StartSummary["perStream"] = {};
  for (const v of values) {
    const key = `${v.labels.source}/${v.labels.stream}`;
    perStream[key] ??= { polled: 0, mapped: 0 };
    if (v.labels.stage === "poll" && v.labels.direction === "out") perStream[key].polled += v.value;
    if (v.labels.stage === "map" && v.labels.direction === "out") perStream[key].mapped += v.value;
    if (v.labels.stage === "push" && v.labels.direction === "out")
      perStream[key].pushed = (perStream[key].pushed ?? 0) + v.value;
  }
  const delivered: Record<string, number> = {};
  for (const name of sinkNames)
    delivered[name] = await metrics.total(metrics.records, { stage: `sink.${name}`, direction: "out" });
  return {
    seconds: (Date.now() - started) / 1000,
    polled: await metrics.total(metrics.records, { stage: "poll", direction: "out" }),
    mapped: await metrics.total(metrics.records, { stage: "map", direction: "out" }),
    delivered,
    duplicates: await metrics.total(metrics.duplicates),
    deadLettered: await metrics.total(metrics.deadLettered),
    failedPolls: await metrics.total(metrics.pollsFailed),
    pushed: await metrics.total(metrics.records, { stage: "push", direction: "out" }),
    failedPushes: 0,
    perStream,
    outputs: [],
  };
}

function startProgress(metrics: Metrics, pipeline: Pipeline, enabled: boolean): { stop(): void } {
  if (!enabled) return { stop() {} };
  const tty = Boolean(process.stderr.isTTY);
  let last = "";
  const tick = async () => {
    const polled = await metrics.total(metrics.records, { stage: "poll", direction: "out" });
    const mapped = await metrics.total(metrics.records, { stage: "map", direction: "out" });
    const { values } = await metrics.records.get();
    const delivered = values
      .filter((v) => String(v.labels.stage).startsWith("sink.") && v.labels.direction === "out")
      .reduce((a, v) => a + v.value, 0);
    const dead = await metrics.total(metrics.deadLettered);
    let queued = 0;
    for (const q of pipeline.queues()) {
      const n = await q.counts();
      queued += n.waiting + n.active + n.delayed;
    }
    const line = `medsoc · polled ${polled} · mapped ${mapped} · delivered ${delivered} · dead-lettered ${dead} · jobs queued ${queued}`;
    if (line === last) return;
    last = line;
    process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
  };
  const timer = setInterval(() => void tick().catch(() => undefined), tty ? 250 : 5000);
  return {
    stop() {
      clearInterval(timer);
      void tick().then(() => tty && process.stderr.write("\n"));
    },
  };
}

/** What a job of each in-memory queue is, for the shutdown summary. */
const QUEUE_CONTENTS: Record<string, string> = {
  "playbook-steps": "playbook steps",
  poll: "polls",
  raw: "raw record batches",
};

/** Human-readable summary printed at the end of `medsoc start`. */
export function formatSummary(s: StartSummary): string {
  const lines = [
    `medsoc finished in ${s.seconds.toFixed(1)} s`,
    `  polled ${s.polled} records, mapped ${s.mapped} ECS documents, dead-lettered ${s.deadLettered}`,
  ];
  if (s.pushed) lines.push(`  received ${s.pushed} pushed records (HTTP push, syslog)`);
  for (const [stream, n] of Object.entries(s.perStream))
    if (n.polled || n.mapped || n.pushed)
      lines.push(
        `  ${stream.padEnd(24)} polled ${String(n.polled).padStart(8)}  mapped ${String(n.mapped).padStart(8)}${n.pushed ? `  pushed ${String(n.pushed).padStart(8)}` : ""}`,
      );
  for (const [sink, n] of Object.entries(s.delivered)) lines.push(`  sink ${sink}: ${n} delivered`);
  if (s.duplicates) lines.push(`  duplicates already in the destination: ${s.duplicates}`);
  if (s.failedPushes) lines.push(`  ${s.failedPushes} simulated monitor push(es) failed: see the log`);
  if (s.failedPolls)
    lines.push(`  ${s.failedPolls} poll(s) failed for good: see the dead-letter queue (medsoc dead-letters)`);
  if (s.playbooks) lines.push(...formatPlaybookSummary(s.playbooks));
  for (const left of s.leftInMemory ?? []) {
    const what = QUEUE_CONTENTS[left.queue] ?? (left.queue.startsWith("sink-") ? "document batches" : "jobs");
    const parts = [
      left.delayed ? `${left.delayed} delayed` : "",
      left.waiting ? `${left.waiting} waiting` : "",
    ].filter(Boolean);
    lines.push(`  left in memory at shutdown and dropped (queue ${left.queue}): ${parts.join(", ")} ${what}`);
  }
  for (const o of s.outputs) lines.push(`  output: ${o}`);
  return `${lines.join("\n")}\n`;
}
