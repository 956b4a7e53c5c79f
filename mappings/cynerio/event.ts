import { asRecord, documentId, ECS_VERSION, finishEvent, isEmpty } from "../document.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { ipList, num, severityScore, str, timestamp, union } from "../values.ts";
import {
  CYNERIO_FIELDS,
  CYNERIO_OBSERVER_PRODUCT,
  CYNERIO_OBSERVER_VENDOR,
  cynerioEventColumns,
  vendorNamespace,
} from "./fields.ts";

const CONNECTION_TITLES = /connection|browsing/i;
const DEFAULT_PASSWORD = /default\s+(password|credential)/i;
const WEAK_PASSWORD = /weak\s+password/i;
const HARD_CODED = /hard[- ]?coded\s+(password|credential)/i;
const SCANNER_TYPE = /Scanner type:\s*([^,]+?)(?:\s+Source IP\b|,|$)/i;
// "Expliot" [sic] is how Sentinel's parser spells Cynerio's field; accept the correct spelling too.
const EXPLOIT = /Expl(?:iot|oit):\s*([^,]+),?/i;
const ENTITY = /Suspicious Connection Entity:\s*([^,\s]+),?/i;
const USERNAME = /User(?:name)?:\s*([^,\s]+)/i;
const FINGERPRINT = /Password fingerprint:\s*([^,\s]+)/i;

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

/**
 * Cynerio event (pushed) → ECS alert (`event.kind: alert`).
 *
 * Accepted record shapes — the contract with the push receivers:
 * 1. HTTP push (`POST /v1/push/cynerio/event`, a JSON array of events): each element is one
 *    event in Cynerio's schema, the `CynerioEvent_CL` columns without suffixes: `uid`, `title`,
 *    `severity` (Low|Medium|High|Critical), `timestamp` (epoch seconds), `details`, `asset_id`,
 *    `asset_ip`, `asset_type`, `src_ip`, `dst_ip`, `trans`, `port`, `host`, `browser`,
 *    `service` (confirmed column names, monitors.md §4). Log Analytics' suffixed names
 *    (`uid_s`, `timestamp_d`, `asset_id_g`) are accepted too.
 * 2. syslog (CEF, device vendor `Cynerio`): a record whose CEF extension holds the same columns as
 *    keys, under `cef.extensions` / `cef.extension` / `extensions` / `extension` (the CEF Name
 *    fills a missing `title`); extension values arrive as strings and are coerced.
 *
 * Mapping: `@timestamp` = `timestamp`, `event.id` = `uid`, `rule.name` = `title`, `event.action` =
 * `title` slug, `event.severity` and `event.risk_score` = 21/47/73/99 from `severity`, `message` =
 * `details` (then `title`), `host.id`/`device.id` = `asset_id`, `host.ip` = `asset_ip`,
 * `medsoc.device.vendor_type` = `asset_type`, `source.ip` = `src_ip`, `destination.ip` =
 * `dst_ip`, `destination.port` = `port`, `network.transport` = `trans`, `network.protocol` =
 * `service` (lower-cased), `destination.domain` = `host` (then the suspicious connection entity),
 * `user_agent.original` = `browser`. From `details`: `cynerio.event.scanner_type`,
 * `cynerio.event.exploit`, `cynerio.event.suspicious_connection_entity`.
 *
 * Credentials: a title or details naming a default / weak / hard-coded password (Sentinel's
 * IoTDefaultPasswords / IoTWeakPasswords detections) sets `medsoc.credential.observed`;
 * `Username: <name>` and `Password fingerprint: <fp>` in `details` fill
 * `medsoc.credential.username` / `.fingerprint` (and `user.name`).
 *
 * The document id hashes (`uid`, `timestamp`). Unless `preserveDuplicateVendorFields` is set,
 * `cynerio.event.*` leaves out `uid`, `timestamp`, `details`, `title`, `asset_id`, `asset_ip`,
 * `src_ip`, `dst_ip`, `port`, `browser` when they reached ECS; `severity` (the label) is kept.
 */
export function mapCynerioEvent(record: unknown, ctx: MappingContext): EcsDocument {
  const r = cynerioEventColumns(asRecord(record, "cynerio event"));
  const uid = str(r.uid);
  const time = timestamp(r.timestamp);
  const docId = documentId(ctx, record, uid, time, "cynerio event");
  const title = str(r.title);
  const details = str(r.details);
  const text = `${title ?? ""} ${details ?? ""}`;

  const credentialKind = DEFAULT_PASSWORD.test(text)
    ? "default"
    : WEAK_PASSWORD.test(text)
      ? "weak"
      : HARD_CODED.test(text)
        ? "hard_coded"
        : undefined;
  const category =
    credentialKind !== undefined
      ? ["authentication", "network"]
      : title !== undefined && CONNECTION_TITLES.test(title)
        ? ["network"]
        : ["intrusion_detection", "network"];
  const event: Record<string, unknown> = {
    kind: "alert",
    category,
    type: category[0] === "network" ? ["connection", "info"] : ["info"],
  };
  if (uid !== undefined) event.id = uid;
  if (title !== undefined) event.action = slug(title);
  const severity = severityScore(r.severity);
  if (severity !== undefined) {
    event.severity = severity;
    event.risk_score = severity;
  }
  finishEvent(event, ctx, record);

  const medsoc: EcsDocument["medsoc"] = { doc_id: docId, source: ctx.source, stream: ctx.stream };
  const doc: EcsDocument = {
    "@timestamp": time ?? ctx.ingestedAt,
    ecs: { version: ECS_VERSION },
    event: event as EcsDocument["event"],
    observer: { vendor: CYNERIO_OBSERVER_VENDOR, product: CYNERIO_OBSERVER_PRODUCT },
    medsoc,
  };
  const message = details ?? title;
  if (message !== undefined) doc.message = message;
  if (title !== undefined) doc.rule = { name: title };

  const assetId = str(r.asset_id);
  const assetIps = ipList(r.asset_ip);
  const host: Record<string, unknown> = {};
  if (assetId !== undefined) {
    host.id = assetId;
    doc.device = { id: assetId };
  }
  if (assetIps !== undefined) host.ip = assetIps;
  if (!isEmpty(host)) doc.host = host;
  const assetType = str(r.asset_type);
  if (assetType !== undefined) medsoc.device = { vendor_type: assetType };

  const src = ipList(r.src_ip);
  if (src !== undefined) doc.source = { ip: src[0] };
  const dst = ipList(r.dst_ip);
  const port = num(r.port);
  const entity = details === undefined ? undefined : ENTITY.exec(details)?.[1];
  const domain = str(r.host) ?? entity;
  const destination: Record<string, unknown> = {};
  if (dst !== undefined) destination.ip = dst[0];
  if (port !== undefined && Number.isInteger(port) && port >= 0 && port <= 65535) destination.port = port;
  if (domain !== undefined) destination.domain = domain;
  if (!isEmpty(destination)) doc.destination = destination;
  const network: Record<string, unknown> = {};
  const transport = str(r.trans);
  if (transport !== undefined) network.transport = transport.toLowerCase();
  const protocol = str(r.service);
  if (protocol !== undefined) network.protocol = protocol.toLowerCase();
  if (!isEmpty(network)) doc.network = network;
  const browser = str(r.browser);
  if (browser !== undefined) doc.user_agent = { original: browser };

  const username = details === undefined ? undefined : USERNAME.exec(details)?.[1];
  if (credentialKind !== undefined) {
    const credential: Record<string, unknown> = { observed: credentialKind };
    if (username !== undefined) credential.username = username;
    const fingerprint = details === undefined ? undefined : FINGERPRINT.exec(details)?.[1];
    if (fingerprint !== undefined) credential.fingerprint = fingerprint;
    medsoc.credential = credential;
  }
  if (username !== undefined) doc.user = { name: username };

  const related: Record<string, unknown> = {};
  const ips = union(union(assetIps, src), dst);
  if (ips !== undefined) related.ip = ips;
  if (domain !== undefined) related.hosts = [domain];
  if (username !== undefined) related.user = [username];
  if (!isEmpty(related)) doc.related = related;

  const omit = new Set<string>();
  if (ctx.preserveDuplicateVendorFields !== true) {
    if (uid !== undefined) omit.add("uid");
    if (time !== undefined) omit.add("timestamp");
    if (details !== undefined) omit.add("details");
    if (title !== undefined) omit.add("title");
    if (assetId !== undefined) omit.add("asset_id");
    if (assetIps !== undefined) omit.add("asset_ip");
    if (src !== undefined) omit.add("src_ip");
    if (dst !== undefined) omit.add("dst_ip");
    if (destination.port !== undefined) omit.add("port");
    if (browser !== undefined) omit.add("browser");
  }
  const vendor = vendorNamespace(r, CYNERIO_FIELDS, omit) ?? {};
  const scanner = details === undefined ? undefined : SCANNER_TYPE.exec(details)?.[1]?.trim();
  if (scanner) vendor.scanner_type = scanner;
  const exploit = details === undefined ? undefined : EXPLOIT.exec(details)?.[1]?.trim();
  if (exploit) vendor.exploit = exploit;
  if (entity !== undefined) vendor.suspicious_connection_entity = entity;
  if (!isEmpty(vendor)) doc.cynerio = { event: vendor };
  return doc;
}
