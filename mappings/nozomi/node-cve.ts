import { asRecord, documentId, ECS_VERSION, finishEvent, isEmpty } from "../document.ts";
import { MappingError } from "../errors.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { ipList, isIpAddress, num, str, strList, union } from "../values.ts";
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
 * `@timestamp` = `time` (then `record_created_at`); `event.id` = `id`; `event.start` =
 * `cve_creation_time` and `event.end` = `cve_update_time` (as Elastic's `nozomi_networks` pipeline
 * sets them); `vulnerability.id` = `cve`, `.enumeration` `CVE`, `.reference` the cve.org record
 * then every `references[].url`, `.score.base` = `cve_score` (string or number), `.severity` from
 * the score's CVSS band, `.description` = `cve_summary`, `.category` = `cwe_name`,
 * `.classification` `CVSS`, `.scanner.vendor` `Nozomi Networks`; `vulnerability.published_date`
 * is not ECS, so `cve_creation_time` also stays in the vendor namespace.
 *
 * The device: `host.id` and `device.id` = `asset_id` (Elastic puts the appliance in `host.*`, which
 * names the sensor, not the device: here it is the observer, `observer.hostname` =
 * `appliance_host`, `observer.ip` = `appliance_ip`), `host.name` = `name` (and `host.hostname`
 * when it is a DNS name), `host.ip` = `nodes` (valid addresses), `host.type` and
 * `medsoc.device.vendor_type` = `type`, `host.os.full` = `os` (and `host.os.family` when the node
 * has no firmware version, as Elastic does), `device.manufacturer` = `vendor`,
 * `device.model.name` = `product_name`, `medsoc.device.firmware_version` = `firmware_version`,
 * `medsoc.location.ward` = first of `zones`. `related.ip` = the node addresses and the appliance's,
 * `related.hosts` = `name`, the nodes that are names, and the appliance. `is_kev` stays in
 * `nozomi.node_cve.*`; KEV enrichment is medsoc's own (`medsoc.vulnerability`).
 *
 * Unless `preserveDuplicateVendorFields` is set, `nozomi.node_cve.*` leaves out `id`, `cve`,
 * `cve_score`, `cve_summary`, `cve_update_time`, `asset_id`, `name`, `vendor`, `product_name`,
 * `os`, `appliance_host`, `appliance_ip` and `time` when copied.
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
  const references: string[] = [];
  if (/^CVE-/i.test(cve)) {
    vulnerability.enumeration = "CVE";
    references.push(`https://www.cve.org/CVERecord?id=${cve}`);
  }
  if (Array.isArray(r.references))
    for (const ref of r.references) {
      const url = ref && typeof ref === "object" ? str((ref as Record<string, unknown>).url) : undefined;
      if (url !== undefined && !references.includes(url)) references.push(url);
    }
  if (references.length === 1) vulnerability.reference = references[0];
  else if (references.length > 1) vulnerability.reference = references;
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
  const published = nozomiTime(r.cve_creation_time);
  if (published !== undefined) event.start = published;
  const updated = nozomiTime(r.cve_update_time);
  if (updated !== undefined) {
    event.end = updated;
    copied("cve_update_time");
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
    if (isDnsName(name)) host.hostname = name;
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
  const firmware = str(r.firmware_version);
  if (os !== undefined) {
    // Elastic reads `os` as the OS family of nodes without a firmware version (computers, phones).
    host.os = firmware === undefined ? { family: os, full: os } : { full: os };
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
  const observer = doc.observer as Record<string, unknown>;
  const applianceHost = str(r.appliance_host);
  if (applianceHost !== undefined) {
    observer.hostname = applianceHost;
    copied("appliance_host");
  }
  const applianceIp = str(r.appliance_ip);
  if (applianceIp !== undefined && isIpAddress(applianceIp)) {
    observer.ip = [applianceIp];
    copied("appliance_ip");
  }
  const related: Record<string, unknown> = {};
  const relatedIps = union(ips, observer.ip as string[] | undefined);
  if (relatedIps !== undefined) related.ip = relatedIps;
  const nodeNames = strList(r.nodes)?.filter((n) => !isIpAddress(n));
  const hosts = union(union(name !== undefined ? [name] : undefined, nodeNames), strList(applianceHost));
  if (hosts !== undefined && hosts.length > 0) related.hosts = hosts;
  if (!isEmpty(related)) doc.related = related;
  const vendorNs = nozomiVendor(r, omit);
  if (vendorNs !== undefined) doc.nozomi = { node_cve: vendorNs };
  return doc;
}

/** A DNS host name (`plc160.acme0.example.com`): labels of letters, digits and `-`, at least two, not an address. */
function isDnsName(v: string): boolean {
  return (
    /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/.test(
      v,
    ) && !isIpAddress(v)
  );
}
