/**
 * What one monitor is, in one place: {@link MonitorDefinition}. Each monitor has a folder
 * `monitors/<id>/` whose `index.ts` exports its definition (the connector, the mappings and the
 * vendor facts the rest of medsoc needs) and whose `simulator.ts` exports its simulator. The registry
 * (`monitors/index.ts`) lists the definitions; every list keyed by monitor (connector and mapping
 * registries, config validation, `simulate <id>` commands, the simulated hospital, the SIEM vendor
 * namespaces, the Elastic package's `vendor.yml` files, the doc tables) is derived from it.
 */
import type { z } from "zod";
import type { Connector } from "../connectors/types.ts";
import type { Logger } from "../core/log.ts";
import type { SiemStream } from "../mappings/stream.ts";
import type { SyslogProfile } from "../mappings/syslog/index.ts";
import type { Mapper } from "../mappings/types.ts";
import type { MonitorSimulator } from "../simulators/monitor.ts";

/** What every connector factory receives besides its config. */
export interface ConnectorDeps {
  /** @defaultValue `silentLogger` */
  log?: Logger;
}

/** A built-in syslog route: CEF/LEEF messages from `vendor` (and `product`) go to one of the monitor's streams. */
export interface MonitorSyslogRoute {
  /** CEF/LEEF `DeviceVendor`, compared case-insensitively. */
  vendor: string;
  /** CEF/LEEF `DeviceProduct`; any product when omitted. */
  product?: string;
  stream: string;
}

/** One monitor, everything medsoc knows about it. */
export interface MonitorDefinition<S extends z.ZodType = z.ZodType> {
  /** Source id (`sources[].type`, `medsoc.source`): part of the CLI contract. */
  readonly id: string;
  /** The product's name, for humans (`Palo Alto Networks IoT Security`). */
  readonly name: string;
  /** Streams the connector polls, part of the CLI contract (`--stream`, `sources[].streams`). */
  readonly pullStreams: readonly string[];
  /**
   * Every stream with its mapping (pulled and pushed): the (source, stream) pairs of
   * `medsoc normalize` and the push receivers.
   */
  readonly mappings: Readonly<Record<string, Mapper>>;
  /** Schema of the connector's config section (`sources[].config`). */
  readonly configSchema: S;
  /** Builds the connector from a config already parsed by {@link configSchema}. */
  createConnector(config: z.output<S>, deps?: ConnectorDeps): Connector;
  /** Top-level document field holding the vendor record untouched (`panw_iot.device.*`). */
  readonly namespace: string;
  /** The SIEM streams this monitor's documents land in (its namespace is declared in each). */
  readonly siemStreams: readonly SiemStream[];
  /** CEF/LEEF forwarding, for monitors that send syslog: built-in routes and the field profile. */
  readonly syslog?: {
    readonly routes: readonly MonitorSyslogRoute[];
    /** How the CEF/LEEF extensions map; the generic profile when omitted. */
    readonly profile?: SyslogProfile;
  };
  /** Facts for the generated doc tables (README, docs/connectors.md). */
  readonly docs: {
    /** How records arrive, in a few words (README). */
    readonly how: string;
    /** Authentication. */
    readonly auth: string;
    /** Paging and cursor. */
    readonly paging: string;
  };
  /** The monitor's simulator (`medsoc simulate <id>`, the simulated hospital). */
  readonly simulator: {
    /** `medsoc simulate <id>` description. */
    readonly description: string;
    /** The simulator can serve drifted types (`--type-drift`). */
    readonly typeDrift?: boolean;
    /**
     * Loads `monitors/<id>/simulator.ts` on demand, so that production code never loads simulator
     * code: only the simulated hospital and `medsoc simulate` call it.
     */
    load(): Promise<MonitorSimulator>;
  };
}

/** Identity function that keeps the config type of a definition. */
export function defineMonitor<S extends z.ZodType>(definition: MonitorDefinition<S>): MonitorDefinition<S> {
  return definition;
}
