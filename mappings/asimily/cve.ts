import { asRecord, documentId, ECS_VERSION, finishEvent, isEmpty } from "../document.ts";
import { MappingError } from "../errors.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { num, str, timestamp } from "../values.ts";
import {
  ASIMILY_FIELDS,
  ASIMILY_OBSERVER_PRODUCT,
  ASIMILY_OBSERVER_VENDOR,
  deviceFields,
  isRec,
  vendorNamespace,
} from "./fields.ts";

/** XSOAR's score bands (monitors.md §7): High ≥ 7.5, Medium ≥ 3.5, else Low. */
export function asimilyScoreBand(score: number): "High" | "Medium" | "Low" {
  return score >= 7.5 ? "High" : score >= 3.5 ? "Medium" : "Low";
}

const BAND_SEVERITY = { High: 73, Medium: 47, Low: 21 } as const;

/**
 * Asimily device CVE → ECS vulnerability finding (`event.kind: event`, `event.category:
 * [vulnerability]`). The record is one device entry of `/api/extapi/assets/device-cves` with ONE of
 * its CVEs under `cve` (a `cves` list of one item is accepted too).
 *
 * `vulnerability.id` = `cveName`, `vulnerability.description` = `description` (also `message`),
 * `vulnerability.score.base` = `cveScore` (ASSUMED field; strings coerced),
 * `vulnerability.severity` and `event.severity` from XSOAR's score bands (High ≥ 7.5 → 73,
 * Medium ≥ 3.5 → 47, Low → 21), `vulnerability.reference` = the NVD page of a CVE id,
 * `vulnerability.scanner.vendor` = `Asimily`, `@timestamp` = `lastUpdated` (ASSUMED); the device
 * fields as in the asset mapping. The document id hashes (device id, `cveName`, `lastUpdated`).
 */
export function mapAsimilyCve(record: unknown, ctx: MappingContext): EcsDocument {
  const r = asRecord(record, "asimily cve");
  const list = Array.isArray(r.cves) && r.cves.length === 1 ? r.cves[0] : undefined;
  const item = isRec(r.cve) ? r.cve : isRec(list) ? list : undefined;
  if (item === undefined)
    throw new MappingError("invalid_record", "asimily cve has no cve object (expected cve: {...})");
  const cve = str(item.cveName);
  if (cve === undefined) throw new MappingError("invalid_record", "asimily cve has no cveName");
  const { id, host, related, vendorType, consumed } = deviceFields(r);
  const time = timestamp(item.lastUpdated ?? r.lastUpdated);
  const docId = documentId(ctx, record, `${id ?? ""}|${cve}`, time, "asimily cve");

  const vulnerability: Record<string, unknown> = { id: cve, scanner: { vendor: ASIMILY_OBSERVER_VENDOR } };
  const isCve = /^CVE-\d{4}-\d{4,}$/i.test(cve);
  if (isCve) {
    vulnerability.enumeration = "CVE";
    vulnerability.reference = `https://nvd.nist.gov/vuln/detail/${cve.toUpperCase()}`;
  }
  const description = str(item.description);
  if (description !== undefined) vulnerability.description = description;
  const score = num(item.cveScore);
  const event: Record<string, unknown> = { kind: "event", category: ["vulnerability"], type: ["info"] };
  if (score !== undefined) {
    const band = asimilyScoreBand(score);
    vulnerability.score = { base: score };
    vulnerability.classification = "CVSS";
    vulnerability.severity = band;
    event.severity = BAND_SEVERITY[band];
  }
  finishEvent(event, ctx, record);
  const medsoc: EcsDocument["medsoc"] = { doc_id: docId, source: ctx.source, stream: ctx.stream };
  if (vendorType !== undefined) medsoc.device = { vendor_type: vendorType };

  const doc: EcsDocument = {
    "@timestamp": time ?? ctx.ingestedAt,
    ecs: { version: ECS_VERSION },
    event: event as EcsDocument["event"],
    observer: { vendor: ASIMILY_OBSERVER_VENDOR, product: ASIMILY_OBSERVER_PRODUCT },
    medsoc,
    vulnerability,
  };
  if (description !== undefined) doc.message = description;
  if (!isEmpty(host)) doc.host = host;
  if (id !== undefined) doc.device = { id };
  if (!isEmpty(related)) doc.related = related;

  const omit = new Set<string>(["cve", "cves"]);
  const itemOmit = new Set<string>();
  if (ctx.preserveDuplicateVendorFields !== true) {
    for (const k of consumed) omit.add(k);
    itemOmit.add("cvename");
    if (description !== undefined) itemOmit.add("description");
    if (score !== undefined) itemOmit.add("cvescore");
    if (time !== undefined) itemOmit.add("lastupdated");
  }
  const vendor = vendorNamespace(r, ASIMILY_FIELDS, omit) ?? {};
  const cveVendor = vendorNamespace(item, ASIMILY_FIELDS, itemOmit);
  if (cveVendor !== undefined) vendor.cve = cveVendor;
  if (!isEmpty(vendor)) doc.asimily = { cve: vendor };
  return doc;
}
