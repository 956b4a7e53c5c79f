import Fastify, { type FastifyInstance } from "fastify";
import { fastifyTimeoutOptions, type HttpServerTimeouts } from "../core/http-server.ts";
import type { Logger } from "../core/log.ts";
import type { Metrics } from "./metrics.ts";

export interface ApiOptions {
  metrics: Metrics;
  log: Logger;
  /** Readiness: resolves when the queue backend (and anything else required) answers. */
  ready: () => Promise<{ ok: boolean; checks: Record<string, string> }>;
  /** Refreshes gauges (queue depth, lag) before a scrape. */
  beforeScrape?: () => Promise<void>;
  /** Registers more routes (playbook triggers and approvals). */
  routes?: (app: FastifyInstance) => void;
  /** Largest accepted request body in bytes (413 above). @defaultValue 1048576 */
  maxBodyBytes?: number;
  /** Header, request, idle and keep-alive timeouts. @defaultValue core/http-server.ts defaults */
  timeouts?: HttpServerTimeouts;
}

/**
 * The worker's HTTP API: `/healthz` (the process is alive), `/readyz` (its dependencies answer),
 * `/metrics` (Prometheus text). Playbook triggers and approvals are added here by later issues.
 */
export function createApi(options: ApiOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: options.maxBodyBytes ?? 1_048_576,
    ...fastifyTimeoutOptions(options.timeouts),
  });
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    let result: { ok: boolean; checks: Record<string, string> };
    try {
      result = await options.ready();
    } catch (error) {
      result = { ok: false, checks: { ready: (error as Error).message } };
    }
    return reply
      .code(result.ok ? 200 : 503)
      .send({ status: result.ok ? "ready" : "not ready", checks: result.checks });
  });
  app.get("/metrics", async (_req, reply) => {
    try {
      await options.beforeScrape?.();
    } catch (error) {
      options.log.warn({ err: error }, "Refreshing metrics before a scrape failed.");
    }
    const body = await options.metrics.registry.metrics();
    return reply.header("content-type", options.metrics.registry.contentType).send(body);
  });
  options.routes?.(app);
  return app;
}
