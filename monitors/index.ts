/**
 * The monitor registry: one line per monitor (an explicit array, no side-effect imports; STYLE:
 * Activepieces pieces). Everything keyed by monitor is derived from {@link monitors}: the connector
 * lookup and config schemas, the (source, stream) → mapping registry, the built-in syslog routes and
 * profiles, the SIEM vendor namespaces, the simulated hospital and `medsoc simulate <id>`, the
 * Elastic package's `vendor.yml` files and the doc tables (`monitors/docs.ts`).
 *
 * Adding a monitor: its folder `monitors/<id>/` (definition and simulator; the connector, mapping
 * and simulator code it names) and one line here.
 */
import type { z } from "zod";
import type { Connector } from "../connectors/types.ts";
import type { SyslogRoute } from "../core/config.ts";
import { ConfigError, PermanentError } from "../core/errors.ts";
import {
  createLineMapperFor,
  type EcsDocument,
  type LineMapper,
  type Mapper,
  type MappingOptions,
  mapRecordWith,
  prepareMapper,
  type StreamRef,
  UnknownStreamError,
} from "../mappings/index.ts";
import type { SyslogProfile } from "../mappings/syslog/index.ts";
import { armis } from "./armis/index.ts";
import { asimily } from "./asimily/index.ts";
import { clarotyXdome } from "./claroty_xdome/index.ts";
import { cynerio } from "./cynerio/index.ts";
import { forescout } from "./forescout/index.ts";
import { nozomi } from "./nozomi/index.ts";
import { panwIot } from "./panw_iot/index.ts";
import type { ConnectorDeps, MonitorDefinition } from "./types.ts";

export type {
  EcsDocument,
  LineMapper,
  Mapper,
  MappingContext,
  MappingOptions,
  StreamRef,
} from "../mappings/index.ts";
export { MappingError, pipelineErrorDocument, UnknownStreamError } from "../mappings/index.ts";
export type { ConnectorDeps, MonitorDefinition } from "./types.ts";

/** Every monitor medsoc ships, in display order. */
export const monitors: readonly MonitorDefinition[] = [
  armis,
  clarotyXdome,
  panwIot,
  nozomi,
  forescout,
  cynerio,
  asimily,
];

/** The monitor registered as `id`, if any. */
export function findMonitor(id: string): MonitorDefinition | undefined {
  return monitors.find((m) => m.id === id);
}

// ---- connectors -------------------------------------------------------------------------------

/** One registered connector (the connector part of a {@link MonitorDefinition}). */
export interface ConnectorDefinition {
  /** Source id, part of the CLI contract. */
  readonly source: string;
  /** Stream names, part of the CLI contract. */
  readonly streams: readonly string[];
  /** Schema of the connector's config section. */
  readonly configSchema: z.ZodType;
  /** Builds a connector from a config already parsed by `configSchema`. */
  create(config: unknown, deps?: ConnectorDeps): Connector;
}

/** Every connector, in display order. */
export const connectors: readonly ConnectorDefinition[] = monitors.map((m) => ({
  source: m.id,
  streams: m.pullStreams,
  configSchema: m.configSchema,
  create: (config, deps) => m.createConnector(config, deps),
}));

/** The connector registered for `source`, if any. */
export function findConnector(source: string): ConnectorDefinition | undefined {
  return connectors.find((c) => c.source === source);
}

/** Config schema and stream names per source id (the shape `core/config.ts` validates against). */
export function connectorSchemas(): Record<string, { schema: z.ZodType; streams: readonly string[] }> {
  return Object.fromEntries(monitors.map((m) => [m.id, { schema: m.configSchema, streams: m.pullStreams }]));
}

/**
 * Builds the connector for `source` from its config section. The config is parsed again with the
 * connector's schema (parsing is idempotent, secrets stay `Secret`), so raw and parsed input both work.
 */
export function createConnector(source: string, config: unknown, deps: ConnectorDeps = {}): Connector {
  const monitor = findMonitor(source);
  if (!monitor)
    throw new PermanentError(
      `creating connector: unknown source "${source}" (known: ${monitors.map((m) => m.id).join(", ")})`,
    );
  const parsed = monitor.configSchema.safeParse(config);
  if (!parsed.success)
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        path: issue.path.join(".") || "(root)",
        message: issue.message,
      })),
      `${source} connector config`,
    );
  return monitor.createConnector(parsed.data, deps);
}

// ---- mappings ---------------------------------------------------------------------------------

/** Source → stream → mapping. */
export const registry: Readonly<Record<string, Readonly<Record<string, Mapper>>>> = Object.fromEntries(
  monitors.map((m) => [m.id, m.mappings]),
);

/** Every (source, stream) pair that has a mapping, in registry order. */
export function listStreams(): StreamRef[] {
  return monitors.flatMap((m) => Object.keys(m.mappings).map((stream) => ({ source: m.id, stream })));
}

/** Each pair's prepared mapper, built once. */
const prepared = new Map<string, Mapper>();

/**
 * The mapping of a pair; {@link UnknownStreamError} (permanent) listing the valid pairs otherwise.
 * The mapper also takes the syslog receiver's CEF/LEEF records for the pair (with the monitor's
 * syslog profile); its documents carry `event.dataset`, `event.module` and `data_stream.*`
 * (`mappings/index.ts` {@link prepareMapper}).
 */
export function getMapper(source: string, stream: string): Mapper {
  const monitor = findMonitor(source);
  const mapper =
    monitor !== undefined && Object.hasOwn(monitor.mappings, stream) ? monitor.mappings[stream] : undefined;
  if (monitor === undefined || mapper === undefined) {
    throw new UnknownStreamError(
      source,
      stream,
      listStreams().map((s) => `${s.source}/${s.stream}`),
    );
  }
  const key = `${source}/${stream}`;
  let wrapped = prepared.get(key);
  if (wrapped === undefined) {
    wrapped = prepareMapper(mapper, monitor.syslog?.profile);
    prepared.set(key, wrapped);
  }
  return wrapped;
}

/**
 * Maps one vendor record and runs the enrichers. Throws `MappingError` when the record cannot be
 * mapped and {@link UnknownStreamError} for an unknown pair.
 */
export function mapRecord(source: string, stream: string, record: unknown, ctx: MappingOptions): EcsDocument {
  return mapRecordWith(getMapper(source, stream), source, stream, record, ctx);
}

/**
 * A {@link LineMapper} for one pair; {@link UnknownStreamError} for an unknown pair (checked now).
 * `enrich: false` gives the raw mapping without the `medsoc.*` enrichers (`normalize --no-enrich`).
 */
export function createLineMapper(
  source: string,
  stream: string,
  options: { enrich?: boolean } = {},
): LineMapper {
  return createLineMapperFor(getMapper(source, stream), source, stream, options);
}

/** One-shot form of {@link createLineMapper}. */
export function mapLine(
  source: string,
  stream: string,
  line: string,
  options: Omit<MappingOptions, "original">,
): EcsDocument {
  return createLineMapper(source, stream)(line, options);
}

// ---- vendor facts -----------------------------------------------------------------------------

/** The top-level vendor namespaces documents carry (`armis.device.*` …), in registry order. */
export const VENDOR_NAMESPACES: readonly string[] = monitors.map((m) => m.namespace);

/** Built-in syslog routes (vendor, product → source, stream), checked after the operator's own. */
export const DEFAULT_SYSLOG_ROUTES: readonly SyslogRoute[] = monitors.flatMap((m) =>
  (m.syslog?.routes ?? []).map((r) => ({
    vendor: r.vendor,
    ...(r.product !== undefined ? { product: r.product } : {}),
    source: m.id,
    stream: r.stream,
  })),
);

/** Source id → CEF/LEEF profile, for the monitors that have one. */
export const SYSLOG_PROFILES: Readonly<Record<string, SyslogProfile>> = Object.fromEntries(
  monitors.flatMap((m) => (m.syslog?.profile ? [[m.id, m.syslog.profile]] : [])),
);
