/**
 * The simulated hospital as Cynerio sees it: assets (Hornbill's requestable fields, monitors.md §4)
 * and events (the `CynerioEvent_CL` columns), both rendered from the shared fleet's vendor-neutral
 * facts, so the same devices (MAC, serial, IP, name) appear here as in every other monitor.
 *
 * Value formats that the reference does not give (asset time format, MAC case, which event title a
 * default-password detection carries, how its username is worded in `details`) are choices of
 * this simulator, marked ASSUMED.
 */
import type { CynerioAsset, CynerioEvent } from "../../connectors/cynerio/records.ts";
import type { AlertFacts, DeviceFacts, Fleet } from "../fleet/fleet.ts";

const MEDICAL = new Set([
  "infusion_pump",
  "patient_monitor",
  "imaging",
  "lab_analyzer",
  "nurse_call",
  "medication_dispensing",
]);
const WARD_VLANS: Record<string, number> = {
  ICU: 110,
  ED: 120,
  ONC: 130,
  PEDS: 140,
  SURG: 150,
  CARD: 160,
  MAT: 170,
  RAD: 180,
  LAB: 190,
  PHARM: 200,
};

function hash(s: string): number {
  let x = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) x = Math.imul(x ^ s.charCodeAt(k), 0x01000193);
  return x >>> 0;
}

/** Asset risk label from the fleet's risk (Critical exactly for the devices the hospital rates critical). */
export function cynerioSeverity(f: DeviceFacts): CynerioAsset["severity"] {
  if (f.criticalRisk) return "Critical";
  if (f.risk >= 70) return "High";
  if (f.risk >= 40) return "Medium";
  return "Low";
}

/**
 * Device `f` as a Cynerio asset. `drift` renders the type drift a connector must survive: times as
 * numeric strings, `phi` as `"Yes"`/`"No"`, the VLAN as a string and the IP as a one-element list.
 */
export function cynerioAsset(f: DeviceFacts, drift = false): CynerioAsset {
  const lastSeen = Math.floor(f.lastSeenUs / 1_000_000);
  const firstSeen = Math.floor(f.firstSeenUs / 1_000_000);
  const vlan = WARD_VLANS[f.ward] ?? 100;
  const windows = f.operatingSystem === "Windows";
  return {
    id: f.uid,
    status: "Active",
    vertical_display_name: MEDICAL.has(f.deviceClass)
      ? "Medical"
      : f.deviceClass === "building_iot"
        ? "IoT"
        : "IT",
    severity: cynerioSeverity(f),
    department: f.ward,
    category: f.category,
    display_name: f.name,
    model: f.model,
    vendor: f.manufacturer,
    last_seen: drift ? String(lastSeen) : lastSeen,
    serial_number: f.serial,
    first_seen: drift ? String(firstSeen) : firstSeen,
    ip: drift ? [f.ip] : f.ip,
    network: { vlan: drift ? String(vlan) : vlan, ip_allocation: f.index % 5 === 0 ? "Static" : "DHCP" },
    mac: f.mac.toLowerCase(),
    access_point: { name: `${f.site.name.split(" ")[0]}-${f.ward}-AP${(f.index % 8) + 1}` },
    endpoint_protection: { agent: windows && !f.oldWindows ? "CrowdStrike Falcon" : null },
    os: `${f.operatingSystem} ${f.operatingSystemVersion}`,
    firmware_version: f.firmwareVersion,
    hardware_version: `rev ${String.fromCharCode(65 + (f.index % 4))}`,
    software_version: `${1 + (hash(f.model) % 9)}.${f.index % 10}.${hash(f.serial) % 20}`,
    phi: drift ? (f.phi ? "Yes" : "No") : f.phi,
    type_display_name: f.vendorType,
  };
}

/** Title of a default-password detection (ASSUMED: Sentinel has a rule IoTDefaultPasswords, the title is not public). */
export const CYNERIO_DEFAULT_PASSWORD_TITLE = "Default Password Login";

/**
 * Title of the per-device default-password *exposure* detection (ASSUMED wording: Sentinel's
 * Cynerio content has the rule IoTDefaultPasswords, xDome the "Weak/Default Password" alert type;
 * the exact title is not public). It names an exposure, not a login, yet still contains "default
 * password", which the mapping and the default-credential rule key on.
 */
export const CYNERIO_DEFAULT_PASSWORD_EXPOSURE_TITLE = "Default Password in Use";

function uuidOf(k: number | string, seed: number): string {
  const h = (x: number) => hash(`${x}:${seed}:${k}`).toString(16).padStart(8, "0");
  const a = h(1);
  const b = h(2);
  const c = h(3);
  const d = h(4);
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-9${c.slice(1, 4)}-${c.slice(4)}${d}`;
}

/** Event `a` (about device `f`) in Cynerio's event schema. */
export function cynerioEventOf(a: AlertFacts, f: DeviceFacts, seed: number): CynerioEvent {
  const h = hash(`${a.index}:${seed}`);
  const outside = `203.0.113.${1 + (h % 250)}`;
  const scanner = `10.99.${(h >>> 8) & 255}.${1 + ((h >>> 16) % 250)}`;
  const base = {
    uid: uuidOf(a.index, seed),
    severity: a.severity,
    timestamp: Math.floor(a.timeUs / 1_000_000),
    asset_id: f.uid,
    asset_ip: f.ip,
    asset_type: f.vendorType,
    trans: "tcp",
  };
  switch (a.kind) {
    case "port_scan":
      return {
        ...base,
        title: "Scanner Activity",
        details: `Scanner type: Nmap Source IP ${scanner} scanned ${f.ip}`,
        src_ip: scanner,
        dst_ip: f.ip,
        port: 443,
        service: "https",
      };
    case "c2_communication":
      return {
        ...base,
        title: "Suspicious Connection",
        details: `Suspicious Connection Entity: c2-${h % 997}.badactor.example, reputation: malicious`,
        src_ip: f.ip,
        dst_ip: outside,
        port: 8443,
        service: "https",
      };
    case "exfiltration":
      return {
        ...base,
        title: "Suspicious Connection",
        details: `Suspicious Connection Entity: upload-${h % 97}.filedrop.example, ${(h % 900) + 100} MB sent`,
        src_ip: f.ip,
        dst_ip: outside,
        port: 443,
        service: "https",
      };
    case "ransomware_risk":
    case "smbv1":
      return {
        ...base,
        title: "Exploitation Attempt",
        details:
          a.kind === "smbv1"
            ? "Expliot: EternalRomance (SMBv1), attempted against the device"
            : "Expliot: EternalBlue (MS17-010), attempted against the device",
        src_ip: scanner,
        dst_ip: f.ip,
        port: 445,
        service: "smb",
      };
    case "unapproved_server":
      return {
        ...base,
        severity: a.severity,
        title: "Internet Browsing",
        details: `Internet Browsing: the device reached ${outside} outside its approved clinical servers`,
        src_ip: f.ip,
        dst_ip: outside,
        port: 80,
        host: `updates-${h % 31}.vendor-portal.example`,
        browser: "Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko",
        service: "http",
      };
    case "default_credential_login":
      // ASSUMED wording; the username and the password fingerprint (never the password) come from
      // the fleet's credential facts, so playbooks can rotate the shared default.
      return {
        ...base,
        title: CYNERIO_DEFAULT_PASSWORD_TITLE,
        details: `Default password login: Username: ${f.credential.username}, Password fingerprint: ${f.credential.fingerprint}, Service: telnet,`,
        src_ip: scanner,
        dst_ip: f.ip,
        port: 23,
        service: "telnet",
      };
  }
}

/**
 * The posture detection for device `f`: one "default password in use" event when its credential
 * is a factory default or an organisation-wide shared password (else `undefined`). The details
 * carry the same `Username:` / `Password fingerprint:` wording as the login event, so the mapping
 * fills `medsoc.credential.{observed, username, fingerprint}`; the fleet view then tells default
 * from shared by how many devices carry the fingerprint. Time: the device's `lastSeen`.
 */
export function cynerioDefaultPasswordEvent(f: DeviceFacts, seed: number): CynerioEvent | undefined {
  if (f.credential.kind !== "default" && f.credential.kind !== "shared") return undefined;
  return {
    uid: uuidOf(`default-password:${f.index}`, seed),
    title: CYNERIO_DEFAULT_PASSWORD_EXPOSURE_TITLE,
    // Medium: an exposure, not an attack in progress (a High alert would also add alert risk points).
    severity: "Medium",
    timestamp: Math.floor(f.lastSeenUs / 1_000_000),
    details: `Default password in use: Username: ${f.credential.username}, Password fingerprint: ${f.credential.fingerprint}, Service: telnet,`,
    asset_id: f.uid,
    asset_ip: f.ip,
    asset_type: f.vendorType,
    dst_ip: f.ip,
    trans: "tcp",
    port: 23,
    service: "telnet",
  };
}

/** Event `k` of the fleet in Cynerio's event schema. */
export function cynerioEvent(fleet: Fleet, k: number): CynerioEvent {
  const a = fleet.alertFacts(k);
  return cynerioEventOf(a, fleet.facts(a.device), fleet.seed);
}
