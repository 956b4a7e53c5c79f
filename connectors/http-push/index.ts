/**
 * The HTTP push receiver: monitors that push JSON (Forescout host push, Cynerio events, …) POST to
 * `/v1/push/<source>/<stream>` (the contract in `simulators/hospital.ts` `PushTargets`).
 *
 * It is a listener of its own, not routes on the worker API: monitors reach it from the hospital
 * network while `/metrics` and (later) playbook triggers stay on loopback, and its body limit and
 * authentication are its own.
 *
 * - `Authorization: Bearer <token>`, one token per source (config, `Secret`), compared in constant
 *   time; 401 otherwise. Authentication and routing run before the body is read, so an
 *   unauthenticated sender cannot make the receiver buffer a large body.
 * - Body: a JSON array of records, a `{ "records": [...] }` object, one JSON object, or NDJSON (one
 *   record per line); 400 with the reason otherwise; 413 above `maxBodyBytes`.
 * - Unknown source (no token configured) or a stream the source has no mapping for: 404.
 * - 202 `{accepted, batches}` only after every batch is durably enqueued; 503 with `Retry-After`
 *   when the raw queue is full (nothing of that request is acknowledged; a retry of the same body
 *   re-uses the same deterministic job ids, so a partly enqueued request is not duplicated).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyInstance } from "fastify";
import type { HttpPushReceiverConfig } from "../../core/config.ts";
import { PermanentError } from "../../core/errors.ts";
import { fastifyTimeoutOptions } from "../../core/http-server.ts";
import { exceedsDepth, JsonInputError, MAX_RECORD_DEPTH, parseJson } from "../../core/json.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import type { Secret } from "../../core/secret.ts";
import { type Ingestor, QueueFullError } from "../push.ts";

/** Counts requests per outcome (`medsoc_receiver_messages_total{receiver="http-push"}`). */
export interface PushCounter {
  inc(labels: { receiver: string; transport: string; outcome: string }, value?: number): void;
}

export interface HttpPushReceiverOptions {
  config: HttpPushReceiverConfig;
  ingestor: Ingestor;
  /**
   * The streams a source accepts and its connector type (which selects the mapping), or undefined
   * for a source medsoc does not know.
   */
  resolve(source: string): { type: string; streams: readonly string[] } | undefined;
  counter?: PushCounter;
  log?: Logger;
}

export interface HttpPushReceiver {
  readonly app: FastifyInstance;
  /** Listens on the configured host and port (or `port` when given); resolves with the base URL. */
  listen(port?: number): Promise<string>;
  close(): Promise<void>;
}

const PATH = /^\/v1\/push\/([^/?#]+)\/([^/?#]+)\/?(?:\?.*)?$/;

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/** Constant-time token check: both sides hashed to equal length first, so length leaks nothing. */
export function tokenMatches(presented: string, expected: Secret): boolean {
  return timingSafeEqual(digest(presented), digest(expected.reveal()));
}

/** A body that is not a record list, with the reason for the 400. */
export class MalformedBodyError extends Error {}

/**
 * Parses a push body: a JSON array, `{records: [...]}`, one JSON object, or NDJSON. Every record
 * must be a JSON object nested at most {@link MAX_RECORD_DEPTH} levels below itself (arrays count).
 * Integers beyond 2^53 become exact digit strings (core/json.ts).
 */
export function parsePushBody(text: string): Record<string, unknown>[] {
  const trimmed = text.trim();
  if (trimmed === "")
    throw new MalformedBodyError("empty body: expected a JSON array, {records: [...]} or NDJSON");
  let parsed: unknown;
  let whole = true;
  try {
    parsed = parseJson(trimmed);
  } catch (error) {
    if (error instanceof JsonInputError && error.kind === "too_deep")
      throw new MalformedBodyError(`body: ${error.message}`);
    whole = false;
  }
  let records: unknown[];
  if (whole) {
    if (Array.isArray(parsed)) records = parsed;
    else if (parsed && typeof parsed === "object" && "records" in parsed) {
      const inner = (parsed as { records: unknown }).records;
      if (!Array.isArray(inner)) throw new MalformedBodyError('"records" must be an array');
      records = inner;
    } else records = [parsed];
  } else {
    records = [];
    const lines = trimmed.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]?.trim() ?? "";
      if (line === "") continue;
      try {
        records.push(parseJson(line));
      } catch (error) {
        if (error instanceof JsonInputError && error.kind === "too_deep")
          throw new MalformedBodyError(`line ${i + 1}: ${error.message}`);
        throw new MalformedBodyError(
          `line ${i + 1}: not JSON (${(error as Error).message}); expected a JSON array, {records: [...]} or NDJSON`,
        );
      }
    }
  }
  records.forEach((r, i) => {
    if (!r || typeof r !== "object" || Array.isArray(r))
      throw new MalformedBodyError(
        `record ${i}: expected a JSON object, got ${Array.isArray(r) ? "an array" : r === null ? "null" : typeof r}`,
      );
    if (exceedsDepth(r, MAX_RECORD_DEPTH + 1))
      throw new MalformedBodyError(
        `record ${i}: nested deeper than ${MAX_RECORD_DEPTH} levels below the record (arrays and objects count)`,
      );
  });
  return records as Record<string, unknown>[];
}

/** Builds the receiver (not yet listening). */
export function createHttpPushReceiver(options: HttpPushReceiverOptions): HttpPushReceiver {
  const { config, ingestor } = options;
  const log = options.log ?? silentLogger;
  const count = (outcome: string, n = 1) =>
    options.counter?.inc({ receiver: "http-push", transport: "http", outcome }, n);
  const app = Fastify({
    logger: false,
    bodyLimit: config.maxBodyBytes,
    ...fastifyTimeoutOptions(config.timeouts),
  });

  // Bodies are parsed by the route (so a malformed one gets a 400 with the reason), whatever type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string", bodyLimit: config.maxBodyBytes }, (_req, body, done) =>
    done(null, body),
  );

  interface Routed {
    source: string;
    stream: string;
    type: string;
  }
  const routed = new WeakMap<object, Routed>();

  app.addHook("onRequest", async (req, reply) => {
    const match = PATH.exec(req.url);
    if (!match) return; // fastify answers 404 itself
    if (req.method !== "POST") {
      count("method_not_allowed");
      return reply.code(405).header("allow", "POST").send({ error: "use POST" });
    }
    const source = decodeURIComponent(match[1] ?? "");
    const stream = decodeURIComponent(match[2] ?? "");
    const expected = Object.hasOwn(config.tokens, source) ? config.tokens[source] : undefined;
    const known = options.resolve(source);
    // Refusals close the connection: the body the client may still be sending is never read.
    if (!expected || !known) {
      count("unknown_source");
      return reply
        .code(404)
        .header("connection", "close")
        .send({ error: `unknown source "${source}"` });
    }
    const header = req.headers.authorization ?? "";
    const presented = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? "";
    if (!presented || !tokenMatches(presented, expected)) {
      count("unauthorized");
      log.warn({ source, remote: req.ip }, "HTTP push refused: missing or wrong bearer token.");
      return reply
        .code(401)
        .header("connection", "close")
        .header("www-authenticate", 'Bearer realm="medsoc-push"')
        .send({ error: "missing or invalid bearer token" });
    }
    if (!known.streams.includes(stream)) {
      count("unknown_stream");
      return reply
        .code(404)
        .header("connection", "close")
        .send({
          error: `unknown stream "${stream}" for source "${source}" (known: ${known.streams.join(", ") || "none"})`,
        });
    }
    routed.set(req, { source, stream, type: known.type });
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE" || error.statusCode === 413) {
      count("too_large");
      return reply.code(413).send({ error: `body larger than ${config.maxBodyBytes} bytes` });
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      count("malformed");
      return reply.code(error.statusCode).send({ error: error.message });
    }
    log.error({ err: error }, "HTTP push request failed.");
    count("error");
    return reply.code(500).send({ error: "internal error" });
  });

  app.post("/v1/push/:source/:stream", async (req, reply) => {
    const route = routed.get(req);
    if (!route) return reply.code(404).send({ error: "not found" });
    let records: Record<string, unknown>[];
    try {
      records = parsePushBody(typeof req.body === "string" ? req.body : "");
    } catch (error) {
      if (!(error instanceof MalformedBodyError)) throw error;
      count("malformed");
      return reply.code(400).send({ error: error.message });
    }
    const size = config.maxRecordsPerBatch;
    let batches = 0;
    try {
      for (let i = 0; i < records.length; i += size) {
        await ingestor.ingest({
          source: route.source,
          type: route.type,
          stream: route.stream,
          records: records.slice(i, i + size),
        });
        batches++;
      }
    } catch (error) {
      if (error instanceof QueueFullError) {
        count("queue_full");
        return reply
          .code(503)
          .header("retry-after", String(config.retryAfterSeconds))
          .send({ error: "the queue is full; retry later", enqueuedBatches: batches });
      }
      if (error instanceof PermanentError) {
        // Retrying the same body fails the same way: 400 with the reason, not 503.
        count("malformed");
        return reply.code(400).send({ error: error.message, enqueuedBatches: batches });
      }
      log.error({ err: error, source: route.source, stream: route.stream }, "Enqueueing a push failed.");
      count("error");
      return reply
        .code(503)
        .header("retry-after", String(config.retryAfterSeconds))
        .send({ error: "enqueueing failed; retry later", enqueuedBatches: batches });
    }
    count("accepted");
    return reply.code(202).send({ accepted: records.length, batches });
  });

  return {
    app,
    async listen(port?: number) {
      return app.listen({ host: config.host, port: port ?? config.port });
    },
    async close() {
      await app.close();
    },
  };
}
