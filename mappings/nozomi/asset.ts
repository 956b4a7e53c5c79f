import { asRecord, documentId, ECS_VERSION, finishEvent, isEmpty } from "../document.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { ipList, macList, num, str, strList, union } from "../values.ts";
import {
  first,
  NOZOMI_OBSERVER_PRODUCT,
  NOZOMI_OBSERVER_VENDOR,
  nozomiTime,
  nozomiVendor,
} from "./fields.ts";

/**
 * Nozomi asset (inventory snapshot) → ECS, `event.kind: asset`, `event.category: [host]`.
 *
 * `@timestamp` = `last_activity_time` (then `created_at`, then the ingest time), `event.start` =
 * `created_at`; `event.id` = `id`; `host.id` = `id`, `device.id` = `device_id` (then `id`);
 * `host.name` = `name`; `host.ip` = `ip[]` (valid addresses only); `host.mac` = `mac_address[]`
 * upper-dash; `host.type` and `medsoc.device.vendor_type` = `type` (`-` dropped);
 * `host.os.full`/`name` = `os`; `host.geo.location` from `latitude`/`longitude`;
 * `host.risk.calculated_score` = `nozomi_risk` (Nozomi's computed asset risk); `event.risk_score` =
 * `risk`; `network.protocol` = `protocols[]`, `network.vlan.id` = `vlan_id[]`; `tags` = `tags[]`;
 * `device.manufacturer` = `vendor` (then the first `mac_vendor`); `device.model.name` =
 * `product_name`; `device.serial_number` = `serial_number`; `medsoc.device.firmware_version` =
 * `firmware_version`; `medsoc.location.ward` = first of `zones`, `.vlan` = first of `vlan_id`,
 * `.site` = `custom_fields.site`; `related.ip` = `ip[]`, `related.hosts` = `name` and the
 * `appliance_hosts` that see it (Elastic also writes those to `host.hostname`; medsoc's `host.*` is
 * the device, docs/elastic-pipeline-agreement.md).
 *
 * Unless `preserveDuplicateVendorFields` is set, `nozomi.asset.*` leaves out `id`, `device_id`,
 * `name`, `ip`, `mac_address`, `vendor`, `product_name`, `serial_number`, `firmware_version`, `os`,
 * `nozomi_risk`, `risk`, `protocols`, `tags` and `last_activity_time` when they were copied.
 */
export function mapNozomiAsset(record: unknown, ctx: MappingContext): EcsDocument {
  const r = asRecord(record, "nozomi asset");
  const id = str(r.id);
  const last = nozomiTime(r.last_activity_time);
  const created = nozomiTime(r.created_at);
  const docId = documentId(ctx, record, id, last ?? created, "nozomi asset");

  const host: Record<string, unknown> = {};
  const device: Record<string, unknown> = {};
  const medsocDevice: Record<string, unknown> = {};
  const location: Record<string, unknown> = {};
  const omit = new Set<string>();
  const copied = (key: string) => {
    if (ctx.preserveDuplicateVendorFields !== true) omit.add(key);
  };

  if (id !== undefined) {
    host.id = id;
    copied("id");
  }
  const deviceId = str(r.device_id) ?? id;
  if (deviceId !== undefined) {
    device.id = deviceId;
    if (str(r.device_id) !== undefined) copied("device_id");
  }
  const name = str(r.name);
  if (name !== undefined) {
    host.name = name;
    copied("name");
  }
  const ips = ipList(r.ip);
  if (ips !== undefined) {
    host.ip = ips;
    if (ips.length === (strList(r.ip)?.length ?? 0)) copied("ip");
  }
  const macs = macList(r.mac_address);
  if (macs !== undefined) {
    host.mac = macs;
    if (macs.length === (strList(r.mac_address)?.length ?? 0)) copied("mac_address");
  }
  const type = str(r.type);
  if (type !== undefined) {
    host.type = type;
    medsocDevice.vendor_type = type;
  }
  const os = str(r.os);
  if (os !== undefined) {
    host.os = { full: os, name: os };
    copied("os");
  }
  const vendor = str(r.vendor) ?? first(r.mac_vendor);
  if (vendor !== undefined) {
    device.manufacturer = vendor;
    if (str(r.vendor) !== undefined) copied("vendor");
  }
  const model = str(r.product_name);
  if (model !== undefined) {
    device.model = { name: model };
    copied("product_name");
  }
  const serial = str(r.serial_number);
  if (serial !== undefined) {
    device.serial_number = serial;
    copied("serial_number");
  }
  const firmware = str(r.firmware_version);
  if (firmware !== undefined) {
    medsocDevice.firmware_version = firmware;
    copied("firmware_version");
  }
  if (last !== undefined) copied("last_activity_time");
  const ward = first(r.zones);
  if (ward !== undefined) location.ward = ward;
  const vlan = num(first(r.vlan_id));
  if (vlan !== undefined) location.vlan = vlan;
  const custom = r.custom_fields;
  const site =
    custom && typeof custom === "object" ? str((custom as Record<string, unknown>).site) : undefined;
  if (site !== undefined) location.site = site;

  const latitude = num(r.latitude);
  const longitude = num(r.longitude);
  if (
    latitude !== undefined &&
    longitude !== undefined &&
    Math.abs(latitude) <= 90 &&
    Math.abs(longitude) <= 180
  )
    host.geo = { location: { lat: latitude, lon: longitude } };
  const nozomiRisk = num(r.nozomi_risk);
  if (nozomiRisk !== undefined) {
    host.risk = { calculated_score: nozomiRisk };
    copied("nozomi_risk");
  }

  const event: Record<string, unknown> = { kind: "asset", category: ["host"], type: ["info"] };
  if (created !== undefined) event.start = created;
  if (id !== undefined) event.id = id;
  const risk = num(r.risk);
  if (risk !== undefined) {
    event.risk_score = risk;
    copied("risk");
  }
  finishEvent(event, ctx, record);

  const medsoc: EcsDocument["medsoc"] = { doc_id: docId, source: ctx.source, stream: ctx.stream };
  if (!isEmpty(medsocDevice)) medsoc.device = medsocDevice;
  if (!isEmpty(location)) medsoc.location = location;
  const doc: EcsDocument = {
    "@timestamp": last ?? created ?? ctx.ingestedAt,
    ecs: { version: ECS_VERSION },
    event: event as EcsDocument["event"],
    observer: { vendor: NOZOMI_OBSERVER_VENDOR, product: NOZOMI_OBSERVER_PRODUCT },
    medsoc,
  };
  if (!isEmpty(host)) doc.host = host;
  if (!isEmpty(device)) doc.device = device;
  const network: Record<string, unknown> = {};
  const protocols = strList(r.protocols);
  if (protocols !== undefined) {
    network.protocol = protocols;
    copied("protocols");
  }
  const vlans = strList(
    Array.isArray(r.vlan_id) ? r.vlan_id.map((v) => (typeof v === "number" ? String(v) : v)) : r.vlan_id,
  );
  if (vlans !== undefined) network.vlan = { id: vlans };
  if (!isEmpty(network)) doc.network = network;
  const tags = strList(r.tags);
  if (tags !== undefined) {
    doc.tags = tags;
    copied("tags");
  }
  const related: Record<string, unknown> = {};
  if (ips !== undefined) related.ip = ips.slice();
  const hosts = union(name !== undefined ? [name] : undefined, strList(r.appliance_hosts));
  if (hosts !== undefined) related.hosts = hosts;
  if (!isEmpty(related)) doc.related = related;
  const vendorNs = nozomiVendor(r, omit);
  if (vendorNs !== undefined) doc.nozomi = { asset: vendorNs };
  return doc;
}
