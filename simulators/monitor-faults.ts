/**
 * Switchable failure modes shared by the static-credential monitor simulators (Claroty xDome,
 * PANW IoT Security). Request numbers count API requests since the failures were last set,
 * starting at 1. Each simulator supplies its vendor's error body.
 */

export interface MonitorFailures {
  /** Every API request answers 401 (a revoked token / wrong keys). @defaultValue false */
  revoked?: boolean;
  /** These API requests answer 401 (a transient refusal; the connector retries once). @defaultValue none */
  unauthorizedOn?: number[];
  /** Every Nth API request answers 429 with `Retry-After`. @defaultValue never */
  rateLimitEvery?: number;
  /** `Retry-After` of those 429s, in seconds (fractions allowed). @defaultValue 1 */
  retryAfterSeconds?: number;
  /** Every Nth API request answers 500 with a JSON error body. @defaultValue never */
  serverErrorEvery?: number;
  /** These API requests answer 503 with a JSON error body. @defaultValue none */
  serverErrorOn?: number[];
  /** These API requests answer 200 with a truncated (malformed) JSON body. @defaultValue none */
  malformedJsonOn?: number[];
  /** These API requests answer 502 with an HTML body, as a reverse proxy would. @defaultValue none */
  htmlBadGatewayOn?: number[];
  /**
   * Type drift in the records: numbers as strings, annotated IP addresses, timestamps without
   * microseconds or with `Z`, labels instead of numbers, for every third record. @defaultValue false
   */
  typeDrift?: boolean;
  /** Delay before every response, in milliseconds. @defaultValue 0 */
  delayMs?: number;
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
  recent: Array<{
    method: string;
    path: string;
    query: Record<string, string>;
    body: unknown;
    status: number;
    /** When the request arrived, epoch ms. */
    at: number;
  }>;
}

export type Reply = [status: number, body: string, headers?: Record<string, string>];

const HTML_502 =
  "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

export function emptyStats(): MonitorSimulatorStats {
  return { requests: {}, apiRequestsSinceFailures: 0, failures: {}, recent: [] };
}

/**
 * The injected answer to API request `n`, if any, before the request is served. `authorized` is
 * whether the credentials were right; `error(status, message)` renders the vendor's error body.
 */
export function injectedFailure(
  n: number,
  failures: MonitorFailures,
  authorized: boolean,
  stats: MonitorSimulatorStats,
  error: (status: number, message: string) => string,
): Reply | undefined {
  const fail = (kind: string) => {
    stats.failures[kind] = (stats.failures[kind] ?? 0) + 1;
  };
  if (!authorized || failures.revoked || failures.unauthorizedOn?.includes(n)) {
    fail("unauthorized");
    return [401, error(401, "Unauthorized: invalid or revoked credentials")];
  }
  if (failures.htmlBadGatewayOn?.includes(n)) {
    fail("bad_gateway_html");
    return [502, HTML_502, { "content-type": "text/html" }];
  }
  if (failures.rateLimitEvery && n % failures.rateLimitEvery === 0) {
    fail("rate_limited");
    return [429, error(429, "Too many requests"), { "retry-after": String(failures.retryAfterSeconds ?? 1) }];
  }
  if (
    (failures.serverErrorEvery && n % failures.serverErrorEvery === 0) ||
    failures.serverErrorOn?.includes(n)
  ) {
    fail("server_error");
    return [failures.serverErrorOn?.includes(n) ? 503 : 500, error(500, "Internal server error")];
  }
  return undefined;
}

/** Truncates a body when request `n` is to be malformed. */
export function maybeMalformed(
  n: number,
  failures: MonitorFailures,
  stats: MonitorSimulatorStats,
  body: string,
): string {
  if (!failures.malformedJsonOn?.includes(n)) return body;
  stats.failures.malformed_json = (stats.failures.malformed_json ?? 0) + 1;
  return body.slice(0, Math.max(1, Math.floor(body.length / 2)));
}

/** Records one request in the stats ring. */
export function record(stats: MonitorSimulatorStats, entry: MonitorSimulatorStats["recent"][number]): void {
  stats.requests[entry.path] = (stats.requests[entry.path] ?? 0) + 1;
  stats.recent.push(entry);
  if (stats.recent.length > 1000) stats.recent.shift();
}
