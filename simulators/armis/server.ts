/**
 * A simulated Armis Centrix tenant on loopback, faithful to the documented shapes
 * (`../shared/reference/monitors.md` §3, `data/vendors/armis/`): token endpoint, `GET /api/v1/search/`
 * for `in:devices`, `in:alerts` and `in:vulnerabilities`, and `GET /api/v1/vulnerability-match/`.
 * Records come from a streamed {@link Fleet}: a page is computed from its offsets, never stored.
 *
 * AQL subset: `in:<devices|alerts|vulnerabilities>` optionally followed by `after:<YYYY-MM-DDTHH:MM:SS>`.
 * `after:` is read the harshest way the reference allows: whole seconds, strictly after (a record at
 * 02:02:09.5 is NOT after `02:02:09`), so a client that does not re-read the boundary second loses data.
 *
 * Failure modes are switchable at construction and at runtime (`setFailures`), for the connector's
 * one-test-per-failure-mode suite.
 */

import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Fleet } from "../fleet/fleet.ts";
import { jsonServer, listen } from "../loopback.ts";
import {
  countFailure,
  type FaultModes,
  type FleetChoice,
  HttpProblem,
  injectedFault,
  maybeMalformed,
  monitorHandler,
  type Reply,
  simulatorFleet,
} from "../monitor-shell.ts";
import { ArmisRecords } from "./records.ts";

/** Injected failures. Request numbers count API requests (search and vulnerability-match, not the
 * token endpoint) since the failures were last set, starting at 1. */
export interface ArmisFailures extends Omit<FaultModes, "serverErrorOn"> {
  /** The token endpoint answers 401 (a wrong or revoked secret key). @defaultValue false */
  invalidSecret?: boolean;
  /** A token stops working (401) after this many API requests; `0` refuses every token. @defaultValue unlimited */
  tokenMaxRequests?: number;
  /** A token expires this many milliseconds after it was issued; `expiration_utc` says so. @defaultValue 1 hour */
  tokenTtlMs?: number;
}

export interface ArmisSimulatorOptions extends FleetChoice {
  /** The API secret key the token endpoint accepts. @defaultValue random */
  secret?: string;
  /** Initial failure modes. @defaultValue none */
  failures?: ArmisFailures;
}

/** Request counters for assertions. */
export interface ArmisSimulatorStats {
  /** Requests per path (`/api/v1/search/`, …), failed ones included. */
  requests: Record<string, number>;
  /** API requests (search and vulnerability-match) since the failures were last set. */
  apiRequestsSinceFailures: number;
  tokensIssued: number;
  /** Injected or natural failures by kind (`unauthorized`, `rate_limited`, `server_error`, …). */
  failures: Record<string, number>;
  /** The last 1000 requests, oldest first; `at` is when the request arrived (epoch ms). */
  recent: Array<{ method: string; path: string; query: Record<string, string>; status: number; at: number }>;
}

export interface ArmisSimulator {
  /** Base URL, `http://127.0.0.1:<port>` (the connector appends `/api/v1/...`). */
  url: string;
  /** The secret key the token endpoint accepts. */
  secret: string;
  fleet: Fleet;
  /** The fleet in Armis's shapes (what the API serves). */
  records: ArmisRecords;
  stats: ArmisSimulatorStats;
  /** Replaces the failure modes and restarts the request count they refer to. */
  setFailures(failures: ArmisFailures): void;
  /** Zeroes the counters. */
  resetStats(): void;
  stop(): Promise<void>;
}

const API = "/api/v1";
const MAX_LENGTH = 10_000;
const KINDS = {
  devices: "lastSeen",
  alerts: "time",
  vulnerabilities: "lastDetected",
} as const;
type Kind = keyof typeof KINDS;

const AQL_RE = /^\s*in:(devices|alerts|vulnerabilities)(?:\s+after:(\S+))?\s*$/;
const AFTER_RE = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

/** Armis's error body. */
const error = (_status: number, message: string) => JSON.stringify({ message, success: false });

function isoMicrosToUs(value: string): number {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(.*)$/.exec(value);
  if (!m) return Number.NaN;
  return Date.parse(`${m[1]}${m[3] || "Z"}`) * 1000 + Number((m[2] ?? "").padEnd(6, "0").slice(0, 6));
}

/** Lower bound (inclusive, epoch µs) of an AQL `after:` value: the next whole second. */
function afterLowerBoundUs(after: string): number {
  const m = AFTER_RE.exec(after);
  if (!m) throw new HttpProblem(400, `Invalid AQL: cannot parse after:${after}`);
  const sec = Date.parse(`${m[1]}T${m[2]}${m[3] ?? "Z"}`);
  if (Number.isNaN(sec)) throw new HttpProblem(400, `Invalid AQL: cannot parse after:${after}`);
  return (sec + 1000) * 1000;
}

function intParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = query.get(name);
  if (raw === null || raw === "" || raw === "null") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new HttpProblem(400, `${name} must be an integer between ${min} and ${max}`);
  return n;
}

/** Starts the simulated tenant. */
export async function startArmisSimulator(options: ArmisSimulatorOptions = {}): Promise<ArmisSimulator> {
  const fleet = simulatorFleet(options);
  const secret = options.secret ?? `sim-${randomBytes(12).toString("hex")}`;
  let failures: ArmisFailures = { ...options.failures };
  const tokens = new Map<string, { issuedAt: number; requests: number; expiresAt: number }>();
  const stats: ArmisSimulatorStats = {
    requests: {},
    apiRequestsSinceFailures: 0,
    tokensIssued: 0,
    failures: {},
    recent: [],
  };
  const records = new ArmisRecords(fleet);
  const vulnerabilities = records.vulnerabilities().map((v) => ({ v, us: isoMicrosToUs(v.lastDetected) }));
  const vulnerabilityJson = vulnerabilities.map(({ v }) => JSON.stringify(v));

  function token(req: IncomingMessage, body: string, query: URLSearchParams): [number, string] {
    let given = query.get("secret_key") ?? undefined;
    if (body) {
      try {
        const parsed = JSON.parse(body) as { secret_key?: unknown };
        if (typeof parsed.secret_key === "string") given = parsed.secret_key;
      } catch {
        return [400, JSON.stringify({ message: "Request body is not valid JSON", success: false })];
      }
    }
    if (req.method !== "POST")
      return [405, JSON.stringify({ message: "Method not allowed", success: false })];
    if (failures.invalidSecret || given !== secret) {
      countFailure(stats, "invalid_secret");
      return [401, JSON.stringify({ message: "Invalid secret key", success: false })];
    }
    const now = Date.now();
    const value = randomBytes(24).toString("hex");
    const expiresAt = now + (failures.tokenTtlMs ?? 3_600_000);
    tokens.set(value, { issuedAt: now, requests: 0, expiresAt });
    if (tokens.size > 10_000) tokens.delete(tokens.keys().next().value as string);
    stats.tokensIssued++;
    const expiration = `${new Date(expiresAt).toISOString().slice(0, 23)}000+00:00`;
    return [
      200,
      JSON.stringify({ data: { access_token: value, expiration_utc: expiration }, success: true }),
    ];
  }

  function authorize(req: IncomingMessage): boolean {
    const value = req.headers.authorization;
    const t = value ? tokens.get(value) : undefined;
    if (!t || !value) return false;
    t.requests++;
    const max = failures.tokenMaxRequests;
    if (Date.now() >= t.expiresAt || (max !== undefined && t.requests > max)) {
      tokens.delete(value);
      return false;
    }
    return true;
  }

  function search(query: URLSearchParams): string {
    const aql = query.get("aql") ?? "";
    const m = AQL_RE.exec(aql);
    if (!m) throw new HttpProblem(400, `Invalid AQL: ${aql}`);
    const kind = m[1] as Kind;
    const orderBy = query.get("orderBy");
    if (orderBy && orderBy !== KINDS[kind])
      throw new HttpProblem(400, `Unsupported orderBy ${orderBy} for in:${kind}; use ${KINDS[kind]}`);
    const from = intParam(query, "from", 0, 0, Number.MAX_SAFE_INTEGER);
    const length = intParam(query, "length", 100, 1, MAX_LENGTH);
    const lower = m[2] === undefined ? Number.NEGATIVE_INFINITY : afterLowerBoundUs(m[2]);
    let first: number;
    let end: number;
    let item: (k: number) => string;
    if (kind === "devices") {
      first = lower === Number.NEGATIVE_INFINITY ? 0 : fleet.firstDeviceAtOrAfter(lower);
      end = fleet.size;
      item = (k) => records.deviceJson(k);
    } else if (kind === "alerts") {
      first = lower === Number.NEGATIVE_INFINITY ? 0 : fleet.firstAlertAtOrAfter(lower);
      end = fleet.alertCount;
      item = (k) => JSON.stringify(records.alert(k));
    } else {
      first = vulnerabilities.findIndex((x) => x.us >= lower);
      if (first < 0) first = vulnerabilities.length;
      end = vulnerabilities.length;
      item = (k) => vulnerabilityJson[k] as string;
    }
    const total = end - first;
    const start = Math.min(end, first + from);
    const stop = Math.min(end, start + length);
    const count = stop - start;
    const next = from + count < total ? from + count : null;
    const prev = from > 0 ? Math.max(0, from - length) : null;
    let results = "";
    for (let k = start; k < stop; k++) results += k === start ? item(k) : `,${item(k)}`;
    return `{"data":{"count":${count},"next":${next},"prev":${prev},"results":[${results}],"total":${total}},"success":true}`;
  }

  function vulnerabilityMatch(query: URLSearchParams): string {
    const ids = (query.get("vulnerability_ids") ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (ids.length === 0) throw new HttpProblem(400, "vulnerability_ids is required");
    const from = intParam(query, "from", 0, 0, Number.MAX_SAFE_INTEGER);
    const length = intParam(query, "length", 100, 1, MAX_LENGTH);
    const counts = ids.map((id) => fleet.matchCount(id));
    const total = counts.reduce((a, b) => a + b, 0);
    const stop = Math.min(total, from + length);
    const sample: string[] = [];
    let base = 0;
    let idx = 0;
    for (let k = from; k < stop; k++) {
      while (k - base >= (counts[idx] as number)) base += counts[idx++] as number;
      sample.push(JSON.stringify(records.match(ids[idx] as string, k - base)));
    }
    const next = stop < total ? stop : null;
    const prev = from > 0 ? Math.max(0, from - length) : null;
    return `{"data":{"paging":{"from":${from},"length":${length},"next":${next},"prev":${prev},"to":${Math.max(from, stop)},"total":${total}},"sample":[${sample.join(",")}]},"success":true}`;
  }

  /** Decides the answer to one API request; returns status, body and extra headers. */
  function api(req: IncomingMessage, path: string, query: URLSearchParams): Reply {
    const n = ++stats.apiRequestsSinceFailures;
    if (req.method !== "GET") return [405, error(405, "Method not allowed")];
    if (!authorize(req)) {
      countFailure(stats, "unauthorized");
      return [401, error(401, "Invalid access token")];
    }
    const injected = injectedFault(n, failures, stats, error);
    if (injected) return injected;
    const body = path === `${API}/search/` ? search(query) : vulnerabilityMatch(query);
    return [200, maybeMalformed(n, failures, stats, body)];
  }

  const handle = monitorHandler({
    path: (url) => (url.pathname.endsWith("/") ? url.pathname : `${url.pathname}/`),
    route: ({ req, url, path, body }) => {
      if (path === `${API}/access_token/`) return token(req, body, url.searchParams);
      if (path === `${API}/search/` || path === `${API}/vulnerability-match/`)
        return api(req, path, url.searchParams);
      return [404, error(404, `Not found: ${url.pathname}`)];
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
    }),
    stats: () => stats,
    delayMs: () => failures.delayMs,
  });

  const server = jsonServer(handle, (error) => ({ message: String(error), success: false }));
  const listening = await listen(server, options.port, options.host);

  return {
    url: listening.url,
    secret,
    fleet,
    records,
    stats,
    setFailures(next: ArmisFailures) {
      failures = { ...next };
      stats.apiRequestsSinceFailures = 0;
    },
    resetStats() {
      stats.requests = {};
      stats.apiRequestsSinceFailures = 0;
      stats.tokensIssued = 0;
      stats.failures = {};
      stats.recent = [];
    },
    stop: listening.stop,
  };
}
