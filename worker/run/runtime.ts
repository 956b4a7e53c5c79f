/**
 * The components `medsoc start` runs, wired from a configuration, and their shutdown. Every
 * component registers how it stops as it starts; `close()` stops them in reverse order of start, so
 * a half-started runtime (a port taken, a receiver that cannot bind) stops exactly what started.
 */

import type { FastifyInstance } from "fastify";
import { RetryableError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { createRedis, queueRedisTarget, type RedisClient, type RedisTarget } from "../../core/redis.ts";
import { loadAdvisoryIndex } from "../../mappings/advisories/store-file.ts";
import type { DeviceStateStore } from "../../mappings/device-state.ts";
import { createConnector } from "../../monitors/index.ts";
import { batchShipper } from "../../playbooks/engine/audit.ts";
import { createPlaybookRuntime, type PlaybookRuntime } from "../../playbooks/index.ts";
import { createApi } from "../api.ts";
import type { MedsocConfig } from "../config.ts";
import { createCursorStore } from "../cursors/index.ts";
import { createDeviceStateStore } from "../device-state/index.ts";
import { Metrics } from "../metrics.ts";
import { Pipeline, type SourceInstance } from "../pipeline.ts";
import { registerPlaybookRoutes } from "../playbook-routes.ts";
import { createQueueDriver, MemoryQueueDriver, type QueueDriver } from "../queue/index.ts";
import { type RunningReceivers, startReceivers } from "../receivers.ts";
import { createSinks } from "../sinks/index.ts";
import { type DeliveryLedger, MemoryDeliveryLedger, RedisDeliveryLedger } from "../sinks/ledger.ts";
import type { Sink } from "../sinks/types.ts";

export interface Runtime {
  config: MedsocConfig;
  metrics: Metrics;
  driver: QueueDriver;
  sources: SourceInstance[];
  sinks: Sink[];
  deviceState: DeviceStateStore | undefined;
  playbooks: PlaybookRuntime | undefined;
  /** Flushes audit entries waiting to reach the sinks. */
  shipAudit: { flush(): Promise<void> };
  pipeline: Pipeline;
  api: FastifyInstance | undefined;
  receivers: RunningReceivers | undefined;
  /** Jobs the memory queues still held when the driver closed (set by `close()`). */
  leftInMemory: { queue: string; waiting: number; delayed: number }[];
  /**
   * Stops every component in reverse order of start. Graceful by default: receivers hand over what
   * they buffered, workers finish their jobs, the playbooks' audit reaches the sinks, then `finish`
   * runs (the summary, while the stores are still open), then the stores and queues close. With
   * `abandon` (Redis gone for good), everything is closed at once, for at most `abandonMs`, and
   * `finish` does not run; nor with `finish: false` (the run failed: no summary).
   */
  close(options?: { abandon?: boolean; abandonMs?: number; finish?: boolean }): Promise<void>;
}

export interface RuntimeOptions {
  log: Logger;
  /** A one-shot backfill: rules wait until every monitor's pull is in (`start --once`). */
  once: boolean;
  /** Replicas run stage workers only: no receivers. */
  workersOnly: boolean;
  /** The embedded default: a taken API port falls back to a free one. */
  embedded: boolean;
  /**
   * Runs at shutdown after the workers have drained and before the stores and queues close
   * (summary, outputs). Not on a failed start or an abandoned close.
   */
  finish?: (runtime: Runtime) => Promise<void>;
  /** Also stopped by `close()`, last (the embedded simulators). */
  stopLast?: () => Promise<void>;
}

type Step = { name: string; stop: () => Promise<void>; abandon?: () => unknown };

/** Starts the runtime; on a failure part-way, stops what started and rethrows. */
export async function startRuntime(config: MedsocConfig, options: RuntimeOptions): Promise<Runtime> {
  const { log } = options;
  const steps: Step[] = [];
  const started = (name: string, stop: () => Promise<void>, abandon?: () => unknown) =>
    steps.push({ name, stop, ...(abandon ? { abandon } : {}) });
  let finishing = false;
  let closed = false;

  async function close(o: { abandon?: boolean; abandonMs?: number } = {}): Promise<void> {
    if (closed) return;
    closed = true;
    const order = steps.splice(0).reverse();
    if (o.abandon) {
      await settleWithin(
        Promise.allSettled(order.filter((s) => s.name !== "finish").map((s) => (s.abandon ?? s.stop)())),
        o.abandonMs ?? 3000,
      );
      return;
    }
    for (const s of order) if (s.name !== "finish" || finishing) await s.stop();
  }

  if (options.stopLast) started("embedded", options.stopLast);
  try {
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
    const leftInMemory: Runtime["leftInMemory"] = [];
    started("queue driver", async () => {
      await driver.close();
      if (driver instanceof MemoryQueueDriver) leftInMemory.push(...driver.leftOnClose);
    });
    const cursors = createCursorStore(
      q.driver === "bullmq"
        ? {
            kind: "redis",
            redisUrl: q.redisUrl,
            cluster: q.cluster,
            prefix: q.prefix,
            graceMs: q.redisGraceMs,
          }
        : { kind: "memory" },
    );
    started("cursors", () => cursors.close());
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
    if (deviceState) started("device state", () => deviceState.close());

    let pipelineRef: Pipeline | undefined;
    const shipAudit = batchShipper(
      async (docs) => {
        if (pipelineRef)
          await pipelineRef.enqueueDocs("audit", docs, String(docs[0]?.medsoc.doc_id).slice(0, 24));
      },
      { onError: (error) => log.warn({ err: error }, "Shipping audit entries to the sinks failed.") },
    );
    let playbooks: PlaybookRuntime | undefined;
    if (config.playbooks.enabled) {
      const pb = await createPlaybookRuntime({
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
        holdRulesUntilFlush: options.once,
      });
      playbooks = pb;
      started("playbooks", () => pb.close());
    }
    // The summary reads the playbook store, the dead letters and the device state: it runs once
    // the workers have drained and before those close.
    started("finish", async () => {
      await options.finish?.(runtime);
    });

    const sources: SourceInstance[] = [];
    started("connectors", async () => {
      await Promise.all(sources.map((s) => s.connector.close()));
    });
    for (const s of config.sourceConfigs)
      sources.push({
        name: s.name,
        type: s.type,
        streams: s.streams,
        connector: createConnector(s.type, s.config, { log: log.child({ source: s.name }) }),
      });
    const sinks = createSinks(config.sinkConfigs, { log });
    started("sinks", async () => {
      await Promise.all(sinks.map((s) => s.close()));
    });
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
    if (ledger) started("delivery ledger", () => ledger.close());

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
    started("pipeline", () => pipeline.close());

    if (playbooks) {
      const pb = playbooks;
      pb.engine.startWorkers();
      log.info({ playbooks: [...pb.engine.playbooks.keys()] }, "Playbooks loaded.");
      // Before the pipeline closes: the audit's last entries and the signed head reach the sinks.
      started(
        "playbook workers",
        async () => {
          await pb.engine.close();
          await pb.audit.flush();
          await pb.audit.checkpoint();
          await shipAudit.flush();
        },
        () => pb.engine.close(),
      );
    }

    let redisPing: RedisClient | undefined;
    if (q.driver === "bullmq") {
      const ping = createRedis(redisTarget, {
        lazyConnect: true,
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
      });
      redisPing = ping;
      started("readiness check", async () => ping.disconnect());
      // `/readyz` reports the outage; without a listener ioredis prints every reconnect attempt.
      ping.on("error", () => undefined);
      await ping.connect().catch(() => undefined);
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
      started("api", () => api.close());
      try {
        const address = await api.listen({ host: config.api.host, port: config.api.port });
        log.info({ address }, "HTTP API listening.");
      } catch (error) {
        if (!options.embedded) throw error;
        const address = await api.listen({ host: config.api.host, port: 0 });
        log.warn(
          { address, port: config.api.port },
          "Port taken; the HTTP API listens on a free port instead.",
        );
      }
    }

    // Replicas run stage workers only: the receivers listen in the process that schedules.
    let receivers: RunningReceivers | undefined;
    if (!options.workersOnly) {
      const r = await startReceivers({ config, pipeline, driver, metrics, log });
      receivers = r;
      // First to stop: what they buffered is enqueued while the workers still run.
      started("receivers", () => r.close());
    }

    const runtime: Runtime = {
      config,
      metrics,
      driver,
      sources,
      sinks,
      deviceState,
      playbooks,
      shipAudit,
      pipeline,
      api,
      receivers,
      leftInMemory,
      close: async (o) => {
        finishing = !o?.abandon && o?.finish !== false;
        await close(o);
      },
    };
    return runtime;
  } catch (error) {
    // A failed start stops what started, in reverse order, without the summary.
    try {
      await close();
    } catch (closeError) {
      log.warn({ err: closeError }, "Stopping after a failed start failed too.");
    }
    throw error;
  }
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
