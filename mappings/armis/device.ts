import { asRecord, documentId, ECS_VERSION, finishEvent, isEmpty } from "../document.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { ipList, lowerList, macList, num, str, stringCount, strList, timestamp, union } from "../values.ts";
import { ARMIS_OBSERVER_PRODUCT, ARMIS_OBSERVER_VENDOR } from "./fields.ts";
import {
  armisDeviceVendor,
  DEVICE_CATEGORY,
  DEVICE_FIRST_SEEN,
  DEVICE_ID,
  DEVICE_IP_ADDRESS,
  DEVICE_LAST_SEEN,
  DEVICE_MAC_ADDRESS,
  DEVICE_MANUFACTURER,
  DEVICE_MODEL,
  DEVICE_NAMES,
  DEVICE_OPERATING_SYSTEM,
  DEVICE_OPERATING_SYSTEM_VERSION,
  DEVICE_RISK_LEVEL,
  DEVICE_USER_IDS,
} from "./vendor.ts";

/**
 * Armis device (inventory snapshot) → ECS, following Elastic's `armis.device` pipeline
 * (reference fixture `armis/device`) except `event.kind`, which is `asset` as DESIGN.md asks
 * (Elastic writes `event`).
 *
 * `@timestamp` = `lastSeen` (then `firstSeen`, then the ingest time), `event.start` = `firstSeen`,
 * `host.id` = `id`, `host.name` = `names` lower-cased (falling back to `name`), `host.ip` =
 * `ipAddress`, `related.ip` = `ipAddress` + `ipv6`, `host.mac` upper-dash (`names`, `ipAddress`
 * and `macAddress` split at commas, as Armis sends several in one string), `host.os.family` =
 * `operatingSystem` lower-cased (and `host.os.type` when it is an ECS OS type), `host.risk.static_score` = `riskLevel`, `host.type` = `category`,
 * `device.manufacturer`, `device.model.name` = `model`, `user.id` = `userIds`.
 *
 * Unless `preserveDuplicateVendorFields` is set, `armis.device.*` leaves out the fields copied
 * above (Elastic's `remove_custom_duplicate_fields` list), each only when its ECS copy was made
 * for this record and holds the same information:
 * - `id` (`host.id`), `first_seen` (`event.start`), `last_seen` (`@timestamp`), `manufacturer`
 *   (`device.manufacturer`), `model` (`device.model.name`), `operating_system_version`
 *   (`host.os.version`), `risk_level` (`host.risk.static_score`), `user_ids` (`user.id`),
 *   `category` (`host.type`);
 * - `operating_system` (`host.os.family`, lower-cased) and `names` (`host.name`, lower-cased)
 *   when `names` holds only strings;
 * - `ip_address` (`host.ip`) and `mac_address` (`host.mac`, upper-dash) when every address is a
 *   valid, distinct string that reached the ECS list (an invalid one keeps the vendor list whole).
 *
 * Always kept: `name` (even when `host.name` falls back to it), `ip_v6` (only in `related.ip`).
 *
 * Mapping-contract fields for the enrichers (kept next to the vendor copy): `medsoc.device.
 * vendor_category` = `category`, `medsoc.device.vendor_type` = `type` (then `typeEnum`),
 * `medsoc.device.business_impact` = `businessImpact` (the reference: "use businessImpact as
 * criticality"), `medsoc.location.site` = `site.name`, and `medsoc.location.ward` = the
 * `sensor.name` after the site name when it starts with it (Armis has no unit field; its sensor,
 * the access switch or controller that sees the device, is commonly named "<site> <unit>").
 */
export function mapArmisDevice(record: unknown, ctx: MappingContext): EcsDocument {
  const r = asRecord(record, "armis device");
  const id = str(r.id);
  const lastSeen = timestamp(r.lastSeen);
  const firstSeen = timestamp(r.firstSeen);
  const docId = documentId(ctx, record, id, lastSeen, "armis device");

  // Armis sends several names, addresses or MACs as one comma-separated string ("a, b"), as
  // Elastic's armis pipeline splits them.
  const fromNames = lowerList(commaSplit(r.names));
  const names = fromNames ?? lowerList(r.name);
  const ips = ipList(commaSplit(r.ipAddress));
  const ipv6 = ipList(r.ipv6);
  const users = strList(r.userIds);

  const host: Record<string, unknown> = {};
  if (id !== undefined) host.id = id;
  if (ips !== undefined) host.ip = ips;
  const macs = macList(commaSplit(r.macAddress));
  if (macs !== undefined) host.mac = macs;
  if (names !== undefined) host.name = names;
  const osFamily = str(r.operatingSystem);
  const osVersion = str(r.operatingSystemVersion);
  if (osFamily !== undefined || osVersion !== undefined) {
    const os: Record<string, unknown> = {};
    if (osFamily !== undefined) {
      os.family = osFamily.toLowerCase();
      // host.os.type as Elastic's armis pipeline sets it, only with a value ECS allows.
      if (OS_TYPES.has(os.family as string)) os.type = os.family;
    }
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

  const medsoc: EcsDocument["medsoc"] = { doc_id: docId, source: ctx.source, stream: ctx.stream };
  const medsocDevice = contractDeviceFields(r);
  if (medsocDevice !== undefined) medsoc.device = medsocDevice;
  const location = contractLocation(r);
  if (location !== undefined) medsoc.location = location;

  const doc: EcsDocument = {
    "@timestamp": lastSeen ?? firstSeen ?? ctx.ingestedAt,
    ecs: { version: ECS_VERSION },
    event: event as EcsDocument["event"],
    observer: { vendor: ARMIS_OBSERVER_VENDOR, product: ARMIS_OBSERVER_PRODUCT },
    medsoc,
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

  let omit = 0;
  if (ctx.preserveDuplicateVendorFields !== true) {
    if (id !== undefined) omit |= DEVICE_ID;
    if (firstSeen !== undefined) omit |= DEVICE_FIRST_SEEN;
    if (lastSeen !== undefined) omit |= DEVICE_LAST_SEEN;
    if (ips !== undefined && ips.length === stringCount(r.ipAddress)) omit |= DEVICE_IP_ADDRESS;
    if (macs !== undefined && macs.length === stringCount(r.macAddress)) omit |= DEVICE_MAC_ADDRESS;
    if (fromNames !== undefined && stringCount(r.names) > 0) omit |= DEVICE_NAMES;
    if (osFamily !== undefined) omit |= DEVICE_OPERATING_SYSTEM;
    if (osVersion !== undefined) omit |= DEVICE_OPERATING_SYSTEM_VERSION;
    if (risk !== undefined) omit |= DEVICE_RISK_LEVEL;
    if (hostType !== undefined) omit |= DEVICE_CATEGORY;
    if (manufacturer !== undefined) omit |= DEVICE_MANUFACTURER;
    if (model !== undefined) omit |= DEVICE_MODEL;
    if (users !== undefined) omit |= DEVICE_USER_IDS;
  }
  const vendor = armisDeviceVendor(r, omit);
  if (vendor !== undefined) doc.armis = { device: vendor };
  return doc;
}

/** `medsoc.device.*` contract fields of an Armis device. */
function contractDeviceFields(r: Readonly<Record<string, unknown>>): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  const category = str(r.category);
  if (category !== undefined) out.vendor_category = category;
  const type = str(r.type) ?? str(r.typeEnum);
  if (type !== undefined) out.vendor_type = type;
  const impact = str(r.businessImpact);
  if (impact !== undefined && impact !== "Unassigned") out.business_impact = impact;
  return isEmpty(out) ? undefined : out;
}

/** `medsoc.location.*` of an Armis device: the site, and the unit its sensor is named after. */
function contractLocation(r: Readonly<Record<string, unknown>>): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  const siteObj =
    typeof r.site === "object" && r.site !== null ? (r.site as Record<string, unknown>) : undefined;
  const site = str(siteObj?.name);
  if (site !== undefined) out.site = site;
  const sensorObj =
    typeof r.sensor === "object" && r.sensor !== null ? (r.sensor as Record<string, unknown>) : undefined;
  const sensor = str(sensorObj?.name);
  if (site !== undefined && sensor?.startsWith(`${site} `)) {
    const ward = sensor.slice(site.length + 1).trim();
    if (ward !== "") out.ward = ward;
  }
  return isEmpty(out) ? undefined : out;
}

/** ECS `host.os.type` allowed values. */
const OS_TYPES = new Set(["linux", "macos", "unix", "windows", "ios", "android"]);

/** A comma-separated string (or list of them) as a list of trimmed parts; anything else unchanged. */
function commaSplit(v: unknown): unknown {
  if (typeof v === "string") return v.split(",").map((x) => x.trim());
  if (Array.isArray(v))
    return v.flatMap((x) => (typeof x === "string" ? x.split(",").map((y) => y.trim()) : [x]));
  return v;
}
