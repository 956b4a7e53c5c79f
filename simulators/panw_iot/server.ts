/**
 * A simulated Palo Alto Networks IoT Security tenant on loopback (`../shared/reference/monitors.md`
 * §8; XSOAR `PaloAltoNetworks_IoT.py`): `X-Key-Id`/`X-Access-Key` headers and `customerid` on every
 * request, `GET /pub/v4.0/device/list` (`{"devices":[…],"total":n}`, sorted by MAC), `alert/list`
 * and `vulnerability/list` (`{"ver","api","items":[…]}`, sorted by `date` / `detected_date`,
 * `stime` inclusive at millisecond precision), paged with `offset`/`pagelength` (≤ 1000).
 *
 * Rendered from the shared {@link Fleet}: one alert per `fleet.alertFacts(k)` (the description of a
 * `default_credential_login` carries the user name and password fingerprint), one vulnerability per
 * (device, CVE) of `facts.cves`, one inventory row per device. Fields beyond those the reference
 * confirms (`zb_ticketid`, `date`, `name`, `description`, `deviceid`, `vulnerability_name`,
 * `detected_date`, `ip`, `hostname`, `ip_address`, `profile_type`) are assumptions of the simulator.
 */

import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Fleet } from "../fleet/fleet.ts";
import { jsonServer, listen } from "../loopback.ts";
import {
  emptyStats,
  type FleetChoice,
  HttpProblem,
  injectedFailure,
  type MonitorFailures,
  type MonitorSimulatorStats,
  maybeMalformed,
  monitorHandler,
  type Reply,
  simulatorFleet,
} from "../monitor-shell.ts";

export type PanwIotFailures = MonitorFailures;

export interface PanwIotSimulatorOptions extends FleetChoice {
  /** Tenant id (`customerid`). @defaultValue "medsoc-hospital" */
  customerId?: string;
  /** `X-Key-Id` the tenant accepts. @defaultValue random */
  keyId?: string;
  /** `X-Access-Key` the tenant accepts. @defaultValue random */
  accessKey?: string;
  /** Initial failure modes. @defaultValue none */
  failures?: PanwIotFailures;
}

export interface PanwIotSimulator {
  /** Base URL, `http://127.0.0.1:<port>` (the connector appends `/pub/v4.0/...`). */
  url: string;
  customerId: string;
  keyId: string;
  accessKey: string;
  fleet: Fleet;
  stats: MonitorSimulatorStats;
  /** Records per endpoint before filters. */
  totals: { devices: number; alerts: number; unresolvedAlerts: number; vulnerabilities: number };
  setFailures(failures: PanwIotFailures): void;
  resetStats(): void;
  stop(): Promise<void>;
}

const API = "/pub/v4.0";
const MAX_PAGELENGTH = 1000;

const hex = (s: string, n: number) => createHash("sha256").update(s).digest("hex").slice(0, n);
const msIso = (us: number) => new Date(Math.floor(us / 1000)).toISOString();
const plusZero = (iso: string) => `${iso.slice(0, -1)}+00:00`;

function riskLevel(score: number): string {
  return score >= 90 ? "Critical" : score >= 70 ? "High" : score >= 40 ? "Medium" : "Low";
}

/** Starts the simulated tenant. */
export async function startPanwIotSimulator(
  options: PanwIotSimulatorOptions = {},
): Promise<PanwIotSimulator> {
  const fleet = simulatorFleet(options);
  const customerId = options.customerId ?? "medsoc-hospital";
  const keyId = options.keyId ?? `key-${randomBytes(8).toString("hex")}`;
  const accessKey = options.accessKey ?? `ak-${randomBytes(20).toString("hex")}`;
  let failures: PanwIotFailures = { ...options.failures };
  const stats = emptyStats();
  const drift = (n: number) => failures.typeDrift === true && n % 3 === 1;
  const cves = new Map(fleet.cves().map((v) => [v.id, v]));

  // Inventory sorted by MAC (the documented sortfield); each MAC computed once.
  const macs = Array.from({ length: fleet.size }, (_, i) => fleet.facts(i).mac);
  const byMac = Array.from({ length: fleet.size }, (_, i) => i).sort((a, b) => {
    const x = macs[a] as string;
    const y = macs[b] as string;
    return x < y ? -1 : x > y ? 1 : a - b;
  });
  // (device, CVE) pairs: device i's pairs start at vulnStart[i]; detected_date = device lastSeen.
  const vulnStart = new Int32Array(fleet.size + 1);
  for (let i = 0; i < fleet.size; i++)
    vulnStart[i + 1] = (vulnStart[i] as number) + fleet.profile(i).cves.length;
  let unresolved = 0;
  for (let k = 0; k < fleet.alertCount; k++) if (!fleet.alertFacts(k).resolved) unresolved++;
  const totals = {
    devices: fleet.size,
    alerts: fleet.alertCount,
    unresolvedAlerts: unresolved,
    vulnerabilities: vulnStart[fleet.size] as number,
  };

  function device(i: number): Record<string, unknown> {
    const f = fleet.facts(i);
    const d = drift(i);
    const type =
      f.vendorType.endsWith("s") && !f.vendorType.endsWith("ss") ? f.vendorType.slice(0, -1) : f.vendorType;
    const medical = f.category === "Medical" || f.category === "Imaging";
    return {
      deviceid: f.mac.toLowerCase(),
      hostname: f.name,
      ip_address: f.ip,
      profile_type: f.deviceClass === "it" || f.deviceClass === "clinical_workstation" ? "Non_IoT" : "IoT",
      profile_vertical: medical ? "Medical" : f.deviceClass === "building_iot" ? "Facility" : "Office",
      category: type,
      profile: `${f.manufacturer} ${type}`,
      vendor: f.manufacturer,
      model: f.model,
      os_group: f.operatingSystem,
      // One field for both: the firmware of embedded devices, the OS version of general-purpose hosts.
      os_firmware_version:
        f.operatingSystem === "Windows" || f.operatingSystem === "Linux"
          ? f.operatingSystemVersion
          : f.firmwareVersion,
      serial_number: f.serial,
      risk_score: d ? String(f.risk) : f.risk,
      risk_level: riskLevel(f.risk),
      site_name: f.site.name,
      vlan: d ? 100 + (f.index % 40) : String(100 + (f.index % 40)),
      subnet: `${f.ip.split(".").slice(0, 3).join(".")}.0/24`,
      first_seen_date: msIso(f.firstSeenUs),
      last_activity: d ? plusZero(msIso(f.lastSeenUs)) : msIso(f.lastSeenUs),
    };
  }

  function alert(k: number): Record<string, unknown> {
    const a = fleet.alertFacts(k);
    const f = fleet.facts(a.device);
    const d = drift(k);
    let description = a.description;
    if (a.kind === "default_credential_login")
      description = `${a.description} Username: ${f.credential.username}; credential fingerprint: ${f.credential.fingerprint}; password type: ${f.credential.kind.replace("_", "-")}.`;
    const date = msIso(a.timeUs);
    const type =
      f.vendorType.endsWith("s") && !f.vendorType.endsWith("ss") ? f.vendorType.slice(0, -1) : f.vendorType;
    return {
      id: hex(`alert|${fleet.seed}|${k}`, 24),
      zb_ticketid: `alert-${hex(`ticket|${fleet.seed}|${k}`, 10)}`,
      date: d ? plusZero(date) : date,
      name: a.title,
      description,
      deviceid: f.mac.toLowerCase(),
      hostname: f.name,
      ip: f.ip,
      severity: a.severity.toLowerCase(),
      risk_score: d ? String(f.risk) : f.risk,
      category: type,
      profile: `${f.manufacturer} ${type}`,
      type: "policy_alert",
      resolved: a.resolved ? "yes" : "no",
      ...(a.mitre ? { mitre: a.mitre } : {}),
    };
  }

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

  function vulnerability(j: number): Record<string, unknown> {
    const i = vulnDevice(j);
    const f = fleet.facts(i);
    const cve = fleet.profile(i).cves[j - (vulnStart[i] as number)] as string;
    const v = cves.get(cve);
    const d = drift(j);
    const detected = msIso(f.lastSeenUs);
    return {
      zb_ticketid: `vuln-${parseInt(hex(`vuln|${fleet.seed}|${i}|${cve}`, 7), 16)}`,
      vulnerability_name: cve,
      name: f.name,
      deviceid: f.mac.toLowerCase(),
      ip: f.ip,
      detected_date: d ? plusZero(detected) : detected,
      severity: v?.severity ?? null,
      cvss: v === undefined ? null : d ? String(v.score) : v.score,
      description: v?.description ?? null,
      profile: `${f.manufacturer} ${f.vendorType}`,
      vendor: f.manufacturer,
      model: f.model,
      status: "Confirmed",
    };
  }

  function int(query: URLSearchParams, name: string, fallback: number, max: number): number {
    const raw = query.get(name);
    if (raw === null || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > max)
      throw new HttpProblem(400, `${name} must be an integer between 0 and ${max}`);
    return n;
  }

  function stimeUs(query: URLSearchParams): number {
    const raw = query.get("stime");
    if (raw === null || raw === "" || raw === "-1") return Number.NEGATIVE_INFINITY;
    const ms = Date.parse(raw);
    if (Number.isNaN(ms)) throw new HttpProblem(400, `invalid stime: ${raw}`);
    return ms * 1000;
  }

  /** Items in [first, total) that pass `keep`, paged. */
  function page(
    total: number,
    first: number,
    keep: (j: number) => boolean,
    item: (j: number) => Record<string, unknown>,
    offset: number,
    length: number,
  ): string[] {
    const out: string[] = [];
    let skipped = 0;
    for (let j = first; j < total && out.length < length; j++) {
      if (!keep(j)) continue;
      if (skipped < offset) {
        skipped++;
        continue;
      }
      out.push(JSON.stringify(item(j)));
    }
    return out;
  }

  /** First index whose time (ms precision) is at or after `us`. */
  function firstAtOrAfter(total: number, timeUs: (j: number) => number, us: number): number {
    let lo = 0;
    let hi = total;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (Math.floor(timeUs(mid) / 1000) * 1000 < us) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  function serve(name: string, query: URLSearchParams): string {
    const offset = int(query, "offset", 0, Number.MAX_SAFE_INTEGER);
    const length = int(query, "pagelength", 100, MAX_PAGELENGTH);
    const lower = stimeUs(query);
    if (name === "device/list") {
      // stime is whole milliseconds: floor(lastSeen to ms) >= stime exactly when lastSeen >= stime.
      const keep = (j: number) => fleet.lastSeenUs(byMac[j] as number) >= lower;
      const total = fleet.size - (lower === Number.NEGATIVE_INFINITY ? 0 : fleet.firstDeviceAtOrAfter(lower));
      const everything = total === fleet.size;
      const items = everything
        ? byMac.slice(offset, offset + length).map((i) => JSON.stringify(device(i)))
        : page(fleet.size, 0, keep, (j) => device(byMac[j] as number), offset, length);
      return `{"devices":[${items.join(",")}],"total":${total}}`;
    }
    if (name === "alert/list") {
      if (query.get("sortfield") && query.get("sortfield") !== "date")
        throw new HttpProblem(400, "unsupported sortfield");
      const resolved = query.get("resolved");
      const first = firstAtOrAfter(fleet.alertCount, (k) => fleet.alertTimeUs(k), lower);
      const keep = (k: number) =>
        resolved === null || (fleet.alertFacts(k).resolved ? "yes" : "no") === resolved;
      const items = page(fleet.alertCount, first, keep, alert, offset, length);
      return `{"ver":"v4.0","api":"/alert/list","items":[${items.join(",")}]}`;
    }
    const total = vulnStart[fleet.size] as number;
    const first = firstAtOrAfter(total, (j) => fleet.lastSeenUs(vulnDevice(j)), lower);
    const items = page(total, first, () => true, vulnerability, offset, length);
    return `{"ver":"v4.0","api":"/vulnerability/list","items":[${items.join(",")}]}`;
  }

  const error = (_status: number, message: string) => JSON.stringify({ error: message });

  function api(req: IncomingMessage, name: string, query: URLSearchParams): Reply {
    const n = ++stats.apiRequestsSinceFailures;
    const authorized = req.headers["x-key-id"] === keyId && req.headers["x-access-key"] === accessKey;
    const injected = injectedFailure(n, failures, authorized, stats, error);
    if (injected) return injected;
    if (req.method !== "GET") return [405, error(405, "Method not allowed")];
    const customer = query.get("customerid");
    if (!customer) return [400, error(400, "customerid is required")];
    if (customer !== customerId) return [403, error(403, `no access to customer ${customer}`)];
    if (!["device/list", "alert/list", "vulnerability/list"].includes(name))
      return [404, error(404, `not found: ${name}`)];
    return [200, maybeMalformed(n, failures, stats, serve(name, query))];
  }

  const handle = monitorHandler({
    path: (url) => url.pathname.replace(/\/+$/, ""),
    route: ({ req, url, path }) =>
      path.startsWith(`${API}/`)
        ? api(req, path.slice(API.length + 1), url.searchParams)
        : [404, error(404, "not found")],
    onError: (e) => [
      e instanceof HttpProblem ? e.status : 500,
      error(500, e instanceof Error ? e.message : String(e)),
    ],
    entry: ({ req, url, path, at }, status) => ({
      method: req.method ?? "",
      path,
      query: Object.fromEntries(url.searchParams),
      body: undefined,
      status,
      at,
    }),
    stats: () => stats,
    delayMs: () => failures.delayMs,
  });

  const server = jsonServer(handle, (e) => ({ error: String(e) }));
  const listening = await listen(server, options.port, options.host);
  return {
    url: listening.url,
    customerId,
    keyId,
    accessKey,
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
