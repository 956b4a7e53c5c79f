/**
 * Asimily field table for the `asimily.<stream>.*` namespace, observer constants and the pieces the
 * three mappings share (device fields of an entry, `deviceID`/`deviceId` drift).
 */
import { asimilyDeviceId } from "../../connectors/asimily/records.ts";
import { isEmpty } from "../document.ts";
import { ipList, lowerList, macList, ownCopy, str } from "../values.ts";
import { type FieldTable, fieldTable, vendorObject } from "../vendor-fields.ts";

export { asimilyDeviceId };

export const ASIMILY_OBSERVER_VENDOR = "Asimily";
export const ASIMILY_OBSERVER_PRODUCT = "Asimily Insight";

export const ASIMILY_FIELDS = fieldTable({
  deviceID: { name: "device_id", kind: "id" },
  deviceId: { name: "device_id", kind: "id" },
  alertId: "id",
  cveScore: "num",
  lastUpdated: "date",
  lastSeen: "date",
  v4IpAddrs: { name: "v4_ip_addrs", kind: "list" },
  deviceTag: "list",
  fixAvailable: "bool",
});

type Rec = Record<string, unknown>;

export function isRec(v: unknown): v is Rec {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The record under the vendor namespace without the keys in `omit` (matched case-insensitively). */
export function vendorNamespace(
  r: Readonly<Rec>,
  table: FieldTable,
  omit: ReadonlySet<string>,
): Rec | undefined {
  return vendorObject(ownCopy(r, { has: (key) => omit.has(key.toLowerCase()) }), table);
}

/** `host.*`, `device.id`, `related.*` pieces of an Asimily device entry, and the keys they consumed. */
export function deviceFields(r: Readonly<Rec>): {
  id: string | undefined;
  host: Rec;
  related: Rec;
  vendorType: string | undefined;
  consumed: string[];
} {
  const host: Rec = {};
  const related: Rec = {};
  const consumed: string[] = [];
  const id = asimilyDeviceId(r);
  if (id !== undefined) {
    host.id = id;
    consumed.push("deviceid");
  }
  const macs = macList(r.macAddr);
  if (macs !== undefined) {
    host.mac = macs;
    consumed.push("macaddr");
  }
  const ips = ipList(r.v4IpAddrs ?? r.ipAddr);
  if (ips !== undefined) {
    host.ip = ips;
    related.ip = ips.slice();
    consumed.push(r.v4IpAddrs !== undefined ? "v4ipaddrs" : "ipaddr");
  }
  const names = lowerList(r.hostName);
  if (names !== undefined) {
    host.name = names[0];
    related.hosts = names;
    consumed.push("hostname");
  }
  const vendorType = str(r.deviceFamily);
  if (vendorType !== undefined) host.type = vendorType;
  return { id, host, related: isEmpty(related) ? {} : related, vendorType, consumed };
}
