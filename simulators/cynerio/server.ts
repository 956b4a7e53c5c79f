/**
 * A simulated Cynerio account on loopback: an OAuth 2.0 client-credentials token endpoint (the
 * portal-login host) and the asset list (the API host), both on one port. Cynerio's API paths and
 * paging are NOT public (monitors.md §4); this simulator serves exactly what the connector's
 * default settings assume: `POST /oauth/token` (form body, client authentication by HTTP Basic or
 * form fields, `{access_token, token_type: "Bearer", expires_in}`) and
 * `GET /api/v1/assets?page=1&page_size=N&last_seen_from=<epoch s>&sort=last_seen&fields=…` →
 * `{assets: [...], page, page_size, total}`, ordered by `last_seen` then device, `last_seen_from`
 * inclusive (whole seconds). Events are pushed, see `push.ts`.
 *
 * Failure modes are switchable at construction and at runtime (`setFailures`).
 */

import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Fleet } from "../fleet/fleet.ts";
import { jsonServer, listen, sendJson } from "../loopback.ts";
import { type FleetChoice, simulatorFleet } from "../monitor-shell.ts";
import { cynerioAsset } from "./records.ts";

/** Injected failures. Request numbers count asset requests since the failures were last set, from 1. */
export interface CynerioFailures {
  /** The token endpoint answers 401 `invalid_client`. @defaultValue false */
  invalidClient?: boolean;
  /** A token stops working (401) after this many asset requests. @defaultValue unlimited */
  tokenMaxRequests?: number;
  /** Token lifetime in seconds (`expires_in`). @defaultValue 3600 */
  tokenTtlSeconds?: number;
  /** Every Nth asset request answers 429 with `Retry-After`. @defaultValue never */
  rateLimitEvery?: number;
  /** `Retry-After` of those 429s, in seconds. @defaultValue 1 */
  retryAfterSeconds?: number;
  /** Every Nth asset request answers 503 with a JSON error. @defaultValue never */
  serverErrorEvery?: number;
  /** These asset requests answer 200 with a truncated JSON body. @defaultValue none */
  malformedJsonOn?: number[];
  /** These asset requests answer 200 with JSON whose `assets` is not an array. @defaultValue none */
  wrongShapeOn?: number[];
  /** These asset requests answer the given status with a JSON vendor message. @defaultValue none */
  statusOn?: Array<{ request: number; status: number; message: string }>;
  /** Every other asset carries type drift (string times, `phi: "Yes"`, list IP, string VLAN). @defaultValue false */
  typeDrift?: boolean;
}

export interface CynerioSimulatorOptions extends FleetChoice {
  /** Accepted client id. @defaultValue "medsoc-sim" */
  clientId?: string;
  /** Accepted client secret. @defaultValue random */
  clientSecret?: string;
  /** Largest page size served (larger requests are clamped). @defaultValue 1000 */
  maxPageSize?: number;
  failures?: CynerioFailures;
}

export interface CynerioSimulatorStats {
  tokensIssued: number;
  /** Token requests by client authentication method. */
  tokenAuth: { basic: number; body: number };
  assetRequests: number;
  failures: Record<string, number>;
  /** The last 1000 asset requests, oldest first. */
  recent: Array<{ query: Record<string, string>; status: number }>;
}

export interface CynerioSimulator {
  /** API URL (the connector's `baseUrl`). */
  url: string;
  /** Token endpoint (the connector's `tokenUrl`). */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  fleet: Fleet;
  stats: CynerioSimulatorStats;
  setFailures(failures: CynerioFailures): void;
  resetStats(): void;
  stop(): Promise<void>;
}

const ASSETS_PATH = "/api/v1/assets";
const TOKEN_PATH = "/oauth/token";

/** Starts the simulated Cynerio account. */
export async function startCynerioSimulator(
  options: CynerioSimulatorOptions = {},
): Promise<CynerioSimulator> {
  const fleet = simulatorFleet(options);
  const clientId = options.clientId ?? "medsoc-sim";
  const clientSecret = options.clientSecret ?? `cs-${randomBytes(12).toString("hex")}`;
  const maxPageSize = options.maxPageSize ?? 1000;
  let failures: CynerioFailures = { ...options.failures };
  let requestNo = 0;
  const tokens = new Map<string, { expiresAt: number; requests: number }>();
  const stats: CynerioSimulatorStats = {
    tokensIssued: 0,
    tokenAuth: { basic: 0, body: 0 },
    assetRequests: 0,
    failures: {},
    recent: [],
  };
  const fail = (kind: string) => {
    stats.failures[kind] = (stats.failures[kind] ?? 0) + 1;
  };
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    [status, JSON.stringify(body), headers] as const;

  function token(req: IncomingMessage, body: string) {
    if (req.method !== "POST")
      return json(405, { error: "invalid_request", error_description: "POST required" });
    if (!String(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded"))
      return json(400, { error: "invalid_request", error_description: "form body required" });
    const form = new URLSearchParams(body);
    if (form.get("grant_type") !== "client_credentials")
      return json(400, { error: "unsupported_grant_type", error_description: "only client_credentials" });
    let id = form.get("client_id");
    let secret = form.get("client_secret");
    const auth = req.headers.authorization;
    if (auth?.startsWith("Basic ")) {
      const [u, ...p] = Buffer.from(auth.slice(6), "base64").toString("utf8").split(":");
      id = decodeURIComponent(u ?? "");
      secret = decodeURIComponent(p.join(":"));
      stats.tokenAuth.basic++;
    } else stats.tokenAuth.body++;
    if (failures.invalidClient || id !== clientId || secret !== clientSecret) {
      fail("invalid_client");
      return json(401, { error: "invalid_client", error_description: "Client authentication failed" });
    }
    const value = randomBytes(24).toString("base64url");
    const ttl = failures.tokenTtlSeconds ?? 3600;
    tokens.set(value, { expiresAt: Date.now() + ttl * 1000, requests: 0 });
    stats.tokensIssued++;
    return json(200, { access_token: value, token_type: "Bearer", expires_in: ttl, scope: "assets:read" });
  }

  function assets(req: IncomingMessage, query: URLSearchParams) {
    const n = ++requestNo;
    stats.assetRequests++;
    if (req.method !== "GET") return json(405, { error: "method_not_allowed", message: "GET required" });
    const auth = req.headers.authorization ?? "";
    const t = auth.startsWith("Bearer ") ? tokens.get(auth.slice(7)) : undefined;
    if (t) t.requests++;
    if (
      !t ||
      Date.now() >= t.expiresAt ||
      (failures.tokenMaxRequests !== undefined && t.requests > failures.tokenMaxRequests)
    ) {
      fail("unauthorized");
      return json(401, { error: "invalid_token", message: "The access token expired or is invalid" });
    }
    const forced = failures.statusOn?.find((s) => s.request === n);
    if (forced) {
      fail(`status_${forced.status}`);
      return json(forced.status, { error: "request_failed", message: forced.message });
    }
    if (failures.rateLimitEvery && n % failures.rateLimitEvery === 0) {
      fail("rate_limited");
      return json(
        429,
        { error: "rate_limited", message: "Too many requests" },
        { "retry-after": String(failures.retryAfterSeconds ?? 1) },
      );
    }
    if (failures.serverErrorEvery && n % failures.serverErrorEvery === 0) {
      fail("server_error");
      return json(503, { error: "unavailable", message: "Service temporarily unavailable" });
    }
    const page = Number(query.get("page") ?? "1");
    const pageSize = Math.min(maxPageSize, Number(query.get("page_size") ?? "100"));
    if (!Number.isInteger(page) || page < 1 || !Number.isInteger(pageSize) || pageSize < 1)
      return json(400, { error: "invalid_request", message: "page must be >= 1 and page_size >= 1" });
    const sort = query.get("sort");
    if (sort !== null && sort !== "last_seen")
      return json(400, { error: "invalid_request", message: `cannot sort by ${sort}` });
    const sinceRaw = query.get("last_seen_from");
    const since = sinceRaw === null ? 0 : Number(sinceRaw);
    if (!Number.isFinite(since))
      return json(400, { error: "invalid_request", message: "last_seen_from must be epoch seconds" });
    const first = sinceRaw === null ? 0 : fleet.firstDeviceAtOrAfter(since * 1_000_000);
    const total = fleet.size - first;
    const start = first + (page - 1) * pageSize;
    const stop = Math.min(fleet.size, start + pageSize);
    const fields = query.get("fields")?.split(",");
    const items: unknown[] = [];
    for (let i = start; i < stop; i++) {
      const full = cynerioAsset(
        fleet.facts(i),
        failures.typeDrift === true && i % 2 === 1,
      ) as unknown as Record<string, unknown>;
      items.push(fields ? pick(full, fields) : full);
    }
    let text = JSON.stringify({ assets: items, page, page_size: pageSize, total });
    if (failures.wrongShapeOn?.includes(n)) {
      fail("wrong_shape");
      text = JSON.stringify({ assets: { error: "partial result" }, page, page_size: pageSize, total });
    }
    if (failures.malformedJsonOn?.includes(n)) {
      fail("malformed_json");
      text = text.slice(0, Math.max(1, Math.floor(text.length / 2)));
    }
    return [200, text, {}] as const;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://simulator");
    let answer: readonly [number, string, Record<string, string>];
    if (url.pathname === TOKEN_PATH) answer = token(req, body);
    else if (url.pathname === ASSETS_PATH) {
      answer = assets(req, url.searchParams);
      stats.recent.push({ query: Object.fromEntries(url.searchParams), status: answer[0] });
      if (stats.recent.length > 1000) stats.recent.shift();
    } else answer = json(404, { error: "not_found", message: `Not found: ${url.pathname}` });
    const [status, text, headers] = answer;
    sendJson(res, status, text, headers);
  }

  const server = jsonServer(handle, (error) => ({ error: "server_error", message: String(error) }));
  const listening = await listen(server, options.port, options.host);
  const url = listening.url;
  return {
    url,
    tokenUrl: `${url}${TOKEN_PATH}`,
    clientId,
    clientSecret,
    fleet,
    stats,
    setFailures(next) {
      failures = { ...next };
      requestNo = 0;
    },
    resetStats() {
      stats.tokensIssued = 0;
      stats.tokenAuth = { basic: 0, body: 0 };
      stats.assetRequests = 0;
      stats.failures = {};
      stats.recent = [];
    },
    stop: listening.stop,
  };
}

/** The requested fields of an asset; dotted names (`network.vlan`) select nested members. */
function pick(asset: Record<string, unknown>, fields: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const [head, sub] = field.split(".", 2) as [string, string | undefined];
    const v = asset[head];
    if (v === undefined) continue;
    if (sub === undefined) out[head] = v;
    else if (v !== null && typeof v === "object") {
      if (out[head] === undefined) out[head] = {};
      const target = out[head] as Record<string, unknown>;
      const inner = (v as Record<string, unknown>)[sub];
      if (inner !== undefined) target[sub] = inner;
    }
  }
  return out;
}
