/**
 * The device part every xDome document shares (devices, and the `device_*` half of the alert and
 * vulnerability relations): `host.*`, `device.*` and the vendor-agnostic `medsoc.device.*`,
 * `medsoc.clinical.*`, `medsoc.location.*` fields of the mapping contract. Pure.
 */
import { isEmpty } from "../document.ts";
import { bool, ipList, macList, num, str, strList, timestamp, union } from "../values.ts";

type Rec = Readonly<Record<string, unknown>>;

const ROMAN: Readonly<Record<string, number>> = { i: 1, ii: 2, iii: 3 };

/** FDA class 1–3 from `2`, `"2"`, `"II"`, `"Class II"`, `"Class 2"`; undefined otherwise. */
export function fdaClass(v: unknown): number | undefined {
  const n = num(v);
  if (n !== undefined) return n >= 1 && n <= 3 && Number.isInteger(n) ? n : undefined;
  const s = str(v)
    ?.toLowerCase()
    .replace(/^class\s*/, "");
  if (s === undefined) return undefined;
  const k = ROMAN[s] ?? num(s);
  return k !== undefined && k >= 1 && k <= 3 && Number.isInteger(k) ? k : undefined;
}

/** A percentage as a number from `57`, `"57"`, `"57%"`. */
export function percent(v: unknown): number | undefined {
  const n = num(v);
  if (n !== undefined) return n;
  const s = str(v);
  return s?.endsWith("%") ? num(s.slice(0, -1)) : undefined;
}

/** Utilization 0–1 from a fraction or a percentage (values above 1 are percent). */
export function utilization(v: unknown): number | undefined {
  const n = percent(v);
  if (n === undefined || n < 0) return undefined;
  const r = n > 1 ? n / 100 : n;
  return r > 1 ? undefined : Math.round(r * 10_000) / 10_000;
}

/** `"10.1.2.3 / (…)"` → `"10.1.2.3"` for every entry (monitors.md §2 type drift). */
export function stripIpAnnotations(v: unknown): unknown {
  const strip = (x: unknown) => (typeof x === "string" ? (x.split(" / ")[0] ?? x).trim() : x);
  return Array.isArray(v) ? v.map(strip) : strip(v);
}

/** The earliest timestamp of a list. */
export function earliest(v: unknown): string | undefined {
  const list = (Array.isArray(v) ? v : [v]).map(timestamp).filter((x): x is string => x !== undefined);
  return list.sort()[0];
}

/** The latest timestamp of a list. */
export function latest(v: unknown): string | undefined {
  const list = (Array.isArray(v) ? v : [v]).map(timestamp).filter((x): x is string => x !== undefined);
  return list.sort().at(-1);
}

export interface DeviceParts {
  uid?: string;
  host?: Record<string, unknown>;
  device?: Record<string, unknown>;
  medsoc: Record<string, unknown>;
  /** `related.*` of the device: its host names, addresses (switch's too) and people. */
  related?: Record<string, unknown>;
  /** `observer.ingress` of the device: the VLANs xDome saw it on. */
  ingress?: Record<string, unknown>;
  /** Vendor keys whose value reached an ECS field unchanged (left out of the vendor namespace). */
  copied: string[];
}

/**
 * Device fields of an xDome record. `prefix` is `""` for `devices/` records and `"device_"` for
 * relations (`device_uid`, `device_fda_class`; keys already starting with `device_` keep their name).
 */
export function deviceParts(r: Rec, prefix: "" | "device_"): DeviceParts {
  const k = (name: string) => (prefix === "" || name.startsWith("device_") ? name : `${prefix}${name}`);
  const copied: string[] = [];
  const host: Record<string, unknown> = {};
  const device: Record<string, unknown> = {};
  const uid = str(r[k("uid")]);
  if (uid !== undefined) {
    host.id = uid;
    device.id = uid;
    copied.push(k("uid"));
  }
  const name = str(r[k("device_name")]);
  if (name !== undefined) {
    host.name = name;
    copied.push(k("device_name"));
  }
  const hostname = str(r[k("http_last_seen_hostname")]);
  if (hostname !== undefined) host.hostname = hostname;
  const domains = strList(r[k("domains")]);
  if (domains !== undefined) host.domain = domains;
  const macs = macList(r[k("mac_list")]);
  if (macs !== undefined) host.mac = macs;
  // xDome names many devices by address: such a name is one of its addresses too.
  const ips = union(
    ipList(stripIpAnnotations(r[k("ip_list")])),
    name !== undefined ? ipList(name) : undefined,
  );
  if (ips !== undefined) host.ip = ips;
  const type = str(r[k("device_type")]);
  if (type !== undefined) host.type = type;
  const os: Record<string, unknown> = {};
  const osName = str(r[k("os_name")]);
  if (osName !== undefined) os.name = osName;
  const osVersion = str(r[k("os_version")]);
  if (osVersion !== undefined) os.version = osVersion;
  const osFull = str(r[k("combined_os")]);
  if (osFull !== undefined) os.full = osFull;
  const osCategory = str(r[k("os_category")]);
  if (osCategory !== undefined && osCategory.toLowerCase() !== "other") os.family = osCategory.toLowerCase();
  if (!isEmpty(os)) host.os = os;
  const points = num(r[k("risk_score_points")]);
  const label = str(r[k("risk_score")]);
  if (points !== undefined || label !== undefined) {
    const risk: Record<string, unknown> = {};
    if (points !== undefined) risk.static_score = points;
    if (label !== undefined) risk.static_level = label;
    host.risk = risk;
  }
  const manufacturer = str(r[k("manufacturer")]);
  if (manufacturer !== undefined) {
    device.manufacturer = manufacturer;
    copied.push(k("manufacturer"));
  }
  const model = str(r[k("model")]);
  if (model !== undefined) {
    // The vendor's model code is the identifier (Elastic's xDome package); medsoc keeps it as the
    // model name too, the field every vendor mapping fills and the device classification reads.
    device.model = { name: model, identifier: model };
    copied.push(k("model"));
  }
  const serial = str(r[k("serial_number")]);
  if (serial !== undefined) {
    device.serial_number = serial;
    copied.push(k("serial_number"));
  }

  const medsoc: Record<string, unknown> = {};
  const md: Record<string, unknown> = {};
  const category = str(r[k("device_category")]);
  if (category !== undefined) md.vendor_category = category;
  if (type !== undefined) md.vendor_type = type;
  const firmware = str(r[k("software_or_firmware_version")]);
  if (firmware !== undefined) md.firmware_version = firmware;
  if (!isEmpty(md)) medsoc.device = md;

  const clinical: Record<string, unknown> = {};
  const fda = fdaClass(r[k("fda_class")]);
  if (fda !== undefined) clinical.fda_class = fda;
  const phi = bool(r[k("phi")]);
  if (phi !== undefined) clinical.phi = phi;
  const equipment = str(r[k("equipment_class")]);
  if (equipment !== undefined) clinical.equipment_class = equipment;
  const consequence = str(r[k("consequence_of_failure")]);
  if (consequence !== undefined) clinical.consequence_of_failure = consequence;
  const battery = percent(r[k("battery_level")]);
  if (battery !== undefined) clinical.battery_level = battery;
  const util = utilization(r[k("utilization_rate")]);
  if (util !== undefined) clinical.utilization_rate = util;
  // Live state (ASSUMED field name, connectors/claroty_xdome/records.ts): absent stays unknown.
  const inUse = bool(r[k("in_use")]);
  if (inUse !== undefined) clinical.in_use = inUse;
  if (!isEmpty(clinical)) medsoc.clinical = clinical;

  const location: Record<string, unknown> = {};
  const site = str(r[k("site_name")]);
  if (site !== undefined) location.site = site;
  const ward = str(r[k("cmms_department")]);
  if (ward !== undefined) location.ward = ward;
  const vlan = strList(r[k("vlan_list")])?.[0];
  if (vlan !== undefined) location.vlan = vlan;
  if (!isEmpty(location)) medsoc.location = location;

  const related: Record<string, unknown> = {};
  const hostNames = [
    name !== undefined && ipList(name) === undefined ? [name] : undefined,
    strList(r[k("local_name")]),
    strList(r[k("dhcp_hostnames")]),
    strList(r[k("dhcp_last_seen_hostname")]),
    strList(r[k("http_hostnames")]),
    strList(r[k("http_last_seen_hostname")]),
    strList(r[k("snmp_hostnames")]),
    strList(r[k("snmp_last_seen_hostname")]),
    strList(r[k("windows_hostnames")]),
    strList(r[k("windows_last_seen_hostname")]),
    strList(r[k("other_hostnames")]),
    domains,
    uid !== undefined ? [uid] : undefined,
  ].reduce<string[] | undefined>((acc, x) => union(acc, x), undefined);
  if (hostNames !== undefined) related.hosts = hostNames;
  const relatedIps = union(ips, ipList(stripIpAnnotations(r[k("switch_ip_list")])));
  if (relatedIps !== undefined) related.ip = relatedIps;
  const assignees = r[k("assignees_data")];
  const people = [
    strList(r[k("assignees")]),
    Array.isArray(assignees)
      ? strList(
          assignees.flatMap((a) =>
            a && typeof a === "object"
              ? [(a as Rec).id, (a as Rec).display_name].map((x) => (typeof x === "number" ? String(x) : x))
              : [],
          ),
        )
      : undefined,
    strList(r[k("last_domain_user")]),
    strList(r[k("authentication_user_list")]),
  ].reduce<string[] | undefined>((acc, x) => union(acc, x), undefined);
  if (people !== undefined) related.user = people;

  const ingressVlan: Record<string, unknown> = {};
  const vlanIds = strList(
    (Array.isArray(r[k("vlan_list")]) ? (r[k("vlan_list")] as unknown[]) : [r[k("vlan_list")]]).map((v) =>
      typeof v === "number" ? String(v) : v,
    ),
  );
  if (vlanIds !== undefined) ingressVlan.id = vlanIds;
  const vlanNames = strList(r[k("vlan_name_list")]);
  if (vlanNames !== undefined) ingressVlan.name = vlanNames;

  return {
    uid,
    host: isEmpty(host) ? undefined : host,
    device: isEmpty(device) ? undefined : device,
    medsoc,
    copied,
    related: isEmpty(related) ? undefined : related,
    ingress: isEmpty(ingressVlan) ? undefined : { vlan: ingressVlan },
  };
}

/** Normalised clinical values written back into the vendor namespace (one type per field). */
export function normaliseClinicalVendorFields(
  r: Rec,
  o: Record<string, unknown>,
  prefix: "" | "device_",
): void {
  const k = (name: string) => (prefix === "" ? name : `${prefix}${name}`);
  const fix = (key: string, parse: (v: unknown) => unknown) => {
    if (!(key in o)) return;
    const parsed = parse(r[key]);
    if (parsed === undefined) {
      o[`${key}_text`] = String(o[key]);
      delete o[key];
    } else {
      o[key] = parsed;
    }
  };
  fix(k("fda_class"), fdaClass);
  fix(k("phi"), bool);
  fix(k("battery_level"), percent);
  fix(k("utilization_rate"), percent);
  fix(k("in_use"), bool);
}
