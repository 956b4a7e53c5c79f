/**
 * The SIEM stream of a document, decided in ONE place: the mappings stamp `event.dataset` and
 * `data_stream.*` with it and the sinks route by it (Elastic data stream
 * `logs-medsoc.<stream>-<namespace>`, Splunk sourcetype `medsoc:<stream>`), so the dataset a
 * document says it belongs to and the stream it is written to cannot disagree.
 *
 * Vendor streams keep their own names (`nozomi/asset`, `asimily/cve`, `forescout/host` …; part of
 * the CLI contract, kept in `medsoc.stream`). The SIEM stream is what the document *is*:
 * inventory snapshots (`event.kind: asset`) and host state reports → `device`; monitor alerts →
 * `alert`; vulnerability findings (`event.category: vulnerability`) → `vulnerability`; the playbook
 * audit trail → `audit`; everything else (network and OT activity such as `claroty_xdome/event`,
 * syslog events) → `event`.
 *
 * `event.module` is `medsoc` on every document, as Elastic's integrations set it to the package
 * name (`claroty_xdome` for `claroty_xdome.alert`, with `event.dataset` = `<package>.<data stream>`);
 * medsoc's package is `medsoc`. The monitor is named by `observer.vendor` / `observer.product` and
 * the source id by `medsoc.source`.
 */
import type { EcsDocument } from "./types.ts";

/** The streams both SIEM packages define. */
export const SIEM_STREAMS = ["device", "alert", "vulnerability", "event", "audit"] as const;
export type SiemStream = (typeof SIEM_STREAMS)[number];

/** `event.module` of every medsoc document: the integration package's name. */
export const EVENT_MODULE = "medsoc";

/** `data_stream.type` of every medsoc document. */
export const DATA_STREAM_TYPE = "logs";

/** Data stream namespace when none is configured. */
export const DEFAULT_NAMESPACE = "default";

/**
 * The SIEM stream of a pipeline error, which describes no fact: the stream its vendor stream's
 * documents usually go to (so a replayed record lands where its mapped siblings are).
 */
const PIPELINE_ERROR_STREAM: Readonly<Record<string, SiemStream>> = {
  device: "device",
  asset: "device",
  host: "device",
  alert: "alert",
  anomaly: "alert",
  vulnerability: "vulnerability",
  cve: "vulnerability",
  node_cve: "vulnerability",
  audit: "audit",
};

/** The parts of a document the stream is decided from. */
export interface StreamInput {
  event: { kind?: unknown; category?: unknown };
  medsoc?: { stream?: unknown };
}

/**
 * The SIEM stream a document belongs to. `medsoc.stream` (the vendor stream) only matters for the
 * audit trail (`medsoc/audit`) and for pipeline errors.
 */
export function siemStreamOf(doc: StreamInput): SiemStream {
  const vendorStream = typeof doc.medsoc?.stream === "string" ? doc.medsoc.stream : "";
  if (vendorStream === "audit") return "audit";
  const { kind } = doc.event;
  if (kind === "pipeline_error") return PIPELINE_ERROR_STREAM[vendorStream] ?? "event";
  const category = Array.isArray(doc.event.category) ? doc.event.category : [doc.event.category];
  // Inventory snapshots, and host state reports (Forescout's syslog host messages), describe a device.
  if (kind === "asset" || (kind === "state" && category.includes("host"))) return "device";
  if (kind === "alert") return "alert";
  if (category.includes("vulnerability")) return "vulnerability";
  return "event";
}

/** `event.dataset` / `data_stream.dataset` of a SIEM stream. */
export function datasetOf(stream: SiemStream): string {
  return `medsoc.${stream}`;
}

/** The `data_stream` object of a document of `stream` in `namespace`. */
export function dataStreamFields(
  stream: SiemStream,
  namespace: string = DEFAULT_NAMESPACE,
): { type: string; dataset: string; namespace: string } {
  return { type: DATA_STREAM_TYPE, dataset: datasetOf(stream), namespace };
}

/** The Elastic data stream a document of `stream` is written to. */
export function dataStreamName(stream: SiemStream, namespace: string = DEFAULT_NAMESPACE): string {
  return `${DATA_STREAM_TYPE}-${datasetOf(stream)}-${namespace}`;
}

/**
 * Sets `event.dataset`, `event.module` and `data_stream.*` from {@link siemStreamOf}, in place, and
 * returns the stream. Every document leaves the mappings through here.
 */
export function stampStream(doc: EcsDocument, namespace: string = DEFAULT_NAMESPACE): SiemStream {
  const stream = siemStreamOf(doc);
  doc.event.dataset = datasetOf(stream);
  doc.event.module = EVENT_MODULE;
  doc.data_stream = dataStreamFields(stream, namespace);
  return stream;
}
