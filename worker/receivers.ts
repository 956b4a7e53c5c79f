/**
 * Wiring of the push receivers (`receivers` in the config): the syslog receiver and the HTTP push
 * receiver, both handing records to `Pipeline.ingest` (the raw queue the pollers fill) and
 * unroutable messages to the dead-letter queue.
 */
import { createHttpPushReceiver, type HttpPushReceiver } from "../connectors/http-push/index.ts";
import type { PushTargets } from "../connectors/push.ts";
import { SyslogReceiver } from "../connectors/syslog/index.ts";
import type { Logger } from "../core/log.ts";
import { DEFAULT_SYSLOG_ROUTES, listStreams } from "../monitors/index.ts";
import type { MedsocConfig } from "./config.ts";
import type { Metrics } from "./metrics.ts";
import type { Pipeline } from "./pipeline.ts";
import type { QueueDriver } from "./queue/types.ts";

export interface RunningReceivers {
  /** Where the receivers listen (for the simulated monitors' `push`). */
  targets: PushTargets;
  /** Resolves once every syslog connection closed and everything received is enqueued. */
  settled(): Promise<void>;
  /** Stops listening and enqueues what is buffered; call before the pipeline's workers stop. */
  close(): Promise<void>;
}

/**
 * The streams a pushed source accepts: every stream with a mapping for its connector type. A
 * configured source instance (`sources[].name`) resolves to its type; otherwise the name is the type.
 */
export function pushResolver(
  config: MedsocConfig,
): (source: string) => { type: string; streams: readonly string[] } | undefined {
  const mapped = new Map<string, string[]>();
  for (const { source, stream } of listStreams()) mapped.set(source, [...(mapped.get(source) ?? []), stream]);
  const instances = new Map(config.sourceConfigs.map((s) => [s.name, s.type]));
  return (source) => {
    const type = instances.get(source) ?? source;
    const streams = mapped.get(type);
    return streams ? { type, streams } : undefined;
  };
}

export async function startReceivers(options: {
  config: MedsocConfig;
  pipeline: Pipeline;
  driver: QueueDriver;
  metrics: Metrics;
  log: Logger;
}): Promise<RunningReceivers> {
  const { config, pipeline, driver, metrics, log } = options;
  const r = config.receivers;
  const targets: PushTargets = {};
  let syslog: SyslogReceiver | undefined;
  let http: HttpPushReceiver | undefined;
  try {
    if (r.syslog.enabled) {
      syslog = new SyslogReceiver({
        config: r.syslog,
        builtInRoutes: DEFAULT_SYSLOG_ROUTES,
        ingestor: pipeline,
        counter: metrics.received,
        flagCounter: metrics.receivedFlags,
        log: log.child({ receiver: "syslog" }),
        deadLetter: async (entry) => {
          metrics.deadLettered.inc({ stage: "receive.syslog" });
          await driver.deadLetters().add({
            queue: "receiver-syslog",
            jobId: "-",
            name: "route",
            data: entry.data,
            reason: entry.reason,
            attemptsMade: 0,
            failedAt: new Date().toISOString(),
          });
        },
      });
      const at = await syslog.listen();
      if (at.tcp) targets.syslog = at.tcp;
      log.info({ ...at }, "Syslog receiver listening.");
    }
    if (r.httpPush.enabled) {
      const resolve = pushResolver(config);
      for (const source of Object.keys(r.httpPush.tokens))
        if (!resolve(source))
          log.warn(
            { source },
            "receivers.httpPush.tokens names a source with no mapped stream; pushes to it get 404.",
          );
      http = createHttpPushReceiver({
        config: r.httpPush,
        ingestor: pipeline,
        resolve,
        counter: metrics.received,
        log: log.child({ receiver: "http-push" }),
      });
      targets.httpUrl = await http.listen();
      targets.httpTokens = Object.fromEntries(
        Object.entries(r.httpPush.tokens).map(([k, v]) => [k, v.reveal()]),
      );
      log.info({ url: targets.httpUrl }, "HTTP push receiver listening.");
    }
  } catch (error) {
    await syslog?.close();
    await http?.close();
    throw error;
  }
  return {
    targets,
    settled: async () => {
      await syslog?.settled();
    },
    close: async () => {
      await http?.close();
      await syslog?.close();
    },
  };
}
