/**
 * `medsoc report [--format text|json|html] [--out FILE] [--config F | --state FILE] [--devices N]`:
 * the posture report over the current device state.
 *
 * Where the state comes from:
 * - `--config F` with `queue.driver: bullmq`: the deployment's Redis device state (its prefix);
 * - `--state FILE`: a snapshot (`out/device-state.ndjson`, written by the embedded `medsoc start`);
 * - neither: the embedded default runs the simulated hospital once through the real pipeline
 *   (simulators on loopback → connectors → mappings → enrichment → a memory device state, no
 *   sinks) and reports on that state.
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { ConfigError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { queueRedisTarget } from "../../core/redis.ts";
import { pollStatus, type StatusLine, statusLine } from "../../core/terminal.ts";
import type { DeviceState } from "../../mappings/device-state.ts";
import { DEFAULT_ENRICHMENT, type EnrichmentOptions } from "../../mappings/enrich/options.ts";
import { connectorSchemas, createConnector } from "../../monitors/index.ts";
import { loadConfigFile, validateConfig } from "../config.ts";
import { createCursorStore } from "../cursors/index.ts";
import { MemoryDeviceStateStore, RedisDeviceStateStore, readStateSnapshot } from "../device-state/index.ts";
import { Metrics } from "../metrics.ts";
import { Pipeline, type SourceInstance } from "../pipeline.ts";
import { createQueueDriver } from "../queue/index.ts";
import { type RunningReceivers, startReceivers } from "../receivers.ts";
import { renderPostureHtml } from "../report/html.ts";
import { buildPostureReport, formatPostureText, type PostureReport } from "../report/posture.ts";
import { checkRedis, componentSchemas } from "../run.ts";
import { startHospital } from "../simulation.ts";

export type ReportFormat = "text" | "json" | "html";

export interface ReportOptions {
  format?: ReportFormat;
  configFile?: string;
  stateFile?: string;
  /** Simulated fleet size when neither a config nor a state file is given. @defaultValue 3000 */
  devices?: number;
  log?: Logger;
  now?: Date;
  /** Progress display (a terminal's status line): what is being collected, with counts. */
  status?: StatusLine;
}

/**
 * Runs the simulated hospital once through the pipeline into a memory device state (no sinks).
 * Exported for tests.
 */
export async function collectSimulatedHospital(
  devices: number,
  enrichment: EnrichmentOptions = DEFAULT_ENRICHMENT,
  log: Logger = silentLogger,
  status?: StatusLine,
): Promise<MemoryDeviceStateStore> {
  const hospital = await startHospital({ devices });
  const state = new MemoryDeviceStateStore({ enrichment });
  const driver = createQueueDriver({ kind: "memory", attempts: 3, backoffMs: 200 }, log);
  const cursors = createCursorStore({ kind: "memory" });
  const sources: SourceInstance[] = [];
  let pipeline: Pipeline | undefined;
  let receivers: RunningReceivers | undefined;
  let ticker: { stop(): Promise<void> } | undefined;
  try {
    const config = validateConfig(
      {
        sources: hospital.monitors.map((m) => ({ type: m.source, config: m.sourceConfig })),
        // The monitors that push (Cynerio's events with its default-password detections,
        // Forescout's host push) send to an HTTP push receiver on a free loopback port.
        receivers: {
          httpPush: {
            enabled: true,
            host: "127.0.0.1",
            port: 0,
            tokens: Object.fromEntries(
              hospital.monitors.map((m) => [m.source, randomBytes(24).toString("base64url")]),
            ),
          },
        },
      },
      { sources: connectorSchemas(), sinks: {} },
      {},
      "simulated hospital",
    );
    for (const s of config.sourceConfigs)
      sources.push({
        name: s.name,
        type: s.type,
        streams: s.streams,
        connector: createConnector(s.type, s.config, { log }),
      });
    const metrics = new Metrics();
    pipeline = new Pipeline({
      driver,
      cursors,
      sources,
      sinks: [],
      metrics,
      log,
      deviceState: state,
      enrichment,
      // One batch at a time: every page of a stream lands in the state in order.
      concurrency: { poll: 2, map: 1, sink: 1 },
    });
    pipeline.start();
    if (status)
      ticker = pollStatus(status, async () => {
        const polled = await metrics.total(metrics.records, { stage: "poll", direction: "out" });
        const pushed = await metrics.total(metrics.records, { stage: "push", direction: "out" });
        const mapped = await metrics.total(metrics.records, { stage: "map", direction: "out" });
        return `report · ${devices} simulated devices · polled ${polled} · pushed ${pushed} · mapped ${mapped}`;
      });
    receivers = await startReceivers({ config, pipeline, driver, metrics, log });
    for (const m of hospital.monitors) if (m.push) await m.push(receivers.targets);
    await receivers.settled();
    await pipeline.pollAll(`report-${Date.now()}`);
    await pipeline.drained();
    const dead = await driver.deadLetters().count();
    if (dead > 0) log.warn({ dead }, "Some records could not be collected; the report covers the rest.");
  } finally {
    await ticker?.stop();
    await receivers?.close();
    await pipeline?.close();
    await Promise.all(sources.map((s) => s.connector.close()));
    await cursors.close();
    await driver.close();
    await hospital.stop();
  }
  return state;
}

/** Builds the report from the configured state. */
export async function buildReport(options: ReportOptions): Promise<PostureReport> {
  const log = options.log ?? silentLogger;
  if (options.configFile && options.stateFile)
    throw new ConfigError(
      [{ path: "--state", message: "give either --config or --state, not both" }],
      "report",
    );
  if (options.stateFile) {
    const states = await readStateSnapshot(options.stateFile);
    return buildPostureReport(() => states, { now: options.now });
  }
  if (options.configFile) {
    const cfg = await loadConfigFile(options.configFile, componentSchemas());
    if (cfg.queue.driver !== "bullmq")
      throw new ConfigError(
        [
          {
            path: "queue.driver",
            message:
              "the memory device state lives in the medsoc process; report on its snapshot with --state out/device-state.ndjson",
          },
        ],
        options.configFile,
      );
    await checkRedis(queueRedisTarget(cfg.queue));
    const store = new RedisDeviceStateStore({
      redisUrl: cfg.queue.redisUrl,
      cluster: cfg.queue.cluster,
      prefix: cfg.queue.prefix,
      enrichment: cfg.enrichment,
    });
    try {
      return await buildPostureReport(() => store.list(), { enrichment: cfg.enrichment, now: options.now });
    } finally {
      await store.close();
    }
  }
  const store = await collectSimulatedHospital(
    options.devices ?? 3000,
    DEFAULT_ENRICHMENT,
    log,
    options.status,
  );
  options.status?.update("report · building the posture report");
  return buildPostureReport(() => store.list() as AsyncIterable<DeviceState>, { now: options.now });
}

/** Renders a report in a format. */
export async function renderReport(report: PostureReport, format: ReportFormat): Promise<string> {
  if (format === "json") return `${JSON.stringify(report, null, 2)}\n`;
  if (format === "html") return renderPostureHtml(report);
  return formatPostureText(report);
}

/** `medsoc report` (declared in worker/cli/report.ts). */
export async function reportAction(opts: {
  format: ReportFormat;
  out?: string;
  config?: string;
  state?: string;
  devices?: number;
}): Promise<void> {
  // On a terminal, a status line while the state is collected and the report built.
  const status = statusLine(process.stderr);
  status?.update("report · reading the device state");
  const text = await buildReport({
    format: opts.format,
    configFile: opts.config,
    stateFile: opts.state,
    devices: opts.devices,
    status,
  })
    .then((report) => {
      status?.update(`report · rendering ${opts.format}`);
      return renderReport(report, opts.format);
    })
    .finally(() => status?.stop());
  if (opts.out) {
    await writeFile(opts.out, text);
    process.stderr.write(`medsoc: ${opts.format} report written to ${opts.out}\n`);
  } else process.stdout.write(text);
}
