import { asRecord, documentId, ECS_VERSION, finishEvent, isEmpty } from "../document.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { bool, ipList, lowerList, macList, num, str, stringCount, timestamp, union } from "../values.ts";
import {
  CYNERIO_FIELDS,
  CYNERIO_OBSERVER_PRODUCT,
  CYNERIO_OBSERVER_VENDOR,
  isRec,
  vendorNamespace,
} from "./fields.ts";

/**
 * Cynerio asset (inventory snapshot) → ECS (`event.kind: asset`, `event.category: [host]`).
 * Field names are Hornbill's requestable asset fields (monitors.md §4, single source; dotted names
 * read as nested objects).
 *
 * `@timestamp` = `last_seen` (epoch seconds, numeric strings and ISO accepted), `event.start` =
 * `first_seen`, `host.id`/`device.id` = `id`, `host.name` = `display_name` lower-cased,
 * `host.mac` upper-dash, `host.ip` = `ip`, `host.type` = `vertical_display_name` (then
 * `category`), `host.os.full` = `os` (`name`/`family` its first word, `version` the rest),
 * `host.risk.static_level` = `severity`, `device.manufacturer` = `vendor`, `device.model.name` =
 * `model`, `device.serial_number`, `observer.ingress.vlan.id` = `network.vlan`; medsoc:
 * `device.vendor_category` = `category`, `device.vendor_type` = `type_display_name`,
 * `device.firmware_version`, `clinical.phi`, `location.ward` = `department`, `location.vlan`.
 *
 * Unless `preserveDuplicateVendorFields` is set, `cynerio.asset.*` leaves out `id`, `last_seen`,
 * `first_seen`, `display_name`, `vendor`, `model`, `serial_number`, `os`, and `mac`/`ip` when
 * every value reached the ECS list.
 */
export function mapCynerioAsset(record: unknown, ctx: MappingContext): EcsDocument {
  const r = asRecord(record, "cynerio asset");
  const id = str(r.id);
  const lastSeen = timestamp(r.last_seen);
  const firstSeen = timestamp(r.first_seen);
  const docId = documentId(ctx, record, id, lastSeen, "cynerio asset");
  const network = isRec(r.network) ? r.network : {};

  const host: Record<string, unknown> = {};
  const device: Record<string, unknown> = {};
  if (id !== undefined) {
    host.id = id;
    device.id = id;
  }
  const names = lowerList(r.display_name);
  if (names !== undefined) host.name = names[0];
  const macs = macList(r.mac);
  if (macs !== undefined) host.mac = macs;
  const ips = ipList(r.ip);
  if (ips !== undefined) host.ip = ips;
  const hostType = str(r.vertical_display_name) ?? str(r.category);
  if (hostType !== undefined) host.type = hostType;
  const os = str(r.os);
  if (os !== undefined) {
    const space = os.indexOf(" ");
    const name = space < 0 ? os : os.slice(0, space);
    const o: Record<string, unknown> = { full: os, name, family: name.toLowerCase() };
    if (space >= 0) o.version = os.slice(space + 1).trim();
    host.os = o;
  }
  const severity = str(r.severity);
  if (severity !== undefined) host.risk = { static_level: severity };
  const manufacturer = str(r.vendor);
  if (manufacturer !== undefined) device.manufacturer = manufacturer;
  const model = str(r.model);
  if (model !== undefined) device.model = { name: model };
  const serial = str(r.serial_number);
  if (serial !== undefined) device.serial_number = serial;

  const event: Record<string, unknown> = { kind: "asset", category: ["host"], type: ["info"] };
  if (firstSeen !== undefined) event.start = firstSeen;
  finishEvent(event, ctx, record);

  const medsoc: EcsDocument["medsoc"] = { doc_id: docId, source: ctx.source, stream: ctx.stream };
  const dev: Record<string, unknown> = {};
  const category = str(r.category);
  if (category !== undefined) dev.vendor_category = category;
  const vendorType = str(r.type_display_name);
  if (vendorType !== undefined) dev.vendor_type = vendorType;
  const firmware = str(r.firmware_version);
  if (firmware !== undefined) dev.firmware_version = firmware;
  if (!isEmpty(dev)) medsoc.device = dev;
  const phi = bool(r.phi);
  if (phi !== undefined) medsoc.clinical = { phi };
  const location: Record<string, unknown> = {};
  const ward = str(r.department);
  if (ward !== undefined) location.ward = ward;
  const vlan = num(network.vlan);
  if (vlan !== undefined) location.vlan = vlan;
  if (!isEmpty(location)) medsoc.location = location;

  const doc: EcsDocument = {
    "@timestamp": lastSeen ?? firstSeen ?? ctx.ingestedAt,
    ecs: { version: ECS_VERSION },
    event: event as EcsDocument["event"],
    observer: { vendor: CYNERIO_OBSERVER_VENDOR, product: CYNERIO_OBSERVER_PRODUCT },
    medsoc,
  };
  const vlanId = str(network.vlan);
  if (vlanId !== undefined) (doc.observer as Record<string, unknown>).ingress = { vlan: { id: vlanId } };
  if (!isEmpty(host)) doc.host = host;
  if (!isEmpty(device)) doc.device = device;
  const related: Record<string, unknown> = {};
  if (names !== undefined) related.hosts = names;
  const relatedIps = union(ips, undefined);
  if (relatedIps !== undefined) related.ip = relatedIps;
  if (!isEmpty(related)) doc.related = related;

  const omit = new Set<string>();
  if (ctx.preserveDuplicateVendorFields !== true) {
    if (id !== undefined) omit.add("id");
    if (lastSeen !== undefined) omit.add("last_seen");
    if (firstSeen !== undefined) omit.add("first_seen");
    if (names !== undefined && stringCount(r.display_name) === 1) omit.add("display_name");
    if (manufacturer !== undefined) omit.add("vendor");
    if (model !== undefined) omit.add("model");
    if (serial !== undefined) omit.add("serial_number");
    if (os !== undefined) omit.add("os");
    if (macs !== undefined && macs.length === stringCount(r.mac)) omit.add("mac");
    if (ips !== undefined && ips.length === stringCount(r.ip)) omit.add("ip");
  }
  const vendor = vendorNamespace(r, CYNERIO_FIELDS, omit);
  if (vendor !== undefined) doc.cynerio = { asset: vendor };
  return doc;
}
