/**
 * `medsoc start`: the runtime (run/runtime.ts) wired from a medsoc.yaml or, without one, from the
 * embedded default (run/embedded.ts), run in one of its modes (run/modes.ts), then closed in
 * reverse order of start, with the summary (run/summary.ts) taken before the stores close.
 */
import { resolve } from "node:path";
import type { Logger } from "../core/log.ts";
import { type PlaybookSummary, summarizeStore } from "../playbooks/summary.ts";
import { componentSchemas } from "./components.ts";
import { loadConfigFile } from "./config.ts";
import { RedisOutageError } from "./queue/common.ts";
import type { Embedded } from "./run/embedded.ts";
import { runOnce, runScheduled, runWorkersOnly } from "./run/modes.ts";
import { type Runtime, startRuntime } from "./run/runtime.ts";
import { formatSummary, startProgress, summarize } from "./run/summary.ts";

export { checkRedis } from "./run/runtime.ts";
export { componentSchemas, formatSummary };

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
  const outDir = resolve(options.outDir ?? "out");
  // The simulators are loaded only for the embedded default, never with a medsoc.yaml.
  const sim = options.configFile ? undefined : await import("./run/embedded.ts");
  const embedded: Embedded | undefined = sim
    ? await sim.startEmbedded({ devices: options.devices ?? 3000, outDir, log })
    : undefined;
  const config = embedded
    ? embedded.config
    : await loadConfigFile(options.configFile as string, componentSchemas());

  let summary: StartSummary | undefined;
  let failedPushes = 0;
  const runtime = await startRuntime(config, {
    log,
    once: options.once === true,
    workersOnly: options.workersOnly === true,
    embedded: embedded !== undefined,
    stopLast: embedded?.stop,
    finish: async (rt) => {
      summary = await summarize(
        rt.metrics,
        started,
        rt.sinks.map((s) => s.name),
      );
      summary.failedPushes = failedPushes;
      if (rt.playbooks) summary.playbooks = await playbookSummary(rt);
      if (sim)
        await sim.writeEmbeddedOutputs(summary, {
          outDir,
          driver: rt.driver,
          deviceState: rt.deviceState,
          streams: rt.sources.flatMap((s) => s.streams),
          playbooks: rt.playbooks !== undefined,
        });
    },
  });

  const progress = startProgress(
    runtime.metrics,
    runtime.pipeline,
    options.progress ?? Boolean(process.stderr.isTTY),
  );
  try {
    if (sim && embedded && runtime.receivers)
      failedPushes = await sim.pushSimulatedMonitors(embedded.hospital, runtime.receivers, log);
    if (options.workersOnly) await runWorkersOnly(options.stopSignal);
    else if (options.once) await runOnce(runtime);
    else await runScheduled(runtime, options.stopSignal, log);
  } catch (error) {
    progress.stop();
    if (error instanceof RedisOutageError) {
      const outage = new RedisOutageError(
        `${error.message}. The run stopped before the queues drained; what was enqueued stays in Redis: rerun once Redis is back`,
        { cause: error },
      );
      // Redis is gone for good: a graceful close would wait for it forever (in-flight jobs cannot
      // be handed back). What was enqueued stays in Redis; cursors only moved past what was.
      log.error({ err: outage }, "Redis did not come back within the grace; stopping without draining.");
      await runtime.close({ abandon: true, abandonMs: 3000 });
      throw outage;
    }
    await runtime.close({ finish: false });
    throw error;
  }
  progress.stop();
  await runtime.close();
  const result = summary as StartSummary;
  if (runtime.leftInMemory.length > 0) result.leftInMemory = [...runtime.leftInMemory];
  return result;
}

/** What the playbooks did, from their store. */
async function playbookSummary(rt: Runtime): Promise<PlaybookSummary> {
  const pb = rt.playbooks as NonNullable<Runtime["playbooks"]>;
  const pbs = pb.engine.playbooks;
  return summarizeStore(pb.store, (id, step) => {
    const p = pbs.get(id);
    return (p?.steps.find((s) => s.id === step) ?? p?.finally.find((s) => s.id === step))?.action;
  });
}
