/**
 * The shell every monitor simulator (`simulators/<vendor>/server.ts`) shares: switchable failure
 * modes injected in one order, request statistics, the response delay, and the request handler that
 * reads a request, routes it, records it and answers. Each simulator keeps its vendor's API, its
 * authentication and its error bodies. Request numbers count API requests since the failures were
 * last set, starting at 1.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createFleet, type Fleet, STEP_US, TIE_GROUP } from "./fleet/fleet.ts";
import { sendJson } from "./loopback.ts";

/** The failure modes {@link injectedFault} applies (each simulator's failures type has a subset). */
export interface FaultModes {
  /** These API requests answer the given status with the vendor's error body. @defaultValue none */
  statusOn?: Array<{ request: number; status: number; message: string }>;
  /** These API requests answer 502 with an HTML body, as a reverse proxy would. @defaultValue none */
  htmlBadGatewayOn?: number[];
  /** Every Nth API request answers 429 with `Retry-After`. @defaultValue never */
  rateLimitEvery?: number;
  /** `Retry-After` of those 429s, in seconds (fractions allowed). @defaultValue 1 */
  retryAfterSeconds?: number;
  /** Every Nth API request answers a server error (500, or the simulator's status) with the vendor's error body. @defaultValue never */
  serverErrorEvery?: number;
  /** These API requests answer 503 with the vendor's error body. @defaultValue none */
  serverErrorOn?: number[];
  /** These API requests answer 200 with a truncated (malformed) JSON body. @defaultValue none */
  malformedJsonOn?: number[];
  /** Delay before every response, in milliseconds. @defaultValue 0 */
  delayMs?: number;
}

/** The failure modes of the static-credential simulators (Claroty xDome, PANW IoT Security). */
export interface MonitorFailures extends Omit<FaultModes, "statusOn"> {
  /** Every API request answers 401 (a revoked token / wrong keys). @defaultValue false */
  revoked?: boolean;
  /** These API requests answer 401 (a transient refusal; the connector retries once). @defaultValue none */
  unauthorizedOn?: number[];
  /**
   * Type drift in the records: numbers as strings, annotated IP addresses, timestamps without
   * microseconds or with `Z`, labels instead of numbers, for every third record. @defaultValue false
   */
  typeDrift?: boolean;
}

/** One request in {@link MonitorSimulatorStats.recent}. */
export interface RecentRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
  /** When the request arrived, epoch ms. */
  at: number;
}

/** Request counters for assertions. */
export interface MonitorSimulatorStats {
  /** Requests per path, failed ones included. */
  requests: Record<string, number>;
  /** API requests since the failures were last set. */
  apiRequestsSinceFailures: number;
  /** Injected failures by kind (`unauthorized`, `rate_limited`, `server_error`, …). */
  failures: Record<string, number>;
  /** The last 1000 requests, oldest first. */
  recent: RecentRequest[];
}

export type Reply = [status: number, body: string, headers?: Record<string, string>];

/** A vendor's error body for a status and a message. */
export type ErrorBody = (status: number, message: string) => string;

/** An error a route throws to answer `status` with the vendor's error body. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const HTML_502 =
  "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

export function emptyStats(): MonitorSimulatorStats {
  return { requests: {}, apiRequestsSinceFailures: 0, failures: {}, recent: [] };
}

/** Counts one injected or natural failure of `kind`. */
export function countFailure(stats: { failures: Record<string, number> }, kind: string): void {
  stats.failures[kind] = (stats.failures[kind] ?? 0) + 1;
}

/**
 * The injected answer to API request `n`, if any, after the simulator has authenticated it: a
 * forced status (`statusOn`), an HTML 502, a 429 with `Retry-After`, a server error, in that order.
 * `error` renders the vendor's error body; `serverError` is the status and message of the
 * `serverErrorEvery` failures (`serverErrorOn` always answers 503 with the same message).
 */
export function injectedFault(
  n: number,
  failures: FaultModes,
  stats: { failures: Record<string, number> },
  error: ErrorBody,
  serverError: readonly [status: number, message: string] = [500, "Internal server error"],
): Reply | undefined {
  const forced = failures.statusOn?.find((s) => s.request === n);
  if (forced) {
    countFailure(stats, `status_${forced.status}`);
    return [forced.status, error(forced.status, forced.message)];
  }
  if (failures.htmlBadGatewayOn?.includes(n)) {
    countFailure(stats, "bad_gateway_html");
    return [502, HTML_502, { "content-type": "text/html" }];
  }
  if (failures.rateLimitEvery && n % failures.rateLimitEvery === 0) {
    countFailure(stats, "rate_limited");
    return [429, error(429, "Too many requests"), { "retry-after": String(failures.retryAfterSeconds ?? 1) }];
  }
  const on = failures.serverErrorOn?.includes(n) === true;
  if ((failures.serverErrorEvery && n % failures.serverErrorEvery === 0) || on) {
    countFailure(stats, "server_error");
    return [on ? 503 : serverError[0], error(serverError[0], serverError[1])];
  }
  return undefined;
}

/**
 * The injected answer to API request `n` of a static-credential simulator: 401 when the
 * credentials are wrong, revoked or refused for this request, else {@link injectedFault}.
 */
export function injectedFailure(
  n: number,
  failures: MonitorFailures,
  authorized: boolean,
  stats: MonitorSimulatorStats,
  error: ErrorBody,
): Reply | undefined {
  if (!authorized || failures.revoked || failures.unauthorizedOn?.includes(n)) {
    countFailure(stats, "unauthorized");
    return [401, error(401, "Unauthorized: invalid or revoked credentials")];
  }
  return injectedFault(n, failures, stats, error);
}

/** Truncates a body when request `n` is to be malformed. */
export function maybeMalformed(
  n: number,
  failures: FaultModes,
  stats: { failures: Record<string, number> },
  body: string,
): string {
  if (!failures.malformedJsonOn?.includes(n)) return body;
  countFailure(stats, "malformed_json");
  return body.slice(0, Math.max(1, Math.floor(body.length / 2)));
}

/** Records one request in the stats ring. */
export function record<E extends { path: string }>(
  stats: { requests: Record<string, number>; recent: E[] },
  entry: E,
  key = entry.path,
): void {
  stats.requests[key] = (stats.requests[key] ?? 0) + 1;
  stats.recent.push(entry);
  if (stats.recent.length > 1000) stats.recent.shift();
}

/** One request as a route sees it. */
export interface MonitorRequest {
  req: IncomingMessage;
  url: URL;
  /** `url.pathname` as the simulator normalises it. */
  path: string;
  /** The request body as text ("" when there is none). */
  body: string;
  /** When the request arrived, epoch ms. */
  at: number;
}

/** The request body as JSON when it parses, else the text, undefined when empty. */
export function parsedBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface MonitorHandlerOptions<E extends { path: string }> {
  /** Normalises the path (trailing slashes). @defaultValue the pathname as sent */
  path?: (url: URL) => string;
  /** Answers one request; an {@link HttpProblem} or any other error thrown becomes `onError`'s reply. */
  route: (request: MonitorRequest) => Reply;
  /** The reply to an error `route` threw. */
  onError: (error: unknown) => Reply;
  /** The stats entry of a request, or undefined to record none. */
  entry: (request: MonitorRequest, status: number) => E | undefined;
  /** Key of the request in `stats.requests`. @defaultValue the entry's path */
  key?: (request: MonitorRequest) => string;
  stats: () => { requests: Record<string, number>; recent: E[] };
  /** The current delay before every response, ms. */
  delayMs: () => number | undefined;
}

/**
 * The request handler of a monitor simulator: reads the body, routes the request, records it in the
 * stats, waits the configured delay and answers.
 */
export function monitorHandler<E extends { path: string }>(
  options: MonitorHandlerOptions<E>,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? "/", "http://simulator");
    const request: MonitorRequest = {
      req,
      url,
      path: options.path ? options.path(url) : url.pathname,
      body: Buffer.concat(chunks).toString("utf8"),
      at,
    };
    let reply: Reply;
    try {
      reply = options.route(request);
    } catch (error) {
      reply = options.onError(error);
    }
    const [status, text, headers] = reply;
    const entry = options.entry(request, status);
    if (entry !== undefined) record(options.stats(), entry, options.key?.(request));
    const delay = options.delayMs();
    if (delay) await new Promise((r) => setTimeout(r, delay));
    sendJson(res, status, text, headers);
  };
}

/** What every monitor simulator takes to listen and serve a fleet. */
export interface FleetChoice {
  /** TCP port; 0 picks a free one. @defaultValue 0 */
  port?: number;
  /** Listen address. @defaultValue "127.0.0.1" */
  host?: string;
  /** Fleet size. @defaultValue 1000 (500 for Forescout) */
  devices?: number;
  /** Fleet seed. @defaultValue 1 */
  seed?: number;
  /**
   * `lastSeen` of device 0, epoch milliseconds. By default the fleet ends now: its newest device
   * was seen one second before the simulator started, so a connector's default look-back finds it.
   */
  startMs?: number;
  /** A fleet to serve instead of generating one from `devices`/`seed`/`startMs`. */
  fleet?: Fleet;
}

/** The fleet a simulator serves: `options.fleet`, or one generated to end one second ago. */
export function simulatorFleet(options: FleetChoice, defaultSize = 1000): Fleet {
  if (options.fleet) return options.fleet;
  const size = options.devices ?? defaultSize;
  const spanMs = Math.ceil((Math.floor(Math.max(0, size - 1) / TIE_GROUP) * STEP_US) / 1000);
  return createFleet({
    size,
    seed: options.seed ?? 1,
    startMs: options.startMs ?? Date.now() - spanMs - 1000,
  });
}
