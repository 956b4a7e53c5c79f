import { asRecord, documentId, ECS_VERSION, finishEvent, isEmpty } from "../document.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { ipList, macList, ownCopy, setOwn, str, strList, timestamp, union } from "../values.ts";
import { fieldTable, isEmptyObject, vendorObject } from "../vendor-fields.ts";

export const FORESCOUT_OBSERVER_VENDOR = "Forescout";
/** As Elastic's package names the product that pushes host records. */
export const FORESCOUT_OBSERVER_PRODUCT = "eyeExtend-Connect";

const FORESCOUT_FIELDS = fieldTable({
  id: "id",
  timestamp: "date",
  openports: "list",
});

/**
 * The flat view of a host record: the pushed form as it is; the pulled Web API form (`{id, ip,
 * mac, fields}`) with each property replaced by its value (list properties by their values) and
 * `timestamp` set to the newest property timestamp (epoch seconds → UTC). Both forms of one host
 * then read the same.
 */
export function forescoutHostView(r: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const fields = r.fields;
  if (!fields || typeof fields !== "object" || Array.isArray(fields)) return { ...r };
  const out: Record<string, unknown> = {};
  let newest: number | undefined;
  const propertyValue = (v: unknown): unknown => {
    if (!v || typeof v !== "object" || Array.isArray(v)) return v;
    const o = v as { value?: unknown; timestamp?: unknown };
    const t =
      typeof o.timestamp === "number"
        ? o.timestamp
        : typeof o.timestamp === "string"
          ? Number(o.timestamp)
          : Number.NaN;
    if (Number.isFinite(t) && t > 0) {
      const ms = t < 1e11 ? t * 1000 : t;
      if (newest === undefined || ms > newest) newest = ms;
    }
    return "value" in o ? o.value : v;
  };
  for (const [key, v] of Object.entries(r)) if (key !== "fields") setOwn(out, key, v);
  for (const [name, v] of Object.entries(fields as Record<string, unknown>)) {
    if (Object.hasOwn(out, name)) continue;
    setOwn(out, name, Array.isArray(v) ? v.map(propertyValue) : propertyValue(v));
  }
  if (newest !== undefined && out.timestamp === undefined) out.timestamp = new Date(newest).toISOString();
  return out;
}

/** `Vendor/Model` → both parts; a value without `/` is the manufacturer alone. */
function vendorModel(v: string | undefined): { manufacturer?: string; model?: string } {
  if (v === undefined) return {};
  const slash = v.indexOf("/");
  if (slash < 0) return { manufacturer: v };
  const manufacturer = v.slice(0, slash).trim();
  const model = v.slice(slash + 1).trim();
  return { ...(manufacturer ? { manufacturer } : {}), ...(model ? { model } : {}) };
}

function osFamily(os: string): string | undefined {
  const s = os.toLowerCase();
  if (s.includes("windows")) return "windows";
  if (s.includes("linux")) return "linux";
  if (s.includes("mac os") || s.includes("macos")) return "macos";
  if (s.includes("ios")) return "ios";
  if (s.includes("android")) return "android";
  return undefined;
}

/**
 * Forescout host (pushed or pulled, see {@link forescoutHostView}) → ECS inventory snapshot,
 * following Elastic's `forescout.host` pipeline (reference fixture `forescout/host`) with two
 * documented deviations: `event.kind` is `asset` (DESIGN.md; Elastic writes `event`), and
 * `observer.vendor`/`product` are written (Elastic declares them as `constant_keyword` in the
 * index template, so its expected documents omit them).
 *
 * Elastic's fields: `@timestamp` = `timestamp` (no zone → UTC, truncated to ms; else the ingest
 * time), `host.ip` = `ip`, `related.ip` = `ip`, `access_ip` and `nested_device_parent_ip`,
 * `host.mac` = `mac` upper-dash, `user.name` and
 * `related.user` = `user`; placeholders (`Unknown`, `N/A`, `Irresolvable`, `""`) dropped.
 * medsoc's additions when the properties are there: `host.id` = `id` (pulled hosts; pushed ones
 * when eyeExtend Connect sends it), `host.name` and `related.hosts` = `hostname` (then `nbthost`,
 * `dhcp_hostname`), `host.os.full`/`name` = `os_classification` (+ `family`),
 * `device.manufacturer`/`model.name` = `vendor_classification` split at the first `/`,
 * `host.type` and `medsoc.device.vendor_type` = the last segment of `prim_classification`,
 * `medsoc.device.vendor_category` its first, `medsoc.location.site`/`ward` = the segments of
 * `segment_path` after `/Segments`.
 *
 * Unless `preserveDuplicateVendorFields` is set, `forescout.host.*` leaves out `id`, `ip`, `mac`,
 * `user`, `timestamp` and `hostname` when they were copied.
 */
export function mapForescoutHost(record: unknown, ctx: MappingContext): EcsDocument {
  const r = forescoutHostView(asRecord(record, "forescout host"));
  const id = str(r.id);
  const ts = timestamp(r.timestamp);
  const ips = ipList(r.ip);
  const macs = macList(r.mac);
  const docId = documentId(ctx, record, id ?? macs?.[0] ?? ips?.[0], ts, "forescout host");
  const omit = new Set<string>();
  const copied = (key: string) => {
    if (ctx.preserveDuplicateVendorFields !== true) omit.add(key);
  };

  const host: Record<string, unknown> = {};
  if (id !== undefined) {
    host.id = id;
    copied("id");
  }
  if (ips !== undefined) {
    host.ip = ips;
    if (ips.length === (strList(r.ip)?.length ?? 0)) copied("ip");
  }
  if (macs !== undefined) {
    host.mac = macs;
    copied("mac");
  }
  const name = str(r.hostname) ?? str(r.nbthost) ?? str(r.dhcp_hostname);
  if (name !== undefined) {
    host.name = name;
    if (str(r.hostname) !== undefined) copied("hostname");
  }
  const os = str(r.os_classification);
  if (os !== undefined) {
    const family = osFamily(os);
    host.os = { full: os, name: os, ...(family ? { family } : {}) };
  }
  const medsocDevice: Record<string, unknown> = {};
  const prim = str(r.prim_classification);
  if (prim !== undefined) {
    const segments = prim
      .split("/")
      .map((s) => s.trim())
      .filter(Boolean);
    const type = segments.at(-1);
    if (type !== undefined) {
      host.type = type;
      medsocDevice.vendor_type = type;
    }
    if (segments.length > 1) medsocDevice.vendor_category = segments[0];
  }
  const device: Record<string, unknown> = {};
  const { manufacturer, model } = vendorModel(str(r.vendor_classification));
  if (manufacturer !== undefined) device.manufacturer = manufacturer;
  if (model !== undefined) device.model = { name: model };
  const location: Record<string, unknown> = {};
  const segmentPath = str(r.segment_path);
  if (segmentPath?.startsWith("/")) {
    const parts = segmentPath
      .split("/")
      .map((s) => s.trim())
      .filter(Boolean);
    if (parts[0] === "Segments") parts.shift();
    if (parts.length >= 1) location.site = parts[0];
    if (parts.length >= 2) location.ward = parts.at(-1);
  }
  const user = str(r.user);
  if (user !== undefined) copied("user");
  if (ts !== undefined) copied("timestamp");

  const event: Record<string, unknown> = { kind: "asset", category: ["host"], type: ["info"] };
  finishEvent(event, ctx, record);
  const medsoc: EcsDocument["medsoc"] = { doc_id: docId, source: ctx.source, stream: ctx.stream };
  if (!isEmpty(medsocDevice)) medsoc.device = medsocDevice;
  if (!isEmpty(location)) medsoc.location = location;
  const doc: EcsDocument = {
    "@timestamp": ts ?? ctx.ingestedAt,
    ecs: { version: ECS_VERSION },
    event: event as EcsDocument["event"],
    observer: { vendor: FORESCOUT_OBSERVER_VENDOR, product: FORESCOUT_OBSERVER_PRODUCT },
    medsoc,
  };
  if (!isEmpty(host)) doc.host = host;
  if (!isEmpty(device)) doc.device = device;
  if (user !== undefined) doc.user = { name: user };
  const related: Record<string, unknown> = {};
  // The host's address, the address it reached the network through and its parent device's
  // (nested devices), as Elastic's forescout host pipeline relates them.
  const relatedIps = union(union(ips, ipList(r.access_ip)), ipList(r.nested_device_parent_ip));
  if (relatedIps !== undefined) related.ip = relatedIps;
  if (user !== undefined) related.user = [user];
  if (name !== undefined) related.hosts = [name];
  if (!isEmpty(related)) doc.related = related;

  const vendor = vendorObject(ownCopy(r, omit), FORESCOUT_FIELDS);
  if (vendor !== undefined && !isEmptyObject(vendor)) doc.forescout = { host: vendor };
  return doc;
}
