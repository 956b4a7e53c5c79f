import { asRecord, documentId, ECS_VERSION, finishEvent, isEmpty } from "../document.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { ipList, lowerList, macList, num, str, strList, timestamp, union } from "../values.ts";
import { ARMIS_OBSERVER_PRODUCT, ARMIS_OBSERVER_VENDOR } from "./fields.ts";
import { armisDeviceVendor } from "./vendor.ts";

/**
 * Armis device (inventory snapshot) → ECS, following Elastic's `armis.device` pipeline
 * (reference fixture `armis/device`) except `event.kind`, which is `asset` as DESIGN.md asks
 * (Elastic writes `event`).
 *
 * `@timestamp` = `lastSeen` (then `firstSeen`, then the ingest time), `event.start` = `firstSeen`,
 * `host.id` = `id`, `host.name` = `names` lower-cased (falling back to `name`), `host.ip` =
 * `ipAddress`, `related.ip` = `ipAddress` + `ipv6`, `host.mac` upper-dash, `host.os.family` =
 * `operatingSystem` lower-cased, `host.risk.static_score` = `riskLevel`, `host.type` = `category`,
 * `device.manufacturer`, `device.model.name` = `model`, `user.id` = `userIds`.
 */
export function mapArmisDevice(record: unknown, ctx: MappingContext): EcsDocument {
  const r = asRecord(record, "armis device");
  const vendor = armisDeviceVendor(r);
  const id = str(r.id);
  // The vendor namespace already holds the normalised timestamps (when they are scalars).
  const lastSeen = typeof vendor?.last_seen === "string" ? vendor.last_seen : timestamp(r.lastSeen);
  const firstSeen = typeof vendor?.first_seen === "string" ? vendor.first_seen : timestamp(r.firstSeen);
  const docId = documentId(ctx, record, id, lastSeen, "armis device");

  const names = lowerList(r.names) ?? lowerList(r.name);
  const ips = ipList(r.ipAddress);
  const ipv6 = ipList(r.ipv6);
  const users = strList(r.userIds);

  const host: Record<string, unknown> = {};
  if (id !== undefined) host.id = id;
  if (ips !== undefined) host.ip = ips;
  const macs = macList(r.macAddress);
  if (macs !== undefined) host.mac = macs;
  if (names !== undefined) host.name = names;
  const osFamily = str(r.operatingSystem);
  const osVersion = str(r.operatingSystemVersion);
  if (osFamily !== undefined || osVersion !== undefined) {
    const os: Record<string, unknown> = {};
    if (osFamily !== undefined) os.family = osFamily.toLowerCase();
    if (osVersion !== undefined) os.version = osVersion;
    host.os = os;
  }
  const risk = num(r.riskLevel);
  if (risk !== undefined) host.risk = { static_score: risk };
  const hostType = str(r.category);
  if (hostType !== undefined) host.type = hostType;

  const device: Record<string, unknown> = {};
  const manufacturer = str(r.manufacturer);
  if (manufacturer !== undefined) device.manufacturer = manufacturer;
  const model = str(r.model);
  if (model !== undefined) device.model = { name: model };

  const event: Record<string, unknown> = { kind: "asset", category: ["host"], type: ["info"] };
  if (firstSeen !== undefined) event.start = firstSeen;
  finishEvent(event, ctx, record);

  const doc: EcsDocument = {
    "@timestamp": lastSeen ?? firstSeen ?? ctx.ingestedAt,
    ecs: { version: ECS_VERSION },
    event: event as EcsDocument["event"],
    observer: { vendor: ARMIS_OBSERVER_VENDOR, product: ARMIS_OBSERVER_PRODUCT },
    medsoc: { doc_id: docId, source: ctx.source, stream: ctx.stream },
  };
  if (!isEmpty(host)) doc.host = host;
  if (!isEmpty(device)) doc.device = device;
  if (users !== undefined) doc.user = { id: users };

  const related: Record<string, unknown> = {};
  if (names !== undefined) related.hosts = names.slice();
  const relatedIps = union(ips, ipv6);
  if (relatedIps !== undefined) related.ip = relatedIps;
  if (users !== undefined) related.user = users.slice();
  if (!isEmpty(related)) doc.related = related;

  if (vendor !== undefined) doc.armis = { device: vendor };
  return doc;
}
