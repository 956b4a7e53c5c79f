/**
 * A simulated Asimily Insight portal on loopback (monitors.md §7, `data/vendors/asimily/`):
 * `POST /api/extapi/assets`, `/api/extapi/assets/anomalies` and `/api/extapi/assets/device-cves`
 * with `size`/`page`/`sort` query parameters, a `{"filters": {…}}` body, HTTP Basic (403 with
 * "Authentication Error: …" for wrong credentials), and Spring Data page envelopes
 * (`content`, `totalPages`, `totalElements`, `last`, `number`, `size`). Page sizes above the caps
 * (400 / 100 / 25 by default) are clamped silently, as Spring's max page size does.
 *
 * Records come from the shared fleet: every device is an asset; devices with alerts are anomaly
 * entries (one anomaly per alert fact); devices with CVEs are CVE entries. Fields beyond the
 * reference mocks (`criticality`, `lastUpdated`, `cveScore`, `deviceFamily`, …) are ASSUMED.
 * `anomaliesLastUpdatedSince` / `cvesLastUpdatedSince` accept ISO-8601 or epoch milliseconds and
 * are inclusive. `deviceID` (assets) vs `deviceId` (anomalies, CVEs) follows the mocks.
 */

import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AsimilyAnomaly, AsimilyAsset, AsimilyCve } from "../../connectors/asimily/records.ts";
import { type AlertFacts, type DeviceFacts, type Fleet, PERIOD } from "../fleet/fleet.ts";
import { jsonServer, listen, sendJson } from "../loopback.ts";
import { type FleetChoice, simulatorFleet } from "../monitor-shell.ts";

export interface AsimilyFailures {
  /** Every request answers 403 "Authentication Error". @defaultValue false */
  rejectCredentials?: boolean;
  /** These requests answer 401 (transient). @defaultValue none */
  unauthorizedOn?: number[];
  /** Every Nth request answers 429 with Retry-After. @defaultValue never */
  rateLimitEvery?: number;
  /** @defaultValue 1 */
  retryAfterSeconds?: number;
  /** Every Nth request answers 500. @defaultValue never */
  serverErrorEvery?: number;
  /** These requests answer 200 with a truncated body. @defaultValue none */
  malformedJsonOn?: number[];
  /** These requests answer 502 with an HTML page (a reverse proxy). @defaultValue none */
  htmlBadGatewayOn?: number[];
  /** These requests answer the status with a Spring error body. @defaultValue none */
  statusOn?: Array<{ request: number; status: number; message: string }>;
  /** Type drift: ids as numbers or strings and `deviceID`/`deviceId` swapped on every other record, scores as strings, IP lists as strings. @defaultValue false */
  typeDrift?: boolean;
}

export interface AsimilySimulatorOptions extends FleetChoice {
  /** @defaultValue "medsoc-api" */
  username?: string;
  /** @defaultValue random */
  password?: string;
  /** Page caps (clamped silently). @defaultValue `{asset: 400, anomaly: 100, cve: 25}` */
  pageCaps?: { asset?: number; anomaly?: number; cve?: number };
  failures?: AsimilyFailures;
}

export interface AsimilySimulatorStats {
  requests: Record<string, number>;
  failures: Record<string, number>;
  /** The last 1000 requests. */
  recent: Array<{ path: string; query: Record<string, string>; body: unknown; status: number }>;
}

export interface AsimilySimulator {
  url: string;
  username: string;
  password: string;
  fleet: Fleet;
  stats: AsimilySimulatorStats;
  /** Anomaly entries: device index and its alert range. */
  anomalyEntries(): ReadonlyArray<{ device: number; first: number; count: number }>;
  /** Devices with at least one CVE, in device order. */
  cveDeviceCount(): number;
  setFailures(failures: AsimilyFailures): void;
  resetStats(): void;
  stop(): Promise<void>;
}

const AUTH_ERROR = "Authentication Error: The specified API username and password are not correct.";
const HTML_502 =
  "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";

class Problem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const isoMs = (us: number) => new Date(Math.floor(us / 1000)).toISOString();

function family(f: DeviceFacts): string {
  return f.vendorType.endsWith("s") ? f.vendorType.slice(0, -1) : f.vendorType;
}

/** Device `f` as an Asimily asset. */
export function asimilyAsset(f: DeviceFacts, drift = false): AsimilyAsset & Record<string, unknown> {
  const id = drift ? f.id : String(f.id);
  return {
    ...(drift ? { deviceId: id } : { deviceID: id }),
    macAddr: f.mac.toLowerCase(),
    hostName: f.name,
    v4IpAddrs: drift ? f.ip : [f.ip],
    deviceFamily: family(f),
    deviceTag: f.criticalRisk ? ["critical"] : [],
    manufacturer: f.manufacturer,
    deviceModel: f.model,
    os: f.operatingSystem,
    osVersion: f.operatingSystemVersion,
    firmwareVersion: f.firmwareVersion,
    serialNumber: f.serial,
    department: f.ward,
    facility: f.site.name,
    lastSeen: isoMs(f.lastSeenUs),
  };
}

const ANOMALY_NAMES: Record<AlertFacts["kind"], string> = {
  port_scan: "Port Scan Detected",
  c2_communication: "Communication With Malicious Domain",
  // The fleet's ransomware_risk is a susceptibility (Armis "[Risk] Device Susceptible to
  // Ransomware"), not ransomware activity: worded so, a playbook rule does not read it as a compromise.
  ransomware_risk: "Ransomware Susceptibility",
  unapproved_server: "Connection To Unapproved Server",
  default_credential_login: "Default Credentials Used",
  smbv1: "SMBv1 Usage",
  exfiltration: "Unusual Outbound Data Volume",
};

/** Alert `a` as one Asimily anomaly of its device. */
export function asimilyAnomaly(a: AlertFacts, f: DeviceFacts, drift = false): AsimilyAnomaly {
  const outside = a.kind === "port_scan" || a.kind === "default_credential_login";
  return {
    anomaly: ANOMALY_NAMES[a.kind],
    alertId: drift ? a.index + 1 : String(a.index + 1),
    domainDeviceOrIpDevice: outside
      ? `10.99.${a.index % 250}.${1 + (a.device % 250)}`
      : `host-${a.index % 97}.example.net`,
    criticality: a.severity === "Critical" ? "High" : a.severity,
    lastUpdated: isoMs(a.timeUs),
    description:
      a.kind === "default_credential_login"
        ? `${a.description} User ${f.credential.username} logged in with the model's default password.`
        : a.description,
  };
}

/** Starts the simulated portal. */
export async function startAsimilySimulator(
  options: AsimilySimulatorOptions = {},
): Promise<AsimilySimulator> {
  const fleet = simulatorFleet(options);
  const username = options.username ?? "medsoc-api";
  const password = options.password ?? `pw-${randomBytes(10).toString("hex")}`;
  const caps = { asset: 400, anomaly: 100, cve: 25, ...options.pageCaps };
  let failures: AsimilyFailures = { ...options.failures };
  let requestNo = 0;
  const stats: AsimilySimulatorStats = { requests: {}, failures: {}, recent: [] };
  const fail = (kind: string) => {
    stats.failures[kind] = (stats.failures[kind] ?? 0) + 1;
  };
  const expected = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;

  // Anomaly entries: consecutive alerts of one device (alerts are in device order).
  let entries: Array<{ device: number; first: number; count: number }> | undefined;
  const anomalyEntries = () => {
    if (entries) return entries;
    entries = [];
    for (let k = 0; k < fleet.alertCount; k++) {
      const device = fleet.alertFacts(k).device;
      const last = entries[entries.length - 1];
      if (last && last.device === device) last.count++;
      else entries.push({ device, first: k, count: 1 });
    }
    return entries;
  };
  // Devices with CVEs: the residues of one period, so the k-th one is arithmetic.
  const vulnerableResidues: number[] = [];
  for (let r = 0; r < PERIOD; r++) if (fleet.profile(r).cves.length > 0) vulnerableResidues.push(r);
  const prefix = new Int32Array(PERIOD + 1);
  for (let r = 0; r < PERIOD; r++)
    prefix[r + 1] = (prefix[r] as number) + (fleet.profile(r).cves.length > 0 ? 1 : 0);
  const vulnerableBefore = (n: number) =>
    Math.floor(n / PERIOD) * vulnerableResidues.length + (prefix[n % PERIOD] as number);
  const nthVulnerable = (n: number) =>
    Math.floor(n / vulnerableResidues.length) * PERIOD +
    (vulnerableResidues[n % vulnerableResidues.length] as number);
  const cveInfo = new Map(fleet.cves().map((v) => [v.id, { score: v.score, description: v.description }]));

  function since(body: unknown, key: string): number | undefined {
    const cond = (body as { filters?: Record<string, Array<{ value?: unknown }>> } | null)?.filters?.[
      key
    ]?.[0];
    if (cond === undefined) return undefined;
    const v = cond.value;
    const ms =
      typeof v === "number"
        ? v
        : typeof v === "string"
          ? /^\d+$/.test(v)
            ? Number(v)
            : Date.parse(v)
          : Number.NaN;
    if (!Number.isFinite(ms)) throw new Problem(400, `Invalid value for ${key}: ${JSON.stringify(v)}`);
    return ms;
  }

  function page<T>(items: (k: number) => T, total: number, pageNo: number, size: number) {
    const start = pageNo * size;
    const stop = Math.min(total, start + size);
    const content: T[] = [];
    for (let k = start; k < stop; k++) content.push(items(k));
    const totalPages = Math.ceil(total / size);
    return {
      content,
      pageable: { pageNumber: pageNo, pageSize: size, offset: start, paged: true, unpaged: false },
      totalPages,
      totalElements: total,
      last: pageNo + 1 >= totalPages,
      first: pageNo === 0,
      number: pageNo,
      size,
      numberOfElements: content.length,
      empty: content.length === 0,
    };
  }

  function list(path: string, query: URLSearchParams, body: unknown): unknown {
    const pageNo = Number(query.get("page") ?? "0");
    const asked = Number(query.get("size") ?? "20");
    if (!Number.isInteger(pageNo) || pageNo < 0 || !Number.isInteger(asked) || asked < 1)
      throw new Problem(400, "page must be >= 0 and size >= 1");
    const drift = failures.typeDrift === true;
    if (path === "/api/extapi/assets") {
      const size = Math.min(asked, caps.asset);
      return page((k) => asimilyAsset(fleet.facts(k), drift && k % 2 === 1), fleet.size, pageNo, size);
    }
    if (path === "/api/extapi/assets/anomalies") {
      const size = Math.min(asked, caps.anomaly);
      const all = anomalyEntries();
      const s = since(body, "anomaliesLastUpdatedSince");
      const firstDevice = s === undefined ? 0 : fleet.firstDeviceAtOrAfter(s * 1000);
      let lo = 0;
      let hi = all.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((all[mid] as { device: number }).device < firstDevice) lo = mid + 1;
        else hi = mid;
      }
      return page(
        (k) => {
          const e = all[lo + k] as { device: number; first: number; count: number };
          const f = fleet.facts(e.device);
          const d = drift && k % 2 === 1;
          const anomalies: AsimilyAnomaly[] = [];
          for (let j = 0; j < e.count; j++)
            anomalies.push(asimilyAnomaly(fleet.alertFacts(e.first + j), f, d));
          return {
            ...(d ? { deviceID: f.id } : { deviceId: String(f.id) }),
            macAddr: f.mac.toLowerCase(),
            ipAddr: f.ip,
            hostName: f.name,
            deviceFamily: family(f),
            anomalies,
          };
        },
        all.length - lo,
        pageNo,
        size,
      );
    }
    if (path === "/api/extapi/assets/device-cves") {
      const size = Math.min(asked, caps.cve);
      const s = since(body, "cvesLastUpdatedSince");
      const firstDevice = s === undefined ? 0 : fleet.firstDeviceAtOrAfter(s * 1000);
      const before = vulnerableBefore(firstDevice);
      const total = vulnerableBefore(fleet.size) - before;
      return page(
        (k) => {
          const f = fleet.facts(nthVulnerable(before + k));
          const d = drift && k % 2 === 1;
          const cves: AsimilyCve[] = f.cves.map((cveName) => {
            const info = cveInfo.get(cveName);
            return {
              cveName,
              description: info?.description ?? "",
              cveScore: d ? String(info?.score ?? "") : info?.score,
              lastUpdated: isoMs(f.lastSeenUs),
              fixAvailable: f.index % 3 === 0,
            } as AsimilyCve;
          });
          return {
            ...(d ? { deviceID: f.id } : { deviceId: String(f.id) }),
            macAddr: f.mac.toLowerCase(),
            ipAddr: f.ip,
            hostName: f.name,
            deviceFamily: family(f),
            cves,
          };
        },
        total,
        pageNo,
        size,
      );
    }
    throw new Problem(404, `No handler found for POST ${path}`);
  }

  function answer(
    req: IncomingMessage,
    path: string,
    query: URLSearchParams,
    raw: string,
  ): [number, string, Record<string, string>?] {
    const n = ++requestNo;
    const springError = (status: number, error: string, message: string) =>
      JSON.stringify({ timestamp: new Date().toISOString(), status, error, message, path });
    if (req.headers.authorization !== expected || failures.rejectCredentials) {
      fail("forbidden");
      return [403, springError(403, "Forbidden", AUTH_ERROR)];
    }
    if (failures.unauthorizedOn?.includes(n)) {
      fail("unauthorized");
      return [
        401,
        springError(401, "Unauthorized", "Full authentication is required to access this resource"),
      ];
    }
    const forced = failures.statusOn?.find((s) => s.request === n);
    if (forced) {
      fail(`status_${forced.status}`);
      return [forced.status, springError(forced.status, "Error", forced.message)];
    }
    if (failures.htmlBadGatewayOn?.includes(n)) {
      fail("bad_gateway_html");
      return [502, HTML_502, { "content-type": "text/html" }];
    }
    if (failures.rateLimitEvery && n % failures.rateLimitEvery === 0) {
      fail("rate_limited");
      return [
        429,
        springError(429, "Too Many Requests", "Rate limit exceeded"),
        { "retry-after": String(failures.retryAfterSeconds ?? 1) },
      ];
    }
    if (failures.serverErrorEvery && n % failures.serverErrorEvery === 0) {
      fail("server_error");
      return [500, springError(500, "Internal Server Error", "Unexpected error")];
    }
    if (req.method !== "POST")
      return [405, springError(405, "Method Not Allowed", `Request method '${req.method}' not supported`)];
    let body: unknown;
    try {
      body = raw === "" ? {} : JSON.parse(raw);
    } catch {
      return [400, springError(400, "Bad Request", "JSON parse error")];
    }
    let text: string;
    try {
      text = JSON.stringify(list(path, query, body));
    } catch (error) {
      if (error instanceof Problem)
        return [error.status, springError(error.status, "Bad Request", error.message)];
      throw error;
    }
    if (failures.malformedJsonOn?.includes(n)) {
      fail("malformed_json");
      text = text.slice(0, Math.max(1, Math.floor(text.length / 2)));
    }
    return [200, text];
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://simulator");
    stats.requests[url.pathname] = (stats.requests[url.pathname] ?? 0) + 1;
    const [status, text, headers] = answer(req, url.pathname, url.searchParams, raw);
    let body: unknown;
    try {
      body = raw === "" ? undefined : JSON.parse(raw);
    } catch {
      body = raw;
    }
    stats.recent.push({ path: url.pathname, query: Object.fromEntries(url.searchParams), body, status });
    if (stats.recent.length > 1000) stats.recent.shift();
    sendJson(res, status, text, headers);
  }

  const server = jsonServer(handle, (error) => ({
    status: 500,
    error: "Internal Server Error",
    message: String(error),
  }));
  const listening = await listen(server, options.port, options.host);
  return {
    url: listening.url,
    username,
    password,
    fleet,
    stats,
    anomalyEntries,
    cveDeviceCount: () => vulnerableBefore(fleet.size),
    setFailures(next) {
      failures = { ...next };
      requestNo = 0;
    },
    resetStats() {
      stats.requests = {};
      stats.failures = {};
      stats.recent = [];
    },
    stop: listening.stop,
  };
}
