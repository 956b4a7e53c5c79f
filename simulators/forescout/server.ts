/**
 * A simulated Forescout eyeSight Enterprise Manager on loopback, in the shapes of the Web API as
 * XSOAR's `Packs/Forescout` uses it (monitors.md §6): `POST /api/login` (form fields; the body is
 * the JWT, about 5 minutes), `GET /api/hosts` (`{hosts:[{hostId, ip, mac}]}`), `GET /api/hosts/{id}`,
 * `/api/hosts/ip/{ip}` and `/api/hosts/mac/{mac}` with `?fields=` (`{host:{id, ip, mac, fields}}`,
 * each property `{value, timestamp}` or a list of them). Hosts are the shared {@link Fleet}'s
 * devices (`facts(i)`): same MAC, IP and name as every other monitor; `hostId` is the IPv4 address
 * as an integer, as Forescout numbers hosts.
 *
 * The push form: {@link forescoutPushedHost} renders the record eyeExtend Connect writes for a
 * host (flat, `timestamp` without a zone, placeholders for unresolved properties, as in Elastic's
 * `forescout.host` fixture), and {@link pushForescoutHosts} POSTs the fleet's hosts in that shape
 * to medsoc's HTTP push receiver. A host pushed and the same host pulled map to the same document.
 *
 * Failure modes are switchable at construction and at runtime (`setFailures`).
 */

import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { DeviceFacts, Fleet } from "../fleet/fleet.ts";
import type { PushTargets } from "../hospital.ts";
import { jsonServer, listen } from "../loopback.ts";
import {
  type FaultModes,
  type FleetChoice,
  injectedFault,
  maybeMalformed,
  monitorHandler,
  type Reply,
  simulatorFleet,
} from "../monitor-shell.ts";

/** Injected failures. Request numbers count API requests (not logins) since the failures were last set, from 1. */
export interface ForescoutFailures extends Omit<FaultModes, "htmlBadGatewayOn" | "serverErrorOn"> {
  /** The login answers 401. @defaultValue false */
  invalidCredentials?: boolean;
  /** A JWT stops working (401) after this many API requests; `0` refuses every token. @defaultValue unlimited */
  tokenMaxRequests?: number;
  /** JWT lifetime in milliseconds (its `exp` says so). @defaultValue 5 minutes */
  tokenTtlMs?: number;
  /** Every Nth API request answers 500. @defaultValue never */
  serverErrorEvery?: number;
  /** Device indexes listed by `/api/hosts` whose detail answers 404 (deleted in between). @defaultValue none */
  goneHosts?: number[];
  /**
   * Type drift: `hostId` a string on every other host, property timestamps as numeric strings and
   * `online` a boolean on every third. @defaultValue false
   */
  typeDrift?: boolean;
}

export interface ForescoutSimulatorOptions extends FleetChoice {
  /** Web API user. @defaultValue "medsoc" */
  username?: string;
  /** Web API password. @defaultValue random */
  password?: string;
  failures?: ForescoutFailures;
}

export interface ForescoutSimulatorStats {
  requests: Record<string, number>;
  apiRequestsSinceFailures: number;
  logins: number;
  failures: Record<string, number>;
  recent: Array<{ method: string; path: string; query: Record<string, string>; status: number; at: number }>;
}

export interface ForescoutSimulator {
  url: string;
  username: string;
  password: string;
  fleet: Fleet;
  stats: ForescoutSimulatorStats;
  /** The pulled `host` record of device `i` (all properties, no drift). */
  pulledHost(i: number): Record<string, unknown>;
  /** The pushed record of device `i`. */
  pushedHost(i: number): Record<string, unknown>;
  /** Sets the time of every property of device `i` (seconds) so a poll sees it as changed. */
  touch(i: number, epochSeconds: number): void;
  setFailures(failures: ForescoutFailures): void;
  resetStats(): void;
  stop(): Promise<void>;
}

/** `hostId` of a fleet device: its IPv4 address as an unsigned integer. */
export function forescoutHostId(f: DeviceFacts): number {
  return f.ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

/** Device index of a simulated IPv4 address (`10.a.b.c`), inverse of the fleet's addressing. */
function indexOfIp(ip: string): number | undefined {
  const m = /^10\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (!m) return undefined;
  return Number(m[1]) * 62_500 + Number(m[2]) * 250 + Number(m[3]) - 1;
}

interface Property {
  name: string;
  value: string | string[];
  /** Seconds before the host's time at which the property was last resolved. */
  age: number;
}

/** The resolved properties of a device (what Forescout knows about it). */
function properties(f: DeviceFacts): Property[] {
  const windows = f.operatingSystem === "Windows";
  const out: Property[] = [
    { name: "hostname", value: f.name.toLowerCase(), age: 0 },
    { name: "os_classification", value: `${f.operatingSystem} ${f.operatingSystemVersion}`, age: 3600 },
    { name: "vendor_classification", value: `${f.manufacturer}/${f.model}`, age: 3600 },
    { name: "prim_classification", value: `${f.category}/${f.vendorType}`, age: 3600 },
    { name: "mac_vendor_string", value: f.manufacturer, age: 86_400 },
    { name: "segment_path", value: `/Segments/${f.site.name}/${f.ward}`, age: 600 },
    { name: "online", value: "true", age: 0 },
    {
      name: "openports",
      value: windows ? ["135/TCP", "445/TCP", "3389/TCP"] : ["80/TCP", "443/TCP"],
      age: 1800,
    },
    { name: "access_ip", value: f.ip, age: 0 },
  ];
  if (windows) out.push({ name: "nbthost", value: f.name.toUpperCase().slice(0, 15), age: 300 });
  if (f.deviceClass === "clinical_workstation")
    out.push({ name: "user", value: f.credential.username, age: 120 });
  return out;
}

/** Properties Forescout could not resolve for a host; the push form sends them as placeholders. */
const UNRESOLVED: Readonly<Record<string, string>> = {
  compliance_state: "N/A",
  guest_corporate_state: "N/A",
  dhcp_server: "Unknown",
  nested_device_id: "Unknown",
  is_behind_nat: "Irresolvable",
  segment_name: "",
};

const naive = (epochSeconds: number) => `${new Date(epochSeconds * 1000).toISOString().slice(0, 19)}.000000`;

/** Host time (seconds) of device `i`: its last-seen second, or the value `touch` set. */
function hostSeconds(fleet: Fleet, i: number, touched: ReadonlyMap<number, number>): number {
  return touched.get(i) ?? Math.floor(fleet.lastSeenUs(i) / 1_000_000);
}

/** The record eyeExtend Connect pushes for device `i` (flat; placeholders kept, as Forescout sends them). */
export function forescoutPushedHost(
  fleet: Fleet,
  i: number,
  touched: ReadonlyMap<number, number> = new Map(),
): Record<string, unknown> {
  const f = fleet.facts(i);
  const seconds = hostSeconds(fleet, i, touched);
  const out: Record<string, unknown> = {
    timestamp: naive(seconds),
    id: forescoutHostId(f),
    ip: f.ip,
    mac: f.mac.replaceAll(":", "").toLowerCase(),
  };
  for (const p of properties(f)) out[p.name] = p.value;
  for (const [name, value] of Object.entries(UNRESOLVED)) out[name] = value;
  if (out.user === undefined) out.user = "Unknown";
  return out;
}

function pulledHost(
  fleet: Fleet,
  i: number,
  touched: ReadonlyMap<number, number>,
  wanted: Set<string> | undefined,
  drift: boolean,
): Record<string, unknown> {
  const f = fleet.facts(i);
  const seconds = hostSeconds(fleet, i, touched);
  const id = forescoutHostId(f);
  const fields: Record<string, unknown> = {};
  for (const p of properties(f)) {
    if (wanted && !wanted.has(p.name)) continue;
    const ts = seconds - (touched.has(i) ? 0 : p.age);
    const stamp = drift && i % 3 === 0 ? String(ts) : ts;
    if (Array.isArray(p.value)) fields[p.name] = p.value.map((value) => ({ timestamp: stamp, value }));
    else if (drift && i % 3 === 0 && p.name === "online") fields[p.name] = { timestamp: stamp, value: true };
    else fields[p.name] = { timestamp: stamp, value: p.value };
  }
  return {
    id: drift && i % 2 === 1 ? String(id) : id,
    ip: f.ip,
    mac: f.mac.replaceAll(":", "").toLowerCase(),
    fields,
  };
}

/** Starts the simulated Enterprise Manager. */
export async function startForescoutSimulator(
  options: ForescoutSimulatorOptions = {},
): Promise<ForescoutSimulator> {
  const fleet = simulatorFleet(options, 500);
  const username = options.username ?? "medsoc";
  const password = options.password ?? `fs-${randomBytes(12).toString("hex")}`;
  let failures: ForescoutFailures = { ...options.failures };
  const tokens = new Map<string, { requests: number; expiresAt: number }>();
  const touched = new Map<number, number>();
  const stats: ForescoutSimulatorStats = {
    requests: {},
    apiRequestsSinceFailures: 0,
    logins: 0,
    failures: {},
    recent: [],
  };
  const fail = (kind: string) => {
    stats.failures[kind] = (stats.failures[kind] ?? 0) + 1;
  };
  const json = (
    status: number,
    body: unknown,
    headers?: Record<string, string>,
  ): [number, string, Record<string, string>] => [
    status,
    JSON.stringify(body),
    { "content-type": status < 300 ? "application/hal+json" : "application/json", ...headers },
  ];

  function login(req: IncomingMessage, body: string): [number, string, Record<string, string>] {
    if (req.method !== "POST") return json(405, { message: "Method not allowed" });
    const form = new URLSearchParams(body);
    if (
      failures.invalidCredentials ||
      form.get("username") !== username ||
      form.get("password") !== password
    ) {
      fail("invalid_credentials");
      return [401, "Unauthorized", { "content-type": "text/plain" }];
    }
    const now = Date.now();
    const expiresAt = now + (failures.tokenTtlMs ?? 300_000);
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const jwt = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: username, iat: Math.floor(now / 1000), exp: expiresAt / 1000, jti: randomBytes(6).toString("hex") })}.${randomBytes(16).toString("base64url")}`;
    tokens.set(jwt, { requests: 0, expiresAt });
    stats.logins++;
    return [200, jwt, { "content-type": "text/plain" }];
  }

  function authorize(req: IncomingMessage): boolean {
    const value = (req.headers.authorization ?? "").replace(/^Bearer\s+/, "");
    const t = tokens.get(value);
    if (!t) return false;
    t.requests++;
    const max = failures.tokenMaxRequests;
    if (Date.now() >= t.expiresAt || (max !== undefined && t.requests > max)) {
      tokens.delete(value);
      return false;
    }
    return true;
  }

  function api(req: IncomingMessage, path: string, query: URLSearchParams): Reply {
    const n = ++stats.apiRequestsSinceFailures;
    if (req.method !== "GET") return json(405, { message: "Method not allowed" });
    if (!authorize(req)) {
      fail("unauthorized");
      return json(401, { message: "Unauthorized. See log for more details." });
    }
    const injected = injectedFault(n, failures, stats, (_, message) => JSON.stringify({ message }), [
      500,
      "Internal server error. See log for more details.",
    ]);
    if (injected) return injected;
    const drift = failures.typeDrift === true;
    let status: number;
    let text: string;
    if (path === "/api/hosts") {
      const hosts: string[] = [];
      for (let i = 0; i < fleet.size; i++) {
        const f = fleet.facts(i);
        const id = forescoutHostId(f);
        hosts.push(
          JSON.stringify({
            hostId: drift && i % 2 === 1 ? String(id) : id,
            ip: f.ip,
            mac: f.mac.replaceAll(":", "").toLowerCase(),
          }),
        );
      }
      [status, text] = [200, `{"hosts":[${hosts.join(",")}],"_links":{"self":{"href":"/api/hosts"}}}`];
    } else {
      const m = /^\/api\/hosts\/(?:(ip|mac)\/)?([^/]+)$/.exec(path);
      let i: number | undefined;
      if (m?.[1] === "ip") i = indexOfIp(decodeURIComponent(m[2] as string));
      else if (m?.[1] === "mac") {
        const want = decodeURIComponent(m[2] as string)
          .toLowerCase()
          .replace(/[^0-9a-f]/g, "");
        for (let k = 0; k < fleet.size && i === undefined; k++)
          if (fleet.facts(k).mac.replaceAll(":", "").toLowerCase() === want) i = k;
      } else if (m) {
        const id = Number(decodeURIComponent(m[2] as string));
        if (Number.isInteger(id))
          i = indexOfIp(`${(id >>> 24) & 255}.${(id >>> 16) & 255}.${(id >>> 8) & 255}.${id & 255}`);
      }
      if (i === undefined || i < 0 || i >= fleet.size || failures.goneHosts?.includes(i)) {
        if (i !== undefined && failures.goneHosts?.includes(i)) fail("gone_host");
        return json(404, { message: `Host not found. See log for more details.` });
      }
      const fieldsParam = query.get("fields");
      const wanted = fieldsParam ? new Set(fieldsParam.split(",").map((s) => s.trim())) : undefined;
      const host = pulledHost(fleet, i, touched, wanted, drift);
      [status, text] = [200, JSON.stringify({ host, _links: { self: { href: path } } })];
    }
    return [status, maybeMalformed(n, failures, stats, text), { "content-type": "application/hal+json" }];
  }

  const handle = monitorHandler({
    path: (url) => url.pathname.replace(/\/+$/, ""),
    route: ({ req, url, path, body }) =>
      path === "/api/login"
        ? login(req, body)
        : path === "/api/hosts" || path.startsWith("/api/hosts/")
          ? api(req, path, url.searchParams)
          : json(404, { message: `Not found: ${path}` }),
    onError: (e) => {
      throw e;
    },
    entry: ({ req, url, path, at }, status) => ({
      method: req.method ?? "",
      path: path.startsWith("/api/hosts/") ? "/api/hosts/{id}" : path,
      query: Object.fromEntries(url.searchParams),
      status,
      at,
    }),
    stats: () => stats,
    delayMs: () => failures.delayMs,
  });

  const server = jsonServer(handle, (error) => ({ message: String(error) }));
  const listening = await listen(server, options.port, options.host);
  return {
    url: listening.url,
    username,
    password,
    fleet,
    stats,
    pulledHost: (i) => pulledHost(fleet, i, touched, undefined, false),
    pushedHost: (i) => forescoutPushedHost(fleet, i, touched),
    touch: (i, seconds) => {
      touched.set(i, seconds);
    },
    setFailures(next) {
      failures = { ...next };
      stats.apiRequestsSinceFailures = 0;
    },
    resetStats() {
      stats.requests = {};
      stats.apiRequestsSinceFailures = 0;
      stats.logins = 0;
      stats.failures = {};
      stats.recent = [];
    },
    stop: listening.stop,
  };
}

export interface ForescoutPushOptions {
  /** Host records per POST. @defaultValue 500 */
  batchSize?: number;
  /** Attempts per POST on 429/503 (Retry-After honoured) and network errors. @defaultValue 5 */
  maxAttempts?: number;
}

/**
 * Pushes every host of the fleet to medsoc's HTTP push receiver in Forescout's push shape:
 * `POST ${targets.httpUrl}/v1/push/forescout/host`, `Authorization: Bearer <httpTokens.forescout>`,
 * body a JSON array of host records. Resolves with the number of records accepted; throws when the
 * receiver refuses a batch for good.
 */
export async function pushForescoutHosts(
  fleet: Fleet,
  targets: PushTargets,
  options: ForescoutPushOptions = {},
): Promise<number> {
  if (!targets.httpUrl) return 0;
  const token = targets.httpTokens?.forescout;
  if (!token) throw new Error("pushing forescout hosts: no HTTP push token for forescout");
  const url = `${targets.httpUrl.replace(/\/+$/, "")}/v1/push/forescout/host`;
  const batchSize = options.batchSize ?? 500;
  const maxAttempts = options.maxAttempts ?? 5;
  let sent = 0;
  for (let start = 0; start < fleet.size; start += batchSize) {
    const batch: Record<string, unknown>[] = [];
    for (let i = start; i < Math.min(fleet.size, start + batchSize); i++)
      batch.push(forescoutPushedHost(fleet, i));
    const body = JSON.stringify(batch);
    for (let attempt = 1; ; attempt++) {
      let res: Response | undefined;
      try {
        res = await fetch(url, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body,
        });
      } catch (error) {
        if (attempt >= maxAttempts)
          throw new Error(
            `pushing forescout hosts ${start}–${start + batch.length - 1}: ${(error as Error).message}`,
          );
      }
      if (res?.ok) {
        await res.arrayBuffer();
        sent += batch.length;
        break;
      }
      const status = res?.status;
      const text = res ? await res.text() : "";
      if (res && status !== 429 && status !== 503 && !(status !== undefined && status >= 500))
        throw new Error(
          `pushing forescout hosts: the receiver answered HTTP ${status}: ${text.slice(0, 200)}`,
        );
      if (attempt >= maxAttempts)
        throw new Error(`pushing forescout hosts: still HTTP ${status} after ${attempt} attempts`);
      const retryAfter = Number(res?.headers.get("retry-after"));
      await new Promise((r) =>
        setTimeout(r, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 200 * attempt),
      );
    }
  }
  return sent;
}
