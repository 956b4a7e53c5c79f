import { asRecord, documentId, ECS_VERSION, finishEvent, isEmpty } from "../document.ts";
import { MappingError } from "../errors.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { isIpAddress, severityScore, str, timestamp } from "../values.ts";
import {
  ASIMILY_FIELDS,
  ASIMILY_OBSERVER_PRODUCT,
  ASIMILY_OBSERVER_VENDOR,
  deviceFields,
  isRec,
  vendorNamespace,
} from "./fields.ts";

const DEFAULT_CREDENTIAL = /default\s+(credential|password)/i;
const WEAK_PASSWORD = /weak\s+password/i;
const USER = /\bUser(?:name)?[:\s]+([A-Za-z0-9_.@-]+)/;

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

/**
 * Asimily anomaly → ECS alert (`event.kind: alert`, `event.category: [intrusion_detection]`).
 * The record is one device entry of `/api/extapi/assets/anomalies` with ONE of its anomalies under
 * `anomaly` (the connector splits the list; a record with the original `anomalies` list of one
 * item is accepted too).
 *
 * `event.id` = `alertId`, `rule.name` = `anomaly`, `event.action` = its slug, `message` =
 * `description` (then `anomaly`), `event.severity`/`event.risk_score` from `criticality`
 * (High 73, Medium 47, Low 21: XSOAR maps High/Medium/Low to incident severity 3/2/1),
 * `@timestamp` = `lastUpdated` (ASSUMED field), `domainDeviceOrIpDevice` → `destination.ip` or
 * `destination.domain`; the device fields as in the asset mapping. An anomaly naming default or
 * weak credentials sets `medsoc.credential.observed` (and `.username` from "User <name>").
 * The document id hashes (device id, `alertId`, `lastUpdated`).
 */
export function mapAsimilyAnomaly(record: unknown, ctx: MappingContext): EcsDocument {
  const r = asRecord(record, "asimily anomaly");
  const list = Array.isArray(r.anomalies) && r.anomalies.length === 1 ? r.anomalies[0] : undefined;
  const item = isRec(r.anomaly) ? r.anomaly : isRec(list) ? list : undefined;
  if (item === undefined)
    throw new MappingError(
      "invalid_record",
      "asimily anomaly has no anomaly object (expected anomaly: {...})",
    );
  const { id, host, related, vendorType, consumed } = deviceFields(r);
  const alertId = str(item.alertId);
  const time = timestamp(item.lastUpdated ?? r.lastUpdated);
  const docId = documentId(
    ctx,
    record,
    alertId === undefined ? undefined : `${id ?? ""}|${alertId}`,
    time,
    "asimily anomaly",
  );
  const name = str(item.anomaly);
  const description = str(item.description);

  const event: Record<string, unknown> = { kind: "alert", category: ["intrusion_detection"], type: ["info"] };
  if (alertId !== undefined) event.id = alertId;
  if (name !== undefined) event.action = slug(name);
  const severity = severityScore(item.criticality);
  if (severity !== undefined) {
    event.severity = severity;
    event.risk_score = severity;
  }
  finishEvent(event, ctx, record);
  const medsoc: EcsDocument["medsoc"] = { doc_id: docId, source: ctx.source, stream: ctx.stream };
  if (vendorType !== undefined) medsoc.device = { vendor_type: vendorType };
  const text = `${name ?? ""} ${description ?? ""}`;
  const observed = DEFAULT_CREDENTIAL.test(text) ? "default" : WEAK_PASSWORD.test(text) ? "weak" : undefined;
  const username =
    observed === undefined || description === undefined ? undefined : USER.exec(description)?.[1];
  if (observed !== undefined)
    medsoc.credential = username === undefined ? { observed } : { observed, username };

  const doc: EcsDocument = {
    "@timestamp": time ?? ctx.ingestedAt,
    ecs: { version: ECS_VERSION },
    event: event as EcsDocument["event"],
    observer: { vendor: ASIMILY_OBSERVER_VENDOR, product: ASIMILY_OBSERVER_PRODUCT },
    medsoc,
  };
  const message = description ?? name;
  if (message !== undefined) doc.message = message;
  if (name !== undefined) doc.rule = { name };
  if (!isEmpty(host)) doc.host = host;
  if (id !== undefined) doc.device = { id };
  const peer = str(item.domainDeviceOrIpDevice);
  if (peer !== undefined) {
    doc.destination = isIpAddress(peer) ? { ip: peer } : { domain: peer };
    if (isIpAddress(peer)) related.ip = [...((related.ip as string[]) ?? []), peer];
    else related.hosts = [...((related.hosts as string[]) ?? []), peer];
  }
  if (username !== undefined) {
    doc.user = { name: username };
    related.user = [username];
  }
  if (!isEmpty(related)) doc.related = related;

  const omit = new Set<string>();
  const itemOmit = new Set<string>();
  if (ctx.preserveDuplicateVendorFields !== true) {
    for (const k of consumed) omit.add(k);
    if (alertId !== undefined) itemOmit.add("alertid");
    if (name !== undefined) itemOmit.add("anomaly");
    if (description !== undefined) itemOmit.add("description");
    if (time !== undefined) itemOmit.add("lastupdated");
    if (peer !== undefined) itemOmit.add("domaindeviceoripdevice");
  }
  omit.add("anomaly");
  omit.add("anomalies");
  const vendor = vendorNamespace(r, ASIMILY_FIELDS, omit) ?? {};
  const anomaly = vendorNamespace(item, ASIMILY_FIELDS, itemOmit);
  if (anomaly !== undefined) vendor.anomaly = anomaly;
  if (!isEmpty(vendor)) doc.asimily = { anomaly: vendor };
  return doc;
}
