/**
 * A simulated Nozomi Networks Guardian on loopback, in the documented Open API shapes
 * (`../shared/reference/monitors.md` §5, `data/vendors/nozomi/`, Elastic's node_cve fixture):
 * `POST /api/open/sign_in` (token in the `Authorization` response header), HTTP Basic, and
 * `GET /api/open/query/do` over the `assets`, `alerts` and `node_cves` tables, rendered from the
 * shared {@link Fleet} (`facts(i)`, `alertFacts(k)`, each device's CVEs). Nothing is stored: a page
 * is computed from its position.
 *
 * N2QL subset: `<table> [| where <time field> (>=|>|==) <epoch ms>]* [| sort <time field> asc]
 * [| head N]`, with `page` (1–1000) and `count` (1–10000). An unknown table answers HTTP 200 with
 * `error` set, as the appliance does (XSOAR `wrong_query.json`). Time fields: `assets`
 * `last_activity_time`; `alerts` `time`/`record_created_at`; `node_cves` `time`/`record_created_at`.
 * Records sharing one millisecond (three devices per tie group, several CVEs per device) come in
 * fleet order, not id order.
 *
 * Failure modes are switchable at construction and at runtime (`setFailures`).
 */

import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { AlertKind, DeviceFacts, Fleet } from "../fleet/fleet.ts";
import { jsonServer, listen } from "../loopback.ts";
import {
  type FaultModes,
  type FleetChoice,
  HttpProblem,
  injectedFault,
  maybeMalformed,
  monitorHandler,
  simulatorFleet,
} from "../monitor-shell.ts";

/** Injected failures. Request numbers count query requests since the failures were last set, from 1. */
export interface NozomiFailures extends Omit<FaultModes, "htmlBadGatewayOn" | "serverErrorOn"> {
  /** The sign-in endpoint (and Basic) refuse the credentials with 401. @defaultValue false */
  invalidCredentials?: boolean;
  /** `/api/open/sign_in` answers 404 (older appliances): clients must fall back to Basic. @defaultValue false */
  signInUnavailable?: boolean;
  /** A sign-in token stops working (401) after this many queries; `0` refuses every token. @defaultValue unlimited */
  tokenMaxRequests?: number;
  /** Token lifetime in milliseconds (the JWT `exp` says so). @defaultValue 30 minutes */
  tokenTtlMs?: number;
  /** Every Nth query answers 503 with a JSON body. @defaultValue never */
  serverErrorEvery?: number;
  /**
   * Type drift as seen across feeds: `risk` a string (`"9.0"`) on every other alert, epoch times
   * as numeric strings and `level` as a number on every third asset, `cve_score` a string on every
   * other CVE. @defaultValue false
   */
  typeDrift?: boolean;
}

export interface NozomiSimulatorOptions extends FleetChoice {
  /** API key name (sign-in) and Basic user. @defaultValue "medsoc" */
  keyName?: string;
  /** API key token (sign-in) and Basic password. @defaultValue random */
  keyToken?: string;
  failures?: NozomiFailures;
}

export interface NozomiSimulatorStats {
  requests: Record<string, number>;
  queriesSinceFailures: number;
  tokensIssued: number;
  failures: Record<string, number>;
  /** The last 1000 requests, oldest first. */
  recent: Array<{
    method: string;
    path: string;
    query: Record<string, string>;
    status: number;
    at: number;
    auth: string;
  }>;
}

export interface NozomiSimulator {
  url: string;
  keyName: string;
  keyToken: string;
  fleet: Fleet;
  stats: NozomiSimulatorStats;
  /** Total rows of a table (`assets`, `alerts`, `node_cves`). */
  tableSize(table: string): number;
  /** Row `index` of a table in query order, rendered without type drift. */
  row(table: string, index: number): Record<string, unknown>;
  setFailures(failures: NozomiFailures): void;
  resetStats(): void;
  stop(): Promise<void>;
}

const MAX_PAGE = 1000;
const MAX_COUNT = 10_000;

/** Nozomi's error body. */
const error = (_status: number, message: string) => JSON.stringify({ error: message });

/** A deterministic UUID-shaped id from its parts. */
export function uuidOf(...parts: Array<string | number>): string {
  const h = createHash("md5").update(parts.join("/")).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

/** Nozomi-style asset type of a fleet device. */
function assetType(f: DeviceFacts): string {
  return f.typeEnum.toLowerCase();
}

/**
 * Nozomi reports an OS for general-purpose hosts and a firmware version for embedded ones; a
 * device whose firmware line differs from its OS (an Alaris PCU on Windows CE) has both.
 */
function osOf(f: DeviceFacts): { os: string; firmware: string } {
  const named = f.operatingSystem === "Windows" || f.operatingSystem === "Linux";
  if (!named) return { os: "", firmware: f.firmwareVersion };
  const firmware = f.firmwareVersion !== f.operatingSystemVersion ? f.firmwareVersion : "";
  return { os: `${f.operatingSystem} ${f.operatingSystemVersion}`, firmware };
}

function vlanOf(f: DeviceFacts): number {
  let n = 0;
  for (const c of f.ward) n += c.charCodeAt(0);
  return 100 + (n % 50);
}

export const ALERT_TYPES: Record<
  AlertKind,
  { typeId: string; typeName: string; inbound: boolean; protocol: string; port: number }
> = {
  port_scan: {
    typeId: "SIGN:NETWORK-SCAN",
    typeName: "Network Scan",
    inbound: true,
    protocol: "tcp",
    port: 0,
  },
  c2_communication: {
    typeId: "SIGN:MALICIOUS-DOMAIN",
    typeName: "Malicious domain",
    inbound: false,
    protocol: "dns",
    port: 53,
  },
  ransomware_risk: {
    typeId: "SIGN:MALWARE-DETECTED",
    typeName: "Malware detected",
    inbound: false,
    protocol: "smb",
    port: 445,
  },
  unapproved_server: {
    typeId: "NET:UNKNOWN-SERVER",
    typeName: "New server",
    inbound: false,
    protocol: "http",
    port: 8080,
  },
  default_credential_login: {
    typeId: "SIGN:PASSWORD:WEAK",
    typeName: "Weak password",
    inbound: true,
    protocol: "telnet",
    port: 23,
  },
  smbv1: {
    typeId: "NET:INSECURE-PROTOCOL",
    typeName: "Insecure protocol",
    inbound: false,
    protocol: "smb",
    port: 445,
  },
  exfiltration: {
    typeId: "NET:UNUSUAL-TRAFFIC",
    typeName: "Unusual traffic volume",
    inbound: false,
    protocol: "https",
    port: 443,
  },
};

export const RISK: Record<string, number> = { Critical: 9.5, High: 7.5, Medium: 5, Low: 2.5 };

interface Table {
  size(): number;
  /** Epoch ms of row `k`; non-decreasing in `k`. */
  timeMs(k: number): number;
  render(k: number, drift: boolean): Record<string, unknown>;
  timeFields: readonly string[];
}

/** Starts the simulated Guardian. */
export async function startNozomiSimulator(options: NozomiSimulatorOptions = {}): Promise<NozomiSimulator> {
  const fleet = simulatorFleet(options);
  const keyName = options.keyName ?? "medsoc";
  const keyToken = options.keyToken ?? `nz-${randomBytes(12).toString("hex")}`;
  let failures: NozomiFailures = { ...options.failures };
  const tokens = new Map<string, { requests: number; expiresAt: number }>();
  const stats: NozomiSimulatorStats = {
    requests: {},
    queriesSinceFailures: 0,
    tokensIssued: 0,
    failures: {},
    recent: [],
  };
  const fail = (kind: string) => {
    stats.failures[kind] = (stats.failures[kind] ?? 0) + 1;
  };

  const cveInfo = new Map(fleet.cves().map((v) => [v.id, v]));
  // node_cves: prefix sums of CVEs per device, built on first use.
  let cvePrefix: Int32Array | undefined;
  const prefix = (): Int32Array => {
    if (cvePrefix) return cvePrefix;
    const p = new Int32Array(fleet.size + 1);
    for (let i = 0; i < fleet.size; i++) p[i + 1] = (p[i] as number) + fleet.profile(i).cves.length;
    cvePrefix = p;
    return p;
  };
  const cveRow = (k: number): { device: number; j: number } => {
    const p = prefix();
    let lo = 0;
    let hi = fleet.size - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((p[mid] as number) <= k) lo = mid;
      else hi = mid - 1;
    }
    return { device: lo, j: k - (p[lo] as number) };
  };
  const deviceMs = (i: number) => Math.floor(fleet.lastSeenUs(i) / 1000);

  const tables: Record<string, Table> = {
    assets: {
      size: () => fleet.size,
      timeMs: deviceMs,
      timeFields: ["last_activity_time"],
      render: (i, drift) => {
        const f = fleet.facts(i);
        const mac = f.mac.toLowerCase();
        const { os, firmware } = osOf(f);
        const created = Math.floor(f.firstSeenUs / 1000);
        const last = Math.floor(f.lastSeenUs / 1000);
        const odd = drift && i % 3 === 1;
        return {
          name: f.name,
          level: odd ? f.purdueLevel : String(f.purdueLevel),
          id: f.uid,
          appliance_hosts: [`guardian-${f.site.name.toLowerCase().replace(/[^a-z]+/g, "-")}`],
          capture_device: "",
          ip: f.ipv6 ? [f.ip, f.ipv6] : [f.ip],
          mac_address: [mac],
          mac_address_level: { [mac]: i % 5 === 0 ? "likely" : "confirmed" },
          vlan_id: [String(vlanOf(f))],
          mac_vendor: [f.manufacturer],
          os,
          roles: f.deviceClass === "clinical_workstation" ? ["consumer", "terminal"] : ["consumer"],
          vendor: f.manufacturer,
          _asset_kb_id: "",
          "vendor:info": { source: "passive" },
          firmware_version: firmware,
          "firmware_version:info": { source: firmware ? "active" : "passive" },
          os_or_firmware: os || `${f.operatingSystem} ${firmware}`,
          serial_number: f.serial,
          "serial_number:info": { source: "active" },
          product_name: f.model,
          "product_name:info": { source: "passive" },
          type: assetType(f),
          "type:info": { source: "passive" },
          protocols: f.operatingSystem === "Windows" ? ["smb", "rdp", "http"] : ["http", "hl7"],
          nodes: f.ipv6 ? [f.ip, f.ipv6] : [f.ip],
          zones: [f.ward],
          custom_fields: { site: f.site.name },
          created_at: odd ? String(created) : created,
          last_activity_time: odd ? String(last) : last,
        };
      },
    },
    alerts: {
      size: () => fleet.alertCount,
      timeMs: (k) => Math.floor(fleet.alertTimeUs(k) / 1000),
      timeFields: ["time", "record_created_at"],
      render: (k, drift) => {
        const a = fleet.alertFacts(k);
        const f = fleet.facts(a.device);
        const t = ALERT_TYPES[a.kind];
        const time = Math.floor(a.timeUs / 1000);
        const peerIp = `10.250.${(k >>> 8) & 255}.${1 + (k % 250)}`;
        const peerMac = `02:00:5e:${((k >>> 16) & 255).toString(16).padStart(2, "0")}:${((k >>> 8) & 255).toString(16).padStart(2, "0")}:${(k & 255).toString(16).padStart(2, "0")}`;
        const dev = { ip: f.ip, mac: f.mac.toLowerCase(), zone: f.ward, role: "consumer" };
        const peer = { ip: peerIp, mac: peerMac, zone: t.inbound ? "Untrusted" : "Internet", role: "other" };
        const [src, dst] = t.inbound ? [peer, dev] : [dev, peer];
        const risk = RISK[a.severity] ?? 5;
        return {
          id: uuidOf("alert", fleet.seed, k),
          type_id: t.typeId,
          type_name: t.typeName,
          name: a.title,
          description: a.description,
          severity: Math.round(risk),
          mac_src: src.mac,
          mac_dst: dst.mac,
          ip_src: src.ip,
          ip_dst: dst.ip,
          risk: drift && k % 2 === 1 ? risk.toFixed(1) : risk,
          protocol: t.protocol,
          src_roles: src.role,
          dst_roles: dst.role,
          time,
          ack: false,
          id_src: src.ip,
          id_dst: dst.ip,
          port_src: t.inbound ? 40_000 + (k % 20_000) : 49_152 + (k % 16_000),
          port_dst: t.inbound ? t.port || 80 : t.port,
          label_src: t.inbound ? null : f.name,
          label_dst: t.inbound ? f.name : null,
          trigger_id: null,
          trigger_type: null,
          appliance_host: `guardian-${f.site.name.toLowerCase().replace(/[^a-z]+/g, "-")}`,
          appliance_ip: "10.200.0.10",
          transport_protocol: t.protocol === "dns" ? "udp" : "tcp",
          is_security: true,
          note: null,
          appliance_site: f.site.name,
          parents: [],
          is_incident: false,
          properties: {
            victims: [f.ip],
            bad_actor: t.inbound ? peerIp : f.ip,
            remediation_target: f.ip,
            base_risk: Math.round(risk),
            is_src_node_learned: !t.inbound,
            is_dst_node_learned: t.inbound,
            ...(a.mitre ? { mitre_attack_for_ics: { technique: a.mitre } } : {}),
          },
          created_time: time,
          record_created_at: time,
          incident_keys: [],
          bpf_filter: `ip host ${src.ip} and ip host ${dst.ip}`,
          closed_time: a.resolved ? time + 60_000 : 0,
          status: a.resolved ? "closed" : "open",
          session_id: null,
          replicated: false,
          capture_device: "",
          threat_name: a.kind === "ransomware_risk" ? "WannaCry" : "",
          sec_profile_visible: true,
          zone_src: src.zone,
          zone_dst: dst.zone,
        };
      },
    },
    node_cves: {
      size: () => (prefix()[fleet.size] as number) ?? 0,
      timeMs: (k) => deviceMs(cveRow(k).device),
      timeFields: ["time", "record_created_at"],
      render: (k, drift) => {
        const { device, j } = cveRow(k);
        const f = fleet.facts(device);
        const cve = f.cves[j] as string;
        const v = cveInfo.get(cve);
        const time = deviceMs(device);
        const { os, firmware } = osOf(f);
        const score = v?.score ?? 5;
        return {
          id: uuidOf("node_cve", fleet.seed, device, cve),
          cve,
          cve_score: drift && k % 2 === 1 ? String(score) : score,
          time,
          minimum_hotfix: null,
          latest_hotfix: null,
          matching_cpes: [
            `cpe:/h:${f.manufacturer.toLowerCase().replace(/[^a-z0-9]+/g, "_")}:${f.model.toLowerCase().replace(/[^a-z0-9]+/g, "_")}:-`,
          ],
          cve_summary: v?.description ?? "",
          references: [
            {
              url: `https://www.cve.org/CVERecord?id=${cve}`,
              name: cve,
              source: "cve.org",
              reference_type: "Third Party Advisory",
            },
          ],
          is_kev: v ? v.kevDue !== null : false,
          cve_creation_time: v ? Date.parse(`${v.published}T00:00:00Z`) : null,
          cve_update_time: v ? Date.parse(`${v.published}T00:00:00Z`) + 86_400_000 : null,
          cve_source: "cve@mitre.org",
          probability: f.vulnerable ? "Confirmed" : "Likely",
          likelihood: f.vulnerable ? 1 : 0.6,
          resolved: false,
          nodes: [f.ip],
          zones: [f.ward],
          name: f.name,
          type: assetType(f),
          vendor: f.manufacturer,
          product_name: f.model,
          firmware_version: firmware,
          os,
          record_created_at: time,
          cve_epss_score: v?.epssScore ?? null,
          asset_id: f.uid,
          appliance_host: `guardian-${f.site.name.toLowerCase().replace(/[^a-z]+/g, "-")}`,
        };
      },
    },
  };

  /** First row of `t` whose time is at or after `ms`. */
  const firstAtOrAfter = (t: Table, ms: number): number => {
    let lo = 0;
    let hi = t.size();
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (t.timeMs(mid) < ms) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  function runQuery(raw: string, params: URLSearchParams): string {
    const parts = raw.split("|").map((s) => s.trim());
    const tableName = parts[0] ?? "";
    const t = tables[tableName];
    if (!t)
      return JSON.stringify({
        result: [],
        header: [],
        error: `Unknown data source '${tableName}'`,
        total: 0,
      });
    let from = 0;
    let to = t.size();
    let head = Number.POSITIVE_INFINITY;
    for (const clause of parts.slice(1)) {
      let m = /^where\s+([a-z_]+)\s*(>=|>|==)\s*(\d+)$/.exec(clause);
      if (m) {
        if (!t.timeFields.includes(m[1] as string))
          return JSON.stringify({
            result: [],
            header: [],
            error: `Filtering on ${m[1]} is not supported by the simulator`,
            total: 0,
          });
        const ms = Number(m[3]);
        if (m[2] === ">=") from = Math.max(from, firstAtOrAfter(t, ms));
        else if (m[2] === ">") from = Math.max(from, firstAtOrAfter(t, ms + 1));
        else {
          from = Math.max(from, firstAtOrAfter(t, ms));
          to = Math.min(to, firstAtOrAfter(t, ms + 1));
        }
        continue;
      }
      m = /^sort\s+([a-z_]+)(?:\s+(asc|desc))?$/.exec(clause);
      if (m) {
        if (!t.timeFields.includes(m[1] as string) || m[2] === "desc")
          return JSON.stringify({
            result: [],
            header: [],
            error: `Sorting on ${m[1]} ${m[2] ?? ""} is not supported by the simulator`,
            total: 0,
          });
        continue;
      }
      m = /^head\s+(\d+)$/.exec(clause);
      if (m) {
        head = Math.min(head, Number(m[1]));
        continue;
      }
      return JSON.stringify({ result: [], header: [], error: `Invalid query: ${clause}`, total: 0 });
    }
    const page = intParam(params, "page", 1, 1, MAX_PAGE);
    const count = intParam(params, "count", MAX_COUNT, 1, MAX_COUNT);
    to = Math.min(to, from + head);
    const start = Math.min(to, from + (page - 1) * count);
    const stop = Math.min(to, start + count);
    const drift = failures.typeDrift === true;
    const rows: string[] = [];
    let header: string[] = [];
    for (let k = start; k < stop; k++) {
      const row = t.render(k, drift);
      if (k === start) header = Object.keys(row);
      rows.push(JSON.stringify(row));
    }
    const total = params.get("skip_total_count") === "true" ? 0 : Math.max(0, to - from);
    return `{"result":[${rows.join(",")}],"header":${JSON.stringify(header)},"total":${total},"error":null}`;
  }

  function signIn(body: string): [number, string, Record<string, string>?] {
    if (failures.signInUnavailable) {
      fail("sign_in_unavailable");
      return [404, JSON.stringify({ error: "Not Found" })];
    }
    let given: { key_name?: unknown; key_token?: unknown } = {};
    try {
      given = JSON.parse(body || "{}");
    } catch {
      return [400, JSON.stringify({ error: "Request body is not valid JSON" })];
    }
    if (failures.invalidCredentials || given.key_name !== keyName || given.key_token !== keyToken) {
      fail("invalid_credentials");
      return [401, JSON.stringify({ error: "Invalid key name or token" })];
    }
    const now = Date.now();
    const expiresAt = now + (failures.tokenTtlMs ?? 30 * 60_000);
    const jwt = `${b64url({ alg: "HS256", typ: "JWT" })}.${b64url({ sub: keyName, iat: Math.floor(now / 1000), exp: expiresAt / 1000, jti: randomBytes(8).toString("hex") })}.${randomBytes(16).toString("base64url")}`;
    tokens.set(jwt, { requests: 0, expiresAt });
    stats.tokensIssued++;
    return [200, "", { authorization: `Bearer ${jwt}` }];
  }

  function authorize(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? "";
    if (header.startsWith("Basic ")) {
      const [user, ...rest] = Buffer.from(header.slice(6), "base64").toString("utf8").split(":");
      return !failures.invalidCredentials && user === keyName && rest.join(":") === keyToken;
    }
    const jwt = header.replace(/^Bearer\s+/, "");
    const t = tokens.get(jwt);
    if (!t) return false;
    t.requests++;
    const max = failures.tokenMaxRequests;
    if (Date.now() >= t.expiresAt || (max !== undefined && t.requests > max)) {
      tokens.delete(jwt);
      return false;
    }
    return true;
  }

  function query(req: IncomingMessage, params: URLSearchParams): [number, string, Record<string, string>?] {
    const n = ++stats.queriesSinceFailures;
    if (req.method !== "GET") return [405, JSON.stringify({ error: "Method not allowed" })];
    if (!authorize(req)) {
      fail("unauthorized");
      return [401, JSON.stringify({ error: "Unauthorized" })];
    }
    const injected = injectedFault(n, failures, stats, error, [503, "Service temporarily unavailable"]);
    if (injected) return injected;
    const body = runQuery(params.get("query") ?? "", params);
    return [200, maybeMalformed(n, failures, stats, body)];
  }

  const handle = monitorHandler({
    route: ({ req, url, path, body }) => {
      if (path === "/api/open/sign_in" && req.method === "POST") return signIn(body);
      if (path === "/api/open/query/do") return query(req, url.searchParams);
      return [404, error(404, `Not found: ${path}`)];
    },
    onError: (e) => [
      e instanceof HttpProblem ? e.status : 500,
      error(500, e instanceof Error ? e.message : String(e)),
    ],
    entry: ({ req, url, path, at }, status) => ({
      method: req.method ?? "",
      path,
      query: Object.fromEntries(url.searchParams),
      status,
      at,
      auth: (req.headers.authorization ?? "").split(" ")[0] ?? "",
    }),
    stats: () => stats,
    delayMs: () => failures.delayMs,
  });

  const server = jsonServer(handle, (error) => ({ error: String(error) }));
  const listening = await listen(server, options.port, options.host);
  return {
    url: listening.url,
    keyName,
    keyToken,
    fleet,
    stats,
    tableSize: (table) => tables[table]?.size() ?? 0,
    row: (table, index) => {
      const t = tables[table];
      if (!t) throw new RangeError(`unknown table ${table}`);
      return t.render(index, false);
    },
    setFailures(next) {
      failures = { ...next };
      stats.queriesSinceFailures = 0;
    },
    resetStats() {
      stats.requests = {};
      stats.queriesSinceFailures = 0;
      stats.tokensIssued = 0;
      stats.failures = {};
      stats.recent = [];
    },
    stop: listening.stop,
  };
}

function intParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = query.get(name);
  if (raw === null || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new HttpProblem(422, `${name} must be an integer between ${min} and ${max}`);
  return n;
}
