/**
 * A simulated Claroty xDome tenant on loopback, faithful to the documented shapes
 * (`../shared/reference/monitors.md` §2, `data/vendors/claroty_xdome/`): bearer token, `POST`
 * query bodies (`fields`, `filter_by`, `sort_by`, `offset`, `limit`, `include_count`) on
 * `devices/`, `device_alert_relations/`, `device_vulnerability_relations/` and
 * `ot_activity_events/`, and FastAPI 422 bodies for invalid queries.
 *
 * Everything is rendered from the shared {@link Fleet}: devices from `fleet.facts(i)`, one
 * (alert, device) relation per `fleet.alertFacts(k)` (a port scan also touches the previous device,
 * so one alert id appears with two device uids at the same time), one (device, CVE) relation per
 * CVE of `facts.cves`, one OT activity event per alert fact. A `default_credential_login` fact is a
 * "Weak/Default Password" alert whose description carries the observed user name and password
 * fingerprint. Every 97th device is retired.
 *
 * Filters: `greater_or_equal` / `greater` on the endpoint's time field, `in` / `equals` on the
 * retired flag, compound `and`. Any other filter or sort field answers 422, as would a field the
 * simulator does not know.
 */

import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { AlertFacts, DeviceFacts, Fleet } from "../fleet/fleet.ts";
import { isoMicros } from "../fleet/time.ts";
import { jsonServer, listen } from "../loopback.ts";
import {
  emptyStats,
  type FleetChoice,
  injectedFailure,
  type MonitorFailures,
  type MonitorSimulatorStats,
  maybeMalformed,
  monitorHandler,
  parsedBody,
  type Reply,
  simulatorFleet,
} from "../monitor-shell.ts";

export type XDomeFailures = MonitorFailures;

export interface XDomeSimulatorOptions extends FleetChoice {
  /** The API token the tenant accepts. @defaultValue random */
  token?: string;
  /** Initial failure modes. @defaultValue none */
  failures?: XDomeFailures;
}

export interface XDomeSimulator {
  /** Base URL, `http://127.0.0.1:<port>` (the connector appends `/api/v1/...`). */
  url: string;
  token: string;
  fleet: Fleet;
  stats: MonitorSimulatorStats;
  /** Number of records each endpoint holds (before filters), for assertions. */
  totals: {
    devices: number;
    retiredDevices: number;
    alertRelations: number;
    vulnerabilityRelations: number;
    events: number;
  };
  setFailures(failures: XDomeFailures): void;
  resetStats(): void;
  stop(): Promise<void>;
}

const API = "/api/v1/";
const MAX_LIMIT = 5000;

/** xDome alert type (XSOAR `XDome.yml` list) and category per fleet alert kind. */
export const ALERT_TYPES: Record<AlertFacts["kind"], { type: string; category: string }> = {
  port_scan: { type: "Network Threat Signature", category: "Threat" },
  c2_communication: { type: "Malicious Internet Communication", category: "Threat" },
  ransomware_risk: { type: "Infected Device", category: "Threat" },
  unapproved_server: { type: "Out-of-Policy Communication", category: "Threat" },
  default_credential_login: { type: "Weak/Default Password", category: "Risk" },
  smbv1: { type: "Out-of-Policy Communication", category: "Risk" },
  exfiltration: { type: "External Unencrypted PHI Transmission", category: "Threat" },
};

/** OT activity event type per fleet alert kind. */
const EVENT_TYPES: Record<
  AlertFacts["kind"],
  { type: string; protocol: string; port: number; ip: "TCP" | "UDP" }
> = {
  port_scan: { type: "Network Scan", protocol: "TCP", port: 0, ip: "TCP" },
  c2_communication: { type: "Remote Access", protocol: "HTTPS", port: 443, ip: "TCP" },
  ransomware_risk: { type: "File Transfer", protocol: "SMB", port: 445, ip: "TCP" },
  unapproved_server: { type: "Configuration Download", protocol: "HTTP", port: 80, ip: "TCP" },
  default_credential_login: { type: "Login", protocol: "Telnet", port: 23, ip: "TCP" },
  smbv1: { type: "File Transfer", protocol: "SMBv1", port: 445, ip: "TCP" },
  exfiltration: { type: "File Transfer", protocol: "FTP", port: 21, ip: "TCP" },
};

const MEDICAL = new Set([
  "infusion_pump",
  "patient_monitor",
  "imaging",
  "lab_analyzer",
  "nurse_call",
  "medication_dispensing",
]);

const SUBCATEGORY: Record<DeviceFacts["deviceClass"], string> = {
  infusion_pump: "Patient Devices",
  patient_monitor: "Patient Devices",
  imaging: "Imaging",
  lab_analyzer: "Lab Devices",
  nurse_call: "Clinical IoT",
  medication_dispensing: "Clinical IoT",
  clinical_workstation: "Workstations",
  building_iot: "Building Automation",
  it: "Network Equipment",
};

const ROMAN = ["", "I", "II", "III"];

/** A FastAPI validation error (422 `{"detail":[…]}`). */
class ValidationProblem extends Error {
  constructor(
    readonly status: number,
    readonly detail: Array<{ loc: Array<string | number>; msg: string; type: string }>,
  ) {
    super(detail.map((d) => d.msg).join("; "));
  }
}

const problem = (loc: Array<string | number>, msg: string, type = "value_error") =>
  new ValidationProblem(422, [{ loc, msg, type }]);

function riskLabel(points: number): string {
  return points >= 90
    ? "Critical"
    : points >= 70
      ? "High"
      : points >= 40
        ? "Medium"
        : points >= 20
          ? "Low"
          : "Very Low";
}

/** `2025-03-29T00:00:00.250013+00:00` → `2025-03-29T00:00:00+00:00` (drift: no microseconds). */
const noMicros = (s: string) => `${s.slice(0, 19)}+00:00`;
/** `…+00:00` → `…Z` (drift: same instant, other zone spelling). */
const zulu = (s: string) => `${s.slice(0, -6)}Z`;

/** Starts the simulated tenant. */
export async function startXDomeSimulator(options: XDomeSimulatorOptions = {}): Promise<XDomeSimulator> {
  const fleet = simulatorFleet(options);
  const token = options.token ?? `xdome-${randomBytes(16).toString("hex")}`;
  let failures: XDomeFailures = { ...options.failures };
  const stats = emptyStats();
  const retired = (i: number) => i % 97 === 96;

  // CVE details (score, description, KEV) from the fleet's vulnerability catalogue.
  const cves = new Map(fleet.cves().map((v) => [v.id, v]));

  // (alert, device) relations in time order.
  const relAlert: number[] = [];
  const relDevice: number[] = [];
  for (let k = 0; k < fleet.alertCount; k++) {
    const a = fleet.alertFacts(k);
    relAlert.push(k);
    relDevice.push(a.device);
    if (a.kind === "port_scan" && a.device > 0) {
      relAlert.push(k);
      relDevice.push(a.device - 1);
    }
  }
  // (device, CVE) relations: device i's relations start at vulnStart[i].
  const vulnStart = new Int32Array(fleet.size + 1);
  for (let i = 0; i < fleet.size; i++)
    vulnStart[i + 1] = (vulnStart[i] as number) + fleet.profile(i).cves.length;
  const totals = {
    devices: fleet.size,
    retiredDevices: Math.floor(fleet.size / 97),
    alertRelations: relAlert.length,
    vulnerabilityRelations: vulnStart[fleet.size] as number,
    events: fleet.alertCount,
  };

  const drift = (n: number) => failures.typeDrift === true && n % 3 === 1;

  function device(i: number): Record<string, unknown> {
    const f = fleet.facts(i);
    const d = drift(i);
    const medical = MEDICAL.has(f.deviceClass);
    const points = Math.round((f.risk + ((f.index * 37) % 100) / 100) * 100) / 100;
    const type =
      f.vendorType.endsWith("s") && !f.vendorType.endsWith("ss") ? f.vendorType.slice(0, -1) : f.vendorType;
    const vlan = String(100 + ((f.ward.charCodeAt(0) * 7 + f.ward.length) % 50));
    const lastSeen = isoMicros(f.lastSeenUs);
    return {
      uid: f.uid,
      device_name: f.name,
      ip_list: [d ? `${f.ip} / (DHCP)` : f.ip],
      mac_list: [f.mac.toLowerCase()],
      manufacturer: f.manufacturer,
      model: f.model,
      model_family: f.model.split(" ")[0],
      serial_number: f.serial,
      device_category: medical ? "Medical" : f.deviceClass === "building_iot" ? "IoT" : "IT",
      device_subcategory: SUBCATEGORY[f.deviceClass],
      device_type: type,
      os_category: ["Windows", "Linux"].includes(f.operatingSystem) ? f.operatingSystem : "Other",
      os_name: f.operatingSystem,
      os_version: f.operatingSystemVersion,
      combined_os: `${f.operatingSystem} ${f.operatingSystemVersion}`,
      software_or_firmware_version: f.firmwareVersion,
      site_name: f.site.name,
      network_list: [medical ? "Medical" : "Corporate"],
      vlan_list: [vlan],
      purdue_level: `Level ${f.purdueLevel}`,
      retired: retired(i),
      labels: f.criticalRisk ? ["Critical Risk"] : [],
      risk_score: riskLabel(f.risk),
      risk_score_points: d ? String(points) : points,
      first_seen_list: [d ? noMicros(isoMicros(f.firstSeenUs)) : isoMicros(f.firstSeenUs)],
      last_seen_list: [d ? noMicros(lastSeen) : lastSeen],
      fda_class: f.fdaClass === null ? null : d ? `Class ${ROMAN[f.fdaClass]}` : f.fdaClass,
      phi: d ? (f.phi ? "Yes" : "No") : f.phi,
      handles_pii: f.phi,
      equipment_class: f.equipmentClass,
      consequence_of_failure: f.consequenceOfFailure,
      battery_level: f.batteryLevel === null ? null : d ? `${f.batteryLevel}%` : f.batteryLevel,
      utilization_rate:
        f.utilizationRate === null
          ? null
          : d
            ? String(Math.round(f.utilizationRate * 100))
            : Math.round(f.utilizationRate * 100),
      avg_in_use_per_day: f.utilizationRate === null ? null : Math.round(f.utilizationRate * 24 * 10) / 10,
      // Live in-use state of pumps and monitors (ASSUMED field name, see the connector's field list).
      in_use: f.utilizationRate === null ? null : d ? (f.inUse ? "Yes" : "No") : f.inUse,
      cmms_department: f.ward,
      cmms_asset_tag: `AT-${String(f.id).padStart(7, "0")}`,
      mobility:
        f.deviceClass === "infusion_pump" || f.deviceClass === "patient_monitor" ? "Mobile" : "Stationary",
      updated_time: d ? zulu(lastSeen) : lastSeen,
    };
  }

  /** The device fields of a relation: every key `device_`-prefixed (once). */
  function devicePart(i: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(device(i))) {
      if (k === "updated_time") continue;
      out[k.startsWith("device_") ? k : `device_${k}`] = v;
    }
    return out;
  }

  function alertDescription(a: AlertFacts, f: DeviceFacts): string {
    if (a.kind !== "default_credential_login") return a.description;
    const c = f.credential;
    const what =
      c.kind === "default"
        ? "the vendor default password"
        : c.kind === "shared"
          ? "a password shared with other devices"
          : c.kind === "hard_coded"
            ? "a hard-coded password"
            : "a weak password";
    return `A login with ${what} was observed on ${f.name}. Username: ${c.username}; credential fingerprint: ${c.fingerprint}.`;
  }

  function alertRelation(j: number): Record<string, unknown> {
    const k = relAlert[j] as number;
    const d = relDevice[j] as number;
    const a = fleet.alertFacts(k);
    const f = fleet.facts(d);
    const t = ALERT_TYPES[a.kind];
    const drifted = drift(j);
    const updated = isoMicros(a.timeUs);
    const detected = isoMicros(a.timeUs - 60_000_000);
    return {
      alert_assignees: [],
      alert_category: t.category,
      alert_class: "predefined",
      alert_id: drifted ? String(k + 1) : k + 1,
      alert_labels: a.severity === "Critical" ? ["Top Priority"] : [],
      alert_name: a.kind === "default_credential_login" ? "Weak/Default Password" : a.title,
      alert_type_name: t.type,
      alert_description: alertDescription(a, f),
      device_alert_detected_time: drifted ? noMicros(detected) : detected,
      device_alert_status: a.resolved ? "Resolved" : "Unresolved",
      device_alert_updated_time: drifted ? zulu(updated) : updated,
      device_assignees: [],
      device_labels: [],
      ...devicePart(d),
    };
  }

  /** Device whose relations contain j: the last i with vulnStart[i] <= j. */
  function vulnDevice(j: number): number {
    let lo = 0;
    let hi = fleet.size - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((vulnStart[mid] as number) <= j) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  function vulnerabilityRelation(j: number): Record<string, unknown> {
    const i = vulnDevice(j);
    const cve = fleet.profile(i).cves[j - (vulnStart[i] as number)] as string;
    const v = cves.get(cve);
    const score = v?.score ?? null;
    const drifted = drift(j);
    const detected = isoMicros(fleet.lastSeenUs(i));
    const code = Array.from(cve.replace(/\D/g, "").slice(-8).padStart(8, "0"), (c) =>
      String.fromCharCode(65 + ((Number(c) * 7 + 3) % 26)),
    ).join("");
    return {
      vulnerability_id: code,
      vulnerability_name: v?.description ? `${cve}: ${v.description.split(":")[0]}` : cve,
      vulnerability_type: v?.type === "OS" ? "Platform" : v?.type === "Firmware" ? "Firmware" : "Application",
      vulnerability_cve_ids: [cve],
      vulnerability_cvss_v2_score: null,
      vulnerability_cvss_v2_exploitability_subscore: null,
      vulnerability_cvss_v3_score: score === null ? null : drifted ? String(score) : score,
      vulnerability_cvss_v3_exploitability_subscore: v?.exploitabilityScore ?? null,
      vulnerability_adjusted_vulnerability_score_level: v?.severity ?? null,
      vulnerability_sources: [{ name: "NVD", url: `https://nvd.nist.gov/vuln/detail/${cve}` }],
      vulnerability_description: v?.description ?? null,
      vulnerability_affected_products: `${fleet.profile(i).manufacturer} ${fleet.profile(i).model}`,
      vulnerability_recommendations:
        "Apply the manufacturer's patch or isolate the device (see the advisory).",
      vulnerability_is_known_exploited: v ? v.kevDue !== null : false,
      vulnerability_published_date: v ? `${v.published}T00:00:00+00:00` : null,
      vulnerability_last_updated: v ? isoMicros(v.lastDetectedUs) : null,
      vulnerability_relevance: fleet.profile(i).vulnerable ? "Confirmed" : "Potentially Relevant",
      vulnerability_relevance_sources: ["Claroty"],
      device_vulnerability_detection_date: drifted ? zulu(detected) : detected,
      device_assignees: [],
      device_labels: [],
      ...devicePart(i),
    };
  }

  function event(k: number): Record<string, unknown> {
    const a = fleet.alertFacts(k);
    const f = fleet.facts(a.device);
    const e = EVENT_TYPES[a.kind];
    const server = f.clinicalServers[0] ?? "10.200.1.10";
    const time = isoMicros(a.timeUs);
    const drifted = drift(k);
    const sourceType = f.vendorType.endsWith("s") ? f.vendorType.slice(0, -1) : f.vendorType;
    return {
      event_id: drifted ? String(k + 1) : k + 1,
      event_type: e.type,
      detection_time: drifted ? zulu(time) : time,
      related_alert_ids: [k + 1],
      description: `${e.type} was detected from ${f.ip} (${sourceType}) to ${server} (Server)`,
      mode: null,
      protocol: e.protocol,
      ip_protocol: e.ip,
      source_asset_id: f.serial,
      source_ip: f.ip,
      source_port: 49152 + (k % 16000),
      source_device_name: f.name,
      source_device_type: sourceType,
      source_site_name: f.site.name,
      source_network: MEDICAL.has(f.deviceClass) ? "Medical" : "Corporate",
      source_username: a.kind === "default_credential_login" ? f.credential.username : null,
      dest_asset_id: `SRV-${server.split(".").join("")}`,
      dest_ip: server,
      dest_port: drifted ? String(e.port) : e.port,
      dest_device_name: `clinical-srv-${server.split(".").at(-1)}`,
      dest_device_type: "Server",
      dest_site_name: f.site.name,
      dest_network: "Medical",
    };
  }

  interface Endpoint {
    key: string;
    timeField: string;
    retiredField?: string;
    total: () => number;
    /** Time (µs) of item j; non-decreasing in j. */
    timeUs: (j: number) => number;
    retired: (j: number) => boolean;
    item: (j: number) => Record<string, unknown>;
    fields: ReadonlySet<string>;
  }

  const deviceFields = new Set(Object.keys(device(0)));
  const endpoints: Record<string, Endpoint> = {
    devices: {
      key: "devices",
      timeField: "updated_time",
      retiredField: "retired",
      total: () => fleet.size,
      timeUs: (j) => fleet.lastSeenUs(j),
      retired,
      item: device,
      fields: deviceFields,
    },
    device_alert_relations: {
      key: "devices_alerts",
      timeField: "device_alert_updated_time",
      retiredField: "device_retired",
      total: () => relAlert.length,
      timeUs: (j) => fleet.alertTimeUs(relAlert[j] as number),
      retired: (j) => retired(relDevice[j] as number),
      item: alertRelation,
      fields: new Set(Object.keys(fleet.alertCount > 0 ? alertRelation(0) : {})),
    },
    device_vulnerability_relations: {
      key: "devices_vulnerabilities",
      timeField: "device_vulnerability_detection_date",
      retiredField: "device_retired",
      total: () => totals.vulnerabilityRelations,
      timeUs: (j) => fleet.lastSeenUs(vulnDevice(j)),
      retired: (j) => retired(vulnDevice(j)),
      item: vulnerabilityRelation,
      fields: new Set(Object.keys(totals.vulnerabilityRelations > 0 ? vulnerabilityRelation(0) : {})),
    },
    ot_activity_events: {
      key: "ot_activity_events",
      timeField: "detection_time",
      total: () => fleet.alertCount,
      timeUs: (j) => fleet.alertTimeUs(j),
      retired: () => false,
      item: event,
      fields: new Set(Object.keys(fleet.alertCount > 0 ? event(0) : {})),
    },
  };

  interface Query {
    lowerUs: number;
    strict: boolean;
    retired: boolean | undefined;
  }

  function parseFilter(ep: Endpoint, filter: unknown, q: Query, loc: Array<string | number>): void {
    if (filter === undefined || filter === null) return;
    if (typeof filter !== "object" || Array.isArray(filter))
      throw problem(loc, "value is not a valid dict", "type_error.dict");
    const f = filter as { field?: unknown; operation?: unknown; value?: unknown; operands?: unknown };
    if (f.operation === "and") {
      if (!Array.isArray(f.operands))
        throw problem([...loc, "operands"], "field required", "value_error.missing");
      for (const [idx, o] of f.operands.entries()) parseFilter(ep, o, q, [...loc, "operands", idx]);
      return;
    }
    if (typeof f.field !== "string")
      throw problem([...loc, "field"], "field required", "value_error.missing");
    if (f.field === ep.timeField && (f.operation === "greater_or_equal" || f.operation === "greater")) {
      const us = typeof f.value === "string" ? isoToUs(f.value) : Number.NaN;
      if (Number.isNaN(us))
        throw problem([...loc, "value"], "invalid datetime format", "value_error.datetime");
      if (us > q.lowerUs || (us === q.lowerUs && f.operation === "greater")) {
        q.lowerUs = us;
        q.strict = f.operation === "greater";
      }
      return;
    }
    if (
      ep.retiredField &&
      f.field === ep.retiredField &&
      (f.operation === "in" || f.operation === "equals")
    ) {
      const values = Array.isArray(f.value) ? f.value : [f.value];
      if (values.length === 1 && typeof values[0] === "boolean") {
        q.retired = values[0];
        return;
      }
    }
    if (!ep.fields.has(f.field) && f.field !== ep.retiredField)
      throw problem(
        [...loc, "field"],
        `value is not a valid enumeration member: ${f.field}`,
        "type_error.enum",
      );
    throw problem(loc, `filtering on ${f.field} with ${String(f.operation)} is not supported`);
  }

  function query(ep: Endpoint, body: unknown): string {
    if (typeof body !== "object" || body === null || Array.isArray(body))
      throw problem(["body"], "value is not a valid dict", "type_error.dict");
    const b = body as Record<string, unknown>;
    if (!Array.isArray(b.fields) || b.fields.length === 0)
      throw problem(["body", "fields"], "field required", "value_error.missing");
    b.fields.forEach((field, idx) => {
      if (typeof field !== "string" || !ep.fields.has(field))
        throw problem(
          ["body", "fields", idx],
          `value is not a valid enumeration member: ${String(field)}`,
          "type_error.enum",
        );
    });
    const limit = b.limit ?? 100;
    if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 0 || limit > MAX_LIMIT)
      throw problem(
        ["body", "limit"],
        `ensure this value is between 0 and ${MAX_LIMIT}`,
        "value_error.number",
      );
    const offset = b.offset ?? 0;
    if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0)
      throw problem(
        ["body", "offset"],
        "ensure this value is greater than or equal to 0",
        "value_error.number",
      );
    if (b.sort_by !== undefined) {
      if (!Array.isArray(b.sort_by))
        throw problem(["body", "sort_by"], "value is not a valid list", "type_error.list");
      b.sort_by.forEach((s, idx) => {
        const o = s as { field?: unknown; order?: unknown };
        if (o?.field !== ep.timeField || (o.order !== undefined && o.order !== "asc"))
          throw problem(
            ["body", "sort_by", idx],
            `sorting on ${String(o?.field)} ${String(o?.order)} is not supported`,
          );
      });
    }
    const q: Query = { lowerUs: Number.NEGATIVE_INFINITY, strict: false, retired: undefined };
    parseFilter(ep, b.filter_by, q, ["body", "filter_by"]);
    // First item at or after the bound (items are in time order).
    const total = ep.total();
    let lo = 0;
    let hi = total;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const t = ep.timeUs(mid);
      if (t < q.lowerUs || (q.strict && t === q.lowerUs)) lo = mid + 1;
      else hi = mid;
    }
    const fields = b.fields as string[];
    const out: string[] = [];
    let skipped = 0;
    let count = 0;
    for (let j = lo; j < total; j++) {
      if (q.retired !== undefined && ep.retired(j) !== q.retired) continue;
      count++;
      if (skipped < offset) {
        skipped++;
        continue;
      }
      if (out.length >= limit) {
        if (b.include_count !== true) break;
        continue;
      }
      const item = ep.item(j);
      const picked: Record<string, unknown> = {};
      for (const field of fields) picked[field] = item[field] ?? null;
      out.push(JSON.stringify(picked));
    }
    return `{${b.include_count === true ? `"count":${count},` : ""}"${ep.key}":[${out.join(",")}]}`;
  }

  const error = (_status: number, message: string) => JSON.stringify({ detail: message });

  function api(req: IncomingMessage, name: string, body: string): Reply {
    const n = ++stats.apiRequestsSinceFailures;
    const authorized = req.headers.authorization === `Bearer ${token}`;
    const injected = injectedFailure(n, failures, authorized, stats, error);
    if (injected) return injected;
    const ep = endpoints[name];
    if (!ep) return [404, JSON.stringify({ detail: "Not Found" })];
    if (req.method !== "POST") return [405, JSON.stringify({ detail: "Method Not Allowed" })];
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw problem(["body", 0], "Expecting value: line 1 column 1 (char 0)", "value_error.jsondecode");
    }
    return [200, maybeMalformed(n, failures, stats, query(ep, parsed))];
  }

  const handle = monitorHandler({
    path: (url) => (url.pathname.endsWith("/") ? url.pathname : `${url.pathname}/`),
    route: ({ req, path, body }) =>
      path.startsWith(API)
        ? api(req, path.slice(API.length, -1), body)
        : [404, JSON.stringify({ detail: "Not Found" })],
    onError: (e) =>
      e instanceof ValidationProblem
        ? [e.status, JSON.stringify({ detail: e.detail })]
        : [500, JSON.stringify({ detail: e instanceof Error ? e.message : String(e) })],
    entry: ({ req, url, path, body, at }, status) => ({
      method: req.method ?? "",
      path,
      query: Object.fromEntries(url.searchParams),
      body: parsedBody(body),
      status,
      at,
    }),
    stats: () => stats,
    delayMs: () => failures.delayMs,
  });

  const server = jsonServer(handle, (e) => ({ detail: String(e) }));
  const listening = await listen(server, options.port, options.host);
  return {
    url: listening.url,
    token,
    fleet,
    stats,
    totals,
    setFailures(next) {
      failures = { ...next };
      stats.apiRequestsSinceFailures = 0;
    },
    resetStats() {
      Object.assign(stats, emptyStats());
    },
    stop: listening.stop,
  };
}

function isoToUs(value: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$/.exec(value.trim());
  if (!m) return Number.NaN;
  return Date.parse(`${m[1]}${m[3] ?? "Z"}`) * 1000 + Number((m[2] ?? "").padEnd(6, "0").slice(0, 6));
}
