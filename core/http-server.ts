/**
 * Limits every HTTP listener medsoc runs (the worker API, the HTTP push receiver) applies to its
 * clients, so a slow or silent client cannot hold a connection open: a deadline for the request
 * headers, one for the whole request (headers and body), an idle-socket timeout and a keep-alive
 * timeout. Node's HTTP server enforces the first two (answering 408 and closing the connection) on
 * a periodic check; the check interval is derived from the timeouts so a connection is cut off
 * within about a quarter of the timeout after it expires.
 */
import { z } from "zod";

export const httpServerTimeoutsSchema = z
  .strictObject({
    /** Time a client has to send the complete request headers (408 and close after). @defaultValue 10000 */
    headersMs: z.number().int().min(50).max(600_000).default(10_000),
    /** Time a client has to send the whole request, headers and body (408 and close after). @defaultValue 60000 */
    requestMs: z.number().int().min(50).max(3_600_000).default(60_000),
    /** A socket with no traffic in either direction for this long is closed. @defaultValue 30000 */
    idleMs: z.number().int().min(50).max(3_600_000).default(30_000),
    /** An idle keep-alive connection is closed after this long. @defaultValue 5000 */
    keepAliveMs: z.number().int().min(50).max(600_000).default(5_000),
  })
  .refine((t) => t.headersMs <= t.requestMs, {
    message: "headersMs must not exceed requestMs",
    path: ["headersMs"],
  });

/** Timeouts of one HTTP listener, in milliseconds. */
export type HttpServerTimeouts = z.infer<typeof httpServerTimeoutsSchema>;

/** The defaults, for listeners built without a config file (tests, the embedded default). */
export const DEFAULT_HTTP_SERVER_TIMEOUTS: HttpServerTimeouts = httpServerTimeoutsSchema.parse({});

/** Fastify server options that apply `t` (pass them to `Fastify({...})`). */
export function fastifyTimeoutOptions(t: HttpServerTimeouts = DEFAULT_HTTP_SERVER_TIMEOUTS) {
  // Node checks header and request deadlines every `connectionsCheckingInterval` ms (30 s by
  // default, which would let a slow client stay 30 s past its deadline).
  const checkEveryMs = Math.max(25, Math.min(1000, Math.floor(Math.min(t.headersMs, t.requestMs) / 4)));
  return {
    connectionTimeout: t.idleMs,
    keepAliveTimeout: t.keepAliveMs,
    requestTimeout: t.requestMs,
    http: {
      headersTimeout: t.headersMs,
      requestTimeout: t.requestMs,
      keepAliveTimeout: t.keepAliveMs,
      connectionsCheckingInterval: checkEveryMs,
    },
  };
}
