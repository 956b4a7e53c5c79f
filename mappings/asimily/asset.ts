import { asRecord, documentId, ECS_VERSION, finishEvent, isEmpty } from "../document.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { str, timestamp } from "../values.ts";
import {
  ASIMILY_FIELDS,
  ASIMILY_OBSERVER_PRODUCT,
  ASIMILY_OBSERVER_VENDOR,
  deviceFields,
  vendorNamespace,
} from "./fields.ts";

/**
 * Asimily asset (inventory snapshot) → ECS (`event.kind: asset`, `event.category: [host]`).
 * Confirmed fields (XSOAR mock): `deviceID` (or `deviceId`, any case) → `host.id`/`device.id`,
 * `macAddr` → `host.mac`, `hostName` → `host.name` (lower-cased), `v4IpAddrs` → `host.ip`.
 * Read when present (simulator fields, ASSUMED names): `deviceFamily` → `host.type` and
 * `medsoc.device.vendor_type`, `manufacturer`, `deviceModel`, `serialNumber` → `device.*`,
 * `os`/`osVersion` → `host.os.*`, `firmwareVersion` → `medsoc.device.firmware_version`,
 * `department` → `medsoc.location.ward`, `facility` → `medsoc.location.site`, `lastSeen` →
 * `@timestamp` (else the ingest time; the document id then hashes the record's content, so an
 * unchanged device re-read by the next snapshot keeps its id).
 *
 * Unless `preserveDuplicateVendorFields` is set, `asimily.asset.*` leaves out the id, `macAddr`,
 * `hostName`, `v4IpAddrs`, `manufacturer`, `deviceModel`, `serialNumber` and `lastSeen` once copied.
 */
export function mapAsimilyAsset(record: unknown, ctx: MappingContext): EcsDocument {
  const r = asRecord(record, "asimily asset");
  const { id, host, related, vendorType, consumed } = deviceFields(r);
  const lastSeen = timestamp(r.lastSeen);
  const docId = documentId(ctx, record, id, lastSeen, "asimily asset");

  const device: Record<string, unknown> = {};
  if (id !== undefined) device.id = id;
  const manufacturer = str(r.manufacturer);
  if (manufacturer !== undefined) device.manufacturer = manufacturer;
  const model = str(r.deviceModel);
  if (model !== undefined) device.model = { name: model };
  const serial = str(r.serialNumber);
  if (serial !== undefined) device.serial_number = serial;
  const osName = str(r.os);
  const osVersion = str(r.osVersion);
  if (osName !== undefined) {
    const os: Record<string, unknown> = { name: osName, family: osName.toLowerCase() };
    if (osVersion !== undefined) {
      os.version = osVersion;
      os.full = `${osName} ${osVersion}`;
    }
    host.os = os;
  }

  const event: Record<string, unknown> = { kind: "asset", category: ["host"], type: ["info"] };
  finishEvent(event, ctx, record);
  const medsoc: EcsDocument["medsoc"] = { doc_id: docId, source: ctx.source, stream: ctx.stream };
  const dev: Record<string, unknown> = {};
  if (vendorType !== undefined) dev.vendor_type = vendorType;
  const firmware = str(r.firmwareVersion);
  if (firmware !== undefined) dev.firmware_version = firmware;
  if (!isEmpty(dev)) medsoc.device = dev;
  const location: Record<string, unknown> = {};
  const site = str(r.facility);
  if (site !== undefined) location.site = site;
  const ward = str(r.department);
  if (ward !== undefined) location.ward = ward;
  if (!isEmpty(location)) medsoc.location = location;

  const doc: EcsDocument = {
    "@timestamp": lastSeen ?? ctx.ingestedAt,
    ecs: { version: ECS_VERSION },
    event: event as EcsDocument["event"],
    observer: { vendor: ASIMILY_OBSERVER_VENDOR, product: ASIMILY_OBSERVER_PRODUCT },
    medsoc,
  };
  if (!isEmpty(host)) doc.host = host;
  if (!isEmpty(device)) doc.device = device;
  if (!isEmpty(related)) doc.related = related;

  const omit = new Set<string>();
  if (ctx.preserveDuplicateVendorFields !== true) {
    for (const k of consumed) omit.add(k);
    if (manufacturer !== undefined) omit.add("manufacturer");
    if (model !== undefined) omit.add("devicemodel");
    if (serial !== undefined) omit.add("serialnumber");
    if (lastSeen !== undefined) omit.add("lastseen");
  }
  const vendor = vendorNamespace(r, ASIMILY_FIELDS, omit);
  if (vendor !== undefined) doc.asimily = { asset: vendor };
  return doc;
}
