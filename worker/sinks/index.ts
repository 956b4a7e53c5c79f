import type { z } from "zod";
import { ConfigError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { createElasticsearchSink, elasticsearchSinkConfigSchema } from "./elasticsearch.ts";
import { createFileSink, fileSinkConfigSchema } from "./file.ts";
import { createSplunkHecSink, splunkHecSinkConfigSchema } from "./splunk-hec.ts";
import type { Sink } from "./types.ts";

/** One sink kind: its config key (`sinks.<name>`), schema and factory. */
export interface SinkDefinition {
  name: string;
  schema: z.ZodType;
  create(config: unknown, deps: { log: Logger }): Sink;
}

/** Every sink medsoc knows, as an explicit registry (no side-effect imports). */
export const sinkDefinitions: readonly SinkDefinition[] = [
  {
    name: "elasticsearch",
    schema: elasticsearchSinkConfigSchema,
    create: (config, deps) =>
      createElasticsearchSink(config as z.input<typeof elasticsearchSinkConfigSchema>, deps),
  },
  {
    name: "splunk",
    schema: splunkHecSinkConfigSchema,
    create: (config, deps) => createSplunkHecSink(config as z.input<typeof splunkHecSinkConfigSchema>, deps),
  },
  {
    name: "file",
    schema: fileSinkConfigSchema,
    create: (config, deps) => createFileSink(config as z.input<typeof fileSinkConfigSchema>, deps),
  },
];

/** Config schema per sink name, for the configuration loader. */
export function sinkSchemas(): Record<string, z.ZodType> {
  return Object.fromEntries(sinkDefinitions.map((d) => [d.name, d.schema]));
}

/**
 * Builds the configured sinks, in registry order. `configs` maps a sink name to its settings (raw or
 * already parsed by `sinkSchemas()`); absent names are not built, unknown names are a config error.
 */
export function createSinks(configs: Record<string, unknown>, deps: { log?: Logger } = {}): Sink[] {
  const log = deps.log ?? silentLogger;
  const unknown = Object.keys(configs).filter((n) => !sinkDefinitions.some((d) => d.name === n));
  if (unknown.length > 0)
    throw new ConfigError(
      unknown.map((n) => ({
        path: `sinks.${n}`,
        message: `unknown sink (known: ${sinkDefinitions.map((d) => d.name).join(", ")})`,
      })),
      "sinks",
    );
  const sinks: Sink[] = [];
  for (const def of sinkDefinitions) {
    const config = configs[def.name];
    if (config === undefined) continue;
    sinks.push(def.create(config, { log }));
    log.info({ sink: def.name }, "Sink configured.");
  }
  return sinks;
}
