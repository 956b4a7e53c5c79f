import { isEmpty } from "../document.ts";
import { ipList, mac, num, str } from "../values.ts";

type Rec = Readonly<Record<string, unknown>>;

/**
 * `host.*` / `device.*` / `medsoc.*` of a PANW IoT record. `deviceid` is the device's MAC (the
 * API's stable id): it becomes `host.id`, `device.id` and, normalised, `host.mac`. Inventory rows
 * name the address `ip_address`, alerts and vulnerabilities `ip`.
 */
export function panwHost(r: Rec): {
  id?: string;
  host?: Record<string, unknown>;
  device?: Record<string, unknown>;
  medsoc: Record<string, unknown>;
  copied: string[];
} {
  const copied: string[] = [];
  const host: Record<string, unknown> = {};
  const device: Record<string, unknown> = {};
  const id = str(r.deviceid);
  if (id !== undefined) {
    host.id = id;
    device.id = id;
    const m = mac(id);
    if (m !== undefined) host.mac = [m];
    copied.push("deviceid");
  }
  const ips = ipList(r.ip_address ?? r.ip);
  if (ips !== undefined) host.ip = ips;
  const name = str(r.hostname) ?? str(r.name);
  if (name !== undefined) host.name = name;
  const category = str(r.category);
  if (category !== undefined) host.type = category;
  const osGroup = str(r.os_group);
  const osVersion = str(r.os_firmware_version);
  if (osGroup !== undefined || osVersion !== undefined) {
    const os: Record<string, unknown> = {};
    if (osGroup !== undefined) {
      os.name = osGroup;
      os.family = osGroup.toLowerCase();
    }
    if (osVersion !== undefined) os.version = osVersion;
    if (osGroup !== undefined && osVersion !== undefined) os.full = `${osGroup} ${osVersion}`;
    host.os = os;
  }
  const manufacturer = str(r.vendor);
  if (manufacturer !== undefined) device.manufacturer = manufacturer;
  const model = str(r.model);
  if (model !== undefined) device.model = { name: model };
  const serial = str(r.serial_number);
  if (serial !== undefined) {
    device.serial_number = serial;
    copied.push("serial_number");
  }
  const medsoc: Record<string, unknown> = {};
  const md: Record<string, unknown> = {};
  const vertical = str(r.profile_vertical);
  if (vertical !== undefined) md.vendor_category = vertical;
  if (category !== undefined) md.vendor_type = category;
  if (!isEmpty(md)) medsoc.device = md;
  const location: Record<string, unknown> = {};
  const site = str(r.site_name);
  if (site !== undefined) location.site = site;
  const vlan = str(r.vlan);
  if (vlan !== undefined) location.vlan = vlan;
  if (!isEmpty(location)) medsoc.location = location;
  return {
    id,
    host: isEmpty(host) ? undefined : host,
    device: isEmpty(device) ? undefined : device,
    medsoc,
    copied,
  };
}

/** `host.risk.*` of an inventory row. */
export function panwRisk(r: Rec): Record<string, unknown> | undefined {
  const score = num(r.risk_score);
  const level = str(r.risk_level);
  if (score === undefined && level === undefined) return undefined;
  const risk: Record<string, unknown> = {};
  if (score !== undefined) risk.static_score = score;
  if (level !== undefined) risk.static_level = level;
  return risk;
}
