import { asRecord, documentId, ECS_VERSION, finishEvent, isEmpty } from "../document.ts";
import { MappingError } from "../errors.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { ipList, num, str, strList } from "../values.ts";
import {
  first,
  NOZOMI_OBSERVER_PRODUCT,
  NOZOMI_OBSERVER_VENDOR,
  nozomiTime,
  nozomiVendor,
  scoreLabel,
} from "./fields.ts";

/**
 * Nozomi node CVE (one CVE on one asset) → ECS vulnerability finding (`event.kind: event`,
 * `event.category: [vulnerability]`, `event.type: [info]`; Elastic's package writes `alert`).
 *
 * `@timestamp` = `time` (then `record_created_at`); `event.id` = `id`; `vulnerability.id` = `cve`,
 * `.enumeration` `CVE`, `.reference` the cve.org record, `.score.base` = `cve_score` (string or
 * number), `.severity` from the score's CVSS band, `.description` = `cve_summary`, `.category` =
 * `cwe_name`, `.classification` `CVSS`, `.scanner.vendor` `Nozomi Networks`; `vulnerability.published_date`
 * is not ECS, so `cve_creation_time` stays in the vendor namespace.
 *
 * The device: `host.id` and `device.id` = `asset_id` (Elastic uses the appliance id, which names
 * the sensor, not the device), `host.name` = `name`, `host.ip` = `nodes` (valid addresses;
 * `related.ip` too), `host.type` and `medsoc.device.vendor_type` = `type`, `host.os.full` = `os`,
 * `device.manufacturer` = `vendor`, `device.model.name` = `product_name`,
 * `medsoc.device.firmware_version` = `firmware_version`, `medsoc.location.ward` = first of `zones`.
 * `is_kev` stays in `nozomi.node_cve.*`; KEV enrichment is medsoc's own (`medsoc.vulnerability`).
 *
 * Unless `preserveDuplicateVendorFields` is set, `nozomi.node_cve.*` leaves out `id`, `cve`,
 * `cve_score`, `cve_summary`, `asset_id`, `name`, `vendor`, `product_name`, `os` and `time` when
 * copied.
 */
export function mapNozomiNodeCve(record: unknown, ctx: MappingContext): EcsDocument {
  const r = asRecord(record, "nozomi node_cve");
  const cve = str(r.cve);
  if (cve === undefined) throw new MappingError("invalid_record", "nozomi node_cve has no cve");
  const id = str(r.id);
  const time = nozomiTime(r.time) ?? nozomiTime(r.record_created_at);
  const assetId = str(r.asset_id);
  const docId = documentId(
    ctx,
    record,
    id ?? (assetId ? `${assetId}/${cve}` : undefined),
    time,
    "nozomi node_cve",
  );
  const omit = new Set<string>();
  const copied = (key: string) => {
    if (ctx.preserveDuplicateVendorFields !== true) omit.add(key);
  };
  copied("cve");
  if (nozomiTime(r.time) !== undefined) copied("time");

  const vulnerability: Record<string, unknown> = {
    id: cve,
    classification: "CVSS",
    scanner: { vendor: NOZOMI_OBSERVER_VENDOR },
  };
  if (/^CVE-/i.test(cve)) {
    vulnerability.enumeration = "CVE";
    vulnerability.reference = `https://www.cve.org/CVERecord?id=${cve}`;
  }
  const score = num(r.cve_score);
  if (score !== undefined) {
    vulnerability.score = { base: score };
    copied("cve_score");
  }
  const severity = scoreLabel(score);
  if (severity !== undefined) vulnerability.severity = severity;
  const summary = str(r.cve_summary);
  if (summary !== undefined) {
    vulnerability.description = summary;
    copied("cve_summary");
  }
  const cwe = strList(r.cwe_name);
  if (cwe !== undefined) vulnerability.category = cwe;

  const event: Record<string, unknown> = { kind: "event", category: ["vulnerability"], type: ["info"] };
  if (id !== undefined) {
    event.id = id;
    copied("id");
  }
  finishEvent(event, ctx, record);

  const host: Record<string, unknown> = {};
  const device: Record<string, unknown> = {};
  const medsocDevice: Record<string, unknown> = {};
  if (assetId !== undefined) {
    host.id = assetId;
    device.id = assetId;
    copied("asset_id");
  }
  const name = str(r.name);
  if (name !== undefined) {
    host.name = name;
    copied("name");
  }
  const ips = ipList(r.nodes);
  if (ips !== undefined) host.ip = ips;
  const type = str(r.type);
  if (type !== undefined) {
    host.type = type;
    medsocDevice.vendor_type = type;
  }
  const os = str(r.os);
  if (os !== undefined) {
    host.os = { full: os };
    copied("os");
  }
  const vendor = str(r.vendor);
  if (vendor !== undefined) {
    device.manufacturer = vendor;
    copied("vendor");
  }
  const model = str(r.product_name);
  if (model !== undefined) {
    device.model = { name: model };
    copied("product_name");
  }
  const firmware = str(r.firmware_version);
  if (firmware !== undefined) medsocDevice.firmware_version = firmware;

  const medsoc: EcsDocument["medsoc"] = { doc_id: docId, source: ctx.source, stream: ctx.stream };
  if (!isEmpty(medsocDevice)) medsoc.device = medsocDevice;
  const ward = first(r.zones);
  if (ward !== undefined) medsoc.location = { ward };
  const doc: EcsDocument = {
    "@timestamp": time ?? ctx.ingestedAt,
    ecs: { version: ECS_VERSION },
    event: event as EcsDocument["event"],
    observer: { vendor: NOZOMI_OBSERVER_VENDOR, product: NOZOMI_OBSERVER_PRODUCT },
    medsoc,
    vulnerability,
  };
  if (summary !== undefined) doc.message = summary;
  if (!isEmpty(host)) doc.host = host;
  if (!isEmpty(device)) doc.device = device;
  const related: Record<string, unknown> = {};
  if (ips !== undefined) related.ip = ips.slice();
  if (name !== undefined) related.hosts = [name];
  if (!isEmpty(related)) doc.related = related;
  const vendorNs = nozomiVendor(r, omit);
  if (vendorNs !== undefined) doc.nozomi = { node_cve: vendorNs };
  return doc;
}
