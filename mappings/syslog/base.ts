/**
 * CEF/LEEF → ECS: what every syslog record maps to whatever the vendor, from the ArcSight CEF
 * standard keys (LEEF's predefined attributes are renamed to them in `record.ts`), plus the hooks a
 * vendor profile (`vendors.ts`) fills in: which side of the event is the device the alert is about,
 * what its custom labels mean, how its events are classified.
 *
 * Standard keys: `rt` → `@timestamp` (then `end`, `start`, the syslog header time, the receive time,
 * the ingest time); `start`/`end` → `event.start`/`event.end`; `externalId` → `event.id`; header
 * Device Event Class ID → `event.code`; Name → `rule.name`; `act` → `event.action` (else the Name as
 * a slug); `msg` → `message` (else the Name); `outcome` → `event.outcome`; `cat` → `rule.category`;
 * `src`/`spt`/`smac`/`shost`/`suser` → `source.*`, `dst`/`dpt`/`dmac`/`dhost`/`duser` →
 * `destination.*`; `proto` → `network.transport`, `app` → `network.protocol`; header
 * vendor/product/version, `dvchost`, `dvc`, `deviceExternalId` → `observer.*`; Severity 0–10 →
 * `event.severity` and `event.risk_score` 21 (0–3, Low) / 47 (4–6, Medium) / 73 (7–8, High) /
 * 99 (9–10, Very-High); the syslog header → `log.syslog.*`; the receive time → `event.created`.
 * `cs1`..`cs6`, `cn1`..`cn3`, `flexString1/2`, … are read by their `…Label`; labels a profile
 * (or {@link COMMON_LABELS}) knows go to ECS / `medsoc.*`, the others are kept.
 *
 * Vendor fields go under `<source>.syslog.*` (not `<source>.<stream>.*`): CEF keys are a different
 * vocabulary from the vendor's REST records, and sharing one namespace would give one field name two
 * types across the two paths. `<source>.syslog` holds the header fields (`event_class_id`, `name`,
 * `severity` as sent, `format`, `version`), `labels.<label>` (custom fields by label, snake_case),
 * `extension.<key>` (keys no ECS field took, snake_case) and `received` (transport, peer). Unless
 * `preserveDuplicateVendorFields` is set, keys and labels copied to ECS unchanged are left out.
 *
 * `medsoc.doc_id`: SHA-256 over source | stream | vendor id | event time when the event carries an
 * id (`externalId` or the profile's id label), else over the CEF/LEEF payload and its time — so a
 * re-delivered message gets the same id, and distinct messages never share one.
 */
import { parseJson } from "../../core/json.ts";
import { credentialFromText } from "../credential-text.ts";
import { ECS_VERSION, isEmpty } from "../document.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { docId, isIpAddress, mac, num, ownValue, setOwn, timestamp } from "../values.ts";
import type { SyslogView } from "./record.ts";

/** What a custom label means. */
export type LabelRole =
  | "id"
  | "device_id"
  | "device_name"
  | "vendor_type"
  | "vendor_category"
  | "manufacturer"
  | "model"
  | "serial"
  | "firmware"
  | "os_name"
  | "os_version"
  | "site"
  | "ward"
  | "vlan"
  | "username"
  | "fingerprint"
  | "password_type"
  | "risk"
  | "technique"
  | "tactic"
  | "rule_category";

/** Labels (lower case, letters and digits only) every profile understands. ASSUMED names. */
export const COMMON_LABELS: Readonly<Record<string, LabelRole>> = {
  alertid: "id",
  eventid: "id",
  incidentid: "id",
  deviceid: "device_id",
  deviceuid: "device_id",
  assetid: "device_id",
  devicename: "device_name",
  assetname: "device_name",
  devicetype: "vendor_type",
  assettype: "vendor_type",
  devicecategory: "vendor_category",
  devicesubcategory: "vendor_category",
  manufacturer: "manufacturer",
  devicemanufacturer: "manufacturer",
  model: "model",
  devicemodel: "model",
  serialnumber: "serial",
  deviceserialnumber: "serial",
  firmware: "firmware",
  firmwareversion: "firmware",
  os: "os_name",
  osname: "os_name",
  osversion: "os_version",
  site: "site",
  sitename: "site",
  department: "ward",
  unit: "ward",
  ward: "ward",
  vlan: "vlan",
  username: "username",
  fingerprint: "fingerprint",
  credentialfingerprint: "fingerprint",
  passwordtype: "password_type",
  risk: "risk",
  riskscore: "risk",
  mitreattacktechniques: "technique",
  mitretechniques: "technique",
  mitreattacktactics: "tactic",
  mitretactics: "tactic",
  alerttype: "rule_category",
  alertcategory: "rule_category",
};

export interface Classification {
  kind: "alert" | "event" | "state";
  category: string[];
  type: string[];
}

/** A vendor's specifics. */
export interface SyslogProfile {
  /** Which side (`src*` or `dst*` keys) is the device the event is about → `host.*`. */
  deviceSide: "source" | "destination";
  /** Labels of this vendor (normalised as in {@link COMMON_LABELS}); checked before the common ones. */
  labels?: Readonly<Record<string, LabelRole>>;
  /** Roles of custom fields sent without a label (`cs3` → …), by key. */
  unlabelled?: Readonly<Record<string, string>>;
  /** Event classification; default: an intrusion-detection alert. */
  classify?(view: SyslogView): Classification;
  /** True when the event type itself is a credential finding (`weak` is then the fallback kind). */
  isCredentialAlert?(view: SyslogView): boolean;
  /** Vendor-specific additions, after the common mapping. */
  finish?(doc: EcsDocument, view: SyslogView, vendor: Record<string, unknown>): void;
  /**
   * Extension keys that are the vendor's own record columns: a CEF event carrying any of them (not
   * blank) goes to the stream's REST mapping unchanged instead of the CEF mapping.
   */
  nativeColumns?: readonly string[];
}

const DEFAULT_CLASS: Classification = { kind: "alert", category: ["intrusion_detection"], type: ["info"] };

/** `event.severity` from a CEF Severity: 0–3 → 21, 4–6 → 47, 7–8 → 73, 9–10 → 99; labels too. */
export function cefSeverity(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = v.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(t)) {
    const n = Number(t);
    if (n > 10) return undefined;
    return n <= 3 ? 21 : n <= 6 ? 47 : n <= 8 ? 73 : 99;
  }
  switch (t) {
    case "low":
      return 21;
    case "medium":
      return 47;
    case "high":
      return 73;
    case "very-high":
    case "very high":
    case "critical":
      return 99;
    default:
      return undefined;
  }
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const CEF_DATE =
  /^([A-Za-z]{3}) +(\d{1,2}) (\d{4}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(?: (?:UTC|GMT|Z))?$/;

/**
 * A CEF time value: epoch milliseconds, ISO-8601, or CEF's `MMM dd yyyy HH:mm:ss[.SSS]` (taken as
 * UTC; an explicit `UTC`/`GMT`/`Z` is accepted, any other zone name is not guessed: undefined).
 */
export function cefTime(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  const direct = timestamp(t);
  if (direct !== undefined) return direct;
  const m = CEF_DATE.exec(t);
  if (!m) return undefined;
  const month = MONTHS.indexOf((m[1] as string).toLowerCase());
  if (month < 0) return undefined;
  const ms = (m[7] ?? "0").padEnd(3, "0");
  const iso = `${m[3]}-${String(month + 1).padStart(2, "0")}-${(m[2] as string).padStart(2, "0")}T${m[4]}:${m[5]}:${m[6]}.${ms}Z`;
  return timestamp(iso);
}

/** `deviceExternalId` → `device_external_id`; labels `Device Type` → `device_type`. */
export function snake(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toLowerCase();
}

function norm(label: string): string {
  return label.toLowerCase().replace(/[^a-z0-9]/g, "");
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

function port(v: string | undefined): number | undefined {
  const n = num(v);
  return n !== undefined && Number.isInteger(n) && n >= 0 && n <= 65535 ? n : undefined;
}

function listOf(v: string): string[] {
  const t = v.trim();
  if (t.startsWith("[")) {
    try {
      const parsed: unknown = parseJson(t); // exact big integers, depth-checked
      if (Array.isArray(parsed)) return parsed.map((x) => String(x).trim()).filter((x) => x !== "");
    } catch {
      // not JSON: split below
    }
  }
  return t
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");
}

type Obj = Record<string, unknown>;

function pushUnique(list: string[], v: string | undefined): void {
  if (v !== undefined && !list.includes(v)) list.push(v);
}

/** Maps one syslog record's view with a vendor profile. */
export function mapSyslogView(
  view: SyslogView,
  profile: SyslogProfile,
  ctx: MappingContext,
  record: unknown,
): EcsDocument {
  const ext = view.ext;
  const used = new Set<string>();
  const get = (key: string): string | undefined => {
    const v = ownValue(ext, key);
    if (v === undefined) return undefined;
    const t = v.trim();
    if (t === "") return undefined;
    used.add(key);
    return v;
  };

  // LEEF's `sev` and `name` became the header's severity and name (record.ts).
  if (view.format === "leef") {
    if (ext.sev !== undefined) used.add("sev");
    if (ext.name !== undefined) used.add("name");
  }

  // Custom fields by role.
  const roles = new Map<LabelRole, string>();
  const labelsOut: Obj = {};
  const labelled = new Set<string>();
  for (const key in view.labelOf) {
    const label = view.labelOf[key] as string;
    labelled.add(key);
    labelled.add(`${key}Label`);
    const value = ext[key];
    if (value === undefined || value.trim() === "") continue;
    const role =
      (profile.labels ? ownValue(profile.labels, norm(label)) : undefined) ??
      ownValue(COMMON_LABELS, norm(label));
    if (role !== undefined && !roles.has(role)) {
      roles.set(role, value);
      if (ctx.preserveDuplicateVendorFields !== true && role !== "risk" && role !== "password_type") continue;
    }
    setOwn(labelsOut, snake(label), value);
  }
  if (profile.unlabelled) {
    for (const [key, name] of Object.entries(profile.unlabelled)) {
      if (view.labelOf[key] !== undefined) continue;
      const v = ext[key];
      if (v === undefined || v.trim() === "") continue;
      labelled.add(key);
      labelsOut[name] = v;
    }
  }

  const cls = profile.classify?.(view) ?? DEFAULT_CLASS;
  const event: Obj = { kind: cls.kind, category: cls.category, type: cls.type };
  const vendorId = get("externalId") ?? roles.get("id");
  if (vendorId !== undefined) event.id = vendorId.trim();
  if (view.eventClassId !== "") event.code = view.eventClassId;
  const act = get("act");
  if (act !== undefined) event.action = act.trim();
  else if (view.name !== "") event.action = slug(view.name);
  const severity = cefSeverity(view.severity);
  if (severity !== undefined) {
    event.severity = severity;
    event.risk_score = severity;
  }
  const risk = num(roles.get("risk"));
  if (risk !== undefined && risk >= 0) event.risk_score = risk;
  const outcome = get("outcome")?.trim().toLowerCase();
  if (outcome !== undefined) {
    const o = /^(success|succeeded|allowed?)$/.test(outcome)
      ? "success"
      : /^(fail|failed|failure|denied|blocked)$/.test(outcome)
        ? "failure"
        : undefined;
    if (o !== undefined) event.outcome = o;
    else used.delete("outcome");
  }
  const start = cefTime(get("start"));
  const end = cefTime(get("end"));
  if (start !== undefined) event.start = start;
  else used.delete("start");
  if (end !== undefined) event.end = end;
  else used.delete("end");
  const rt = cefTime(get("rt"));
  if (rt === undefined) used.delete("rt");
  const headerTime = typeof view.syslog?.timestamp === "string" ? view.syslog.timestamp : undefined;
  const time = rt ?? end ?? start ?? headerTime;
  if (view.receivedAt !== undefined) event.created = view.receivedAt;
  event.ingested = ctx.ingestedAt;
  if (ctx.preserveOriginal === true) {
    const original = view.raw ?? ctx.original ?? JSON.stringify(record);
    if (original !== "") event.original = original;
  }

  // Identity: vendor id (+ time), else the payload (+ time).
  const content = view.raw ?? ctx.original ?? JSON.stringify(record);
  const id =
    vendorId !== undefined
      ? docId(ctx.source, ctx.stream, vendorId.trim(), time ?? "")
      : docId(ctx.source, ctx.stream, "", time ?? "", content);

  const medsoc: EcsDocument["medsoc"] = { doc_id: id, source: ctx.source, stream: ctx.stream };
  const doc: EcsDocument = {
    "@timestamp": time ?? view.receivedAt ?? ctx.ingestedAt,
    ecs: { version: ECS_VERSION },
    event: event as EcsDocument["event"],
    medsoc,
  };
  const msg = get("msg");
  const message = msg ?? (view.name !== "" ? view.name : undefined);
  if (message !== undefined) doc.message = message;
  const rule: Obj = {};
  if (view.name !== "") rule.name = view.name;
  const ruleCategory = get("cat") ?? roles.get("rule_category");
  if (ruleCategory !== undefined) rule.category = ruleCategory;
  if (!isEmpty(rule)) doc.rule = rule;

  // Observer: the monitor that sent the event.
  const observer: Obj = {};
  if (view.vendor !== "") observer.vendor = view.vendor;
  if (view.product !== "") observer.product = view.product;
  if (view.productVersion !== "") observer.version = view.productVersion;
  const dvchost = get("dvchost");
  if (dvchost !== undefined) observer.hostname = dvchost.trim();
  const dvc = get("dvc");
  if (dvc !== undefined && isIpAddress(dvc.trim())) observer.ip = [dvc.trim()];
  else if (dvc !== undefined) used.delete("dvc");
  const dxid = get("deviceExternalId");
  if (dxid !== undefined) observer.name = dxid.trim();
  if (!isEmpty(observer)) doc.observer = observer;

  // Both ends.
  const relatedIp: string[] = [];
  const relatedUser: string[] = [];
  const relatedHosts: string[] = [];
  const sides = { source: "s", destination: "d" } as const;
  const ends: Record<"source" | "destination", Obj> = { source: {}, destination: {} };
  for (const side of ["source", "destination"] as const) {
    const p = sides[side];
    const o = ends[side];
    const ipKey = p === "s" ? "src" : "dst";
    const ip = get(ipKey)?.trim();
    if (ip !== undefined && isIpAddress(ip)) {
      o.ip = ip;
      pushUnique(relatedIp, ip);
    } else if (ip !== undefined) used.delete(ipKey);
    const prt = port(get(`${p}pt`));
    if (prt !== undefined) o.port = prt;
    else used.delete(`${p}pt`);
    const m = mac(get(`${p}mac`));
    if (m !== undefined) o.mac = m;
    else used.delete(`${p}mac`);
    const hostName = get(`${p}host`)?.trim();
    if (hostName !== undefined) {
      o.domain = hostName;
      pushUnique(relatedHosts, hostName);
    }
    const user = get(`${p}user`)?.trim();
    if (user !== undefined) {
      o.user = { name: user };
      pushUnique(relatedUser, user);
    }
    if (!isEmpty(o)) doc[side] = o;
  }
  const network: Obj = {};
  const proto = get("proto");
  if (proto !== undefined) network.transport = proto.trim().toLowerCase();
  const app = get("app");
  if (app !== undefined) network.protocol = app.trim().toLowerCase();
  if (!isEmpty(network)) doc.network = network;

  // The device the event is about.
  const dev = ends[profile.deviceSide];
  const host: Obj = {};
  const deviceId = roles.get("device_id")?.trim();
  if (deviceId !== undefined) host.id = deviceId;
  const hostName = roles.get("device_name")?.trim() ?? (dev.domain as string | undefined);
  if (hostName !== undefined) host.name = hostName;
  if (dev.ip !== undefined) host.ip = [dev.ip];
  if (dev.mac !== undefined) host.mac = [dev.mac];
  const osName = roles.get("os_name")?.trim();
  const osVersion = roles.get("os_version")?.trim();
  if (osName !== undefined || osVersion !== undefined) {
    const os: Obj = {};
    if (osName !== undefined) os.name = osName;
    if (osVersion !== undefined) os.version = osVersion;
    if (osName !== undefined) os.full = osVersion !== undefined ? `${osName} ${osVersion}` : osName;
    host.os = os;
  }
  if (!isEmpty(host)) doc.host = host;
  const device: Obj = {};
  if (deviceId !== undefined) device.id = deviceId;
  const manufacturer = roles.get("manufacturer")?.trim();
  if (manufacturer !== undefined) device.manufacturer = manufacturer;
  const model = roles.get("model")?.trim();
  if (model !== undefined) device.model = { name: model };
  const serial = roles.get("serial")?.trim();
  if (serial !== undefined) device.serial_number = serial;
  if (!isEmpty(device)) doc.device = device;
  const mdev: Obj = {};
  const vendorType = roles.get("vendor_type")?.trim();
  if (vendorType !== undefined) mdev.vendor_type = vendorType;
  const vendorCategory = roles.get("vendor_category")?.trim();
  if (vendorCategory !== undefined) mdev.vendor_category = vendorCategory;
  const firmware = roles.get("firmware")?.trim();
  if (firmware !== undefined) mdev.firmware_version = firmware;
  if (!isEmpty(mdev)) medsoc.device = mdev;
  const location: Obj = {};
  const site = roles.get("site")?.trim();
  if (site !== undefined) location.site = site;
  const ward = roles.get("ward")?.trim();
  if (ward !== undefined) location.ward = ward;
  const vlan = roles.get("vlan")?.trim();
  if (vlan !== undefined) location.vlan = vlan;
  if (!isEmpty(location)) medsoc.location = location;

  // MITRE ATT&CK (for ICS, as the OT monitors use it).
  const techniques = roles.get("technique");
  const tactics = roles.get("tactic");
  if (techniques !== undefined || tactics !== undefined) {
    const threat: Obj = { framework: "MITRE ATT&CK" };
    if (techniques !== undefined) threat.technique = { id: listOf(techniques) };
    if (tactics !== undefined) threat.tactic = { name: listOf(tactics) };
    doc.threat = threat;
  }

  // Credentials: the labels, else the text of the event.
  // The detail text first: a generic name ("Weak/Default Password") must not decide the kind.
  const detail = [msg ?? "", ...Object.values(labelsOut).map(String)].join(" ");
  const isCredentialAlert = profile.isCredentialAlert?.(view) ?? false;
  const fromText =
    credentialFromText(detail) ?? credentialFromText(`${view.name} ${detail}`, isCredentialAlert);
  const passwordType = roles.get("password_type");
  const fromLabel =
    passwordType !== undefined ? credentialFromText(`password type: ${passwordType}`) : undefined;
  const cred = fromLabel ?? fromText;
  if (cred !== undefined) {
    const c: Obj = { observed: cred.observed };
    const username = roles.get("username")?.trim() ?? cred.username ?? fromText?.username;
    if (username !== undefined) {
      c.username = username;
      pushUnique(relatedUser, username);
    }
    const fingerprint = roles.get("fingerprint")?.trim() ?? cred.fingerprint ?? fromText?.fingerprint;
    if (fingerprint !== undefined) c.fingerprint = fingerprint;
    medsoc.credential = c;
    if (!(cls.category as string[]).includes("authentication")) {
      // A credential finding is (also) an authentication event.
      event.category = [...cls.category, "authentication"];
    }
  }

  const related: Obj = {};
  if (relatedIp.length > 0) related.ip = relatedIp;
  if (relatedUser.length > 0) related.user = relatedUser;
  if (relatedHosts.length > 0) related.hosts = relatedHosts;
  if (!isEmpty(related)) doc.related = related;

  // The syslog header.
  const sl = view.syslog;
  if (sl !== undefined) {
    const out: Obj = {};
    if (typeof sl.hostname === "string") out.hostname = sl.hostname;
    if (typeof sl.appName === "string") out.appname = sl.appName;
    if (typeof sl.procId === "string") out.procid = sl.procId;
    if (typeof sl.msgId === "string") out.msgid = sl.msgId;
    if (typeof sl.pri === "number") out.priority = sl.pri;
    if (typeof sl.facility === "number") {
      const f: Obj = { code: sl.facility };
      if (typeof sl.facilityName === "string") f.name = sl.facilityName;
      out.facility = f;
    }
    if (typeof sl.severity === "number") {
      const s: Obj = { code: sl.severity };
      if (typeof sl.severityName === "string") s.name = sl.severityName;
      out.severity = s;
    }
    if (sl.format === "rfc5424") out.version = "1";
    if (!isEmpty(out)) doc.log = { syslog: out };
  }

  // The vendor namespace.
  const vendor: Obj = { format: view.format };
  if (view.version !== "") vendor.version = view.version;
  if (view.eventClassId !== "" && ctx.preserveDuplicateVendorFields === true)
    vendor.event_class_id = view.eventClassId;
  if (view.severity !== undefined && view.severity.trim() !== "") vendor.severity = view.severity.trim();
  if (!isEmpty(labelsOut)) vendor.labels = labelsOut;
  const rest: Obj = {};
  for (const key in ext) {
    if (labelled.has(key)) continue;
    if (used.has(key) && ctx.preserveDuplicateVendorFields !== true) continue;
    setOwn(rest, snake(key), ext[key]);
  }
  if (!isEmpty(rest)) vendor.extension = rest;
  const received: Obj = {};
  if (view.transport !== undefined) received.transport = view.transport;
  if (view.peer !== undefined) received.peer = view.peer;
  if (!isEmpty(received)) vendor.received = received;

  profile.finish?.(doc, view, vendor);
  doc[ctx.source] = { syslog: vendor };
  return doc;
}
