/**
 * The SIEM stream of a document: the four streams the SIEM packages define (Splunk sourcetypes
 * `medsoc:<stream>`, Elastic data streams `logs-medsoc.<stream>-*`, integrations/): `device`,
 * `alert`, `vulnerability`, `audit`. Vendor streams have their own names (`nozomi/asset`,
 * `asimily/cve`, `forescout/host`, `cynerio/event` …; part of the CLI contract), so the sinks route
 * by what the document is: inventory (`event.kind: asset`) → device, alerts → alert, vulnerability
 * findings (`event.category: vulnerability`) → vulnerability, the playbook audit trail → audit.
 * Anything else (network events that are neither, e.g. `claroty_xdome/event`) keeps its stream name.
 */
import type { EcsDocument } from "../../mappings/types.ts";

export const SIEM_STREAMS = ["device", "alert", "vulnerability", "audit"] as const;
export type SiemStream = (typeof SIEM_STREAMS)[number];

/** The SIEM stream a document of vendor stream `stream` is written to. */
export function siemStreamOf(stream: string, doc: EcsDocument): string {
  if ((SIEM_STREAMS as readonly string[]).includes(stream)) return stream;
  const event = doc.event as { kind?: unknown; category?: unknown };
  // Inventory snapshots, and host state reports (Forescout's syslog host messages), describe a device.
  if (event.kind === "asset" || (event.kind === "state" && categoryOf(event).includes("host")))
    return "device";
  if (event.kind === "alert") return "alert";
  if (categoryOf(event).includes("vulnerability")) return "vulnerability";
  return stream;
}

function categoryOf(event: { category?: unknown }): unknown[] {
  return Array.isArray(event.category) ? event.category : [event.category];
}
