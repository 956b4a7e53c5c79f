/**
 * The connector registry: an explicit array, no side-effect imports (STYLE: Activepieces pieces).
 * Wiring code looks a source up here, parses its config section with `configSchema` (every problem
 * reported at once) and calls `create`.
 */
import type { z } from "zod";
import { ConfigError, PermanentError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { armisConfigSchema, createArmisConnector } from "./armis/index.ts";
import { ARMIS_STREAMS } from "./armis/streams.ts";
import { ASIMILY_STREAMS, asimilyConfigSchema, createAsimilyConnector } from "./asimily/index.ts";
import { createXDomeConnector, XDOME_STREAMS, xdomeConfigSchema } from "./claroty_xdome/index.ts";
import { CYNERIO_PULL_STREAMS, createCynerioConnector, cynerioConfigSchema } from "./cynerio/index.ts";
import { createForescoutConnector, FORESCOUT_STREAMS, forescoutConfigSchema } from "./forescout/index.ts";
import { createNozomiConnector, NOZOMI_STREAMS, nozomiConfigSchema } from "./nozomi/index.ts";
import { createPanwIotConnector, PANW_IOT_STREAMS, panwIotConfigSchema } from "./panw_iot/index.ts";
import type { Connector } from "./types.ts";

/** What every connector factory receives besides its config. */
export interface ConnectorDeps {
  /** @defaultValue `silentLogger` */
  log?: Logger;
}

/** One registered connector. */
export interface ConnectorDefinition<S extends z.ZodType = z.ZodType> {
  /** Source id, part of the CLI contract. */
  readonly source: string;
  /** Stream names, part of the CLI contract. */
  readonly streams: readonly string[];
  /** Schema of the connector's config section. */
  readonly configSchema: S;
  /** Builds a connector from a config already parsed by `configSchema`. */
  create(config: z.output<S>, deps?: ConnectorDeps): Connector;
}

function defineConnector<S extends z.ZodType>(definition: ConnectorDefinition<S>): ConnectorDefinition<S> {
  return definition;
}

export const armisConnector = defineConnector({
  source: "armis",
  streams: ARMIS_STREAMS,
  configSchema: armisConfigSchema,
  create: (config, deps) => createArmisConnector(config, deps),
});

export const xdomeConnector = defineConnector({
  source: "claroty_xdome",
  streams: XDOME_STREAMS,
  configSchema: xdomeConfigSchema,
  create: (config, deps) => createXDomeConnector(config, deps),
});

export const panwIotConnector = defineConnector({
  source: "panw_iot",
  streams: PANW_IOT_STREAMS,
  configSchema: panwIotConfigSchema,
  create: (config, deps) => createPanwIotConnector(config, deps),
});

export const nozomiConnector = defineConnector({
  source: "nozomi",
  streams: NOZOMI_STREAMS,
  configSchema: nozomiConfigSchema,
  create: (config, deps) => createNozomiConnector(config, deps),
});

export const forescoutConnector = defineConnector({
  source: "forescout",
  streams: FORESCOUT_STREAMS,
  configSchema: forescoutConfigSchema,
  create: (config, deps) => createForescoutConnector(config, deps),
});

/** Cynerio: `asset` is pulled; `event` arrives by push (HTTP/syslog receivers), so it is no pull stream. */
export const cynerioConnector = defineConnector({
  source: "cynerio",
  streams: CYNERIO_PULL_STREAMS,
  configSchema: cynerioConfigSchema,
  create: (config, deps) => createCynerioConnector(config, deps),
});

export const asimilyConnector = defineConnector({
  source: "asimily",
  streams: ASIMILY_STREAMS,
  configSchema: asimilyConfigSchema,
  create: (config, deps) => createAsimilyConnector(config, deps),
});

/** Every connector medsoc ships, in display order. */
export const connectors: readonly ConnectorDefinition[] = [
  armisConnector,
  xdomeConnector,
  panwIotConnector,
  nozomiConnector,
  forescoutConnector,
  cynerioConnector,
  asimilyConnector,
];

/** The connector registered for `source`, if any. */
export function findConnector(source: string): ConnectorDefinition | undefined {
  return connectors.find((c) => c.source === source);
}

/** Config schema and stream names per source id (the shape `core/config.ts` validates against). */
export function connectorSchemas(): Record<string, { schema: z.ZodType; streams: readonly string[] }> {
  return Object.fromEntries(
    connectors.map((c) => [c.source, { schema: c.configSchema, streams: c.streams }]),
  );
}

/**
 * Builds the connector for `source` from its config section. The config is parsed again with the
 * connector's schema (parsing is idempotent, secrets stay `Secret`), so raw and parsed input both work.
 */
export function createConnector(source: string, config: unknown, deps: ConnectorDeps = {}): Connector {
  const definition = findConnector(source);
  if (!definition)
    throw new PermanentError(
      `creating connector: unknown source "${source}" (known: ${connectors.map((c) => c.source).join(", ")})`,
    );
  const parsed = definition.configSchema.safeParse(config);
  if (!parsed.success)
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        path: issue.path.join(".") || "(root)",
        message: issue.message,
      })),
      `${source} connector config`,
    );
  return definition.create(parsed.data, deps);
}
