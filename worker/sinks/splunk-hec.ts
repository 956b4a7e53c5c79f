import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { promisify } from "node:util";
import { gzip as gzipCallback } from "node:zlib";
import { Ajv2020 } from "ajv/dist/2020.js";
import { Agent, request } from "undici";
import { z } from "zod";
import { backoffDelay, parseRetryAfter, sleep } from "../../core/backoff.ts";
import { readCa, secretSchema, tlsSchema } from "../../core/config-fields.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { scrub } from "../../core/secret.ts";
import { siemStreamOf } from "../../mappings/stream.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import {
  docIdOf,
  parseSinkConfig,
  SinkBackpressureError,
  SinkPermanentError,
  SinkRetryableError,
  serviceUrlSchema,
} from "./common.ts";
import type { Sink, SinkResult } from "./types.ts";

const STAGE = "sink.splunk";
const gzip = promisify(gzipCallback);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Splunk HTTP Event Collector sink settings (`sinks.splunk` in medsoc.yaml). */
export const splunkHecSinkConfigSchema = z.strictObject({
  /** HEC base URL, without path (`https://splunk.example:8088`). */
  url: serviceUrlSchema,
  /** HEC token (a GUID); sent as `Authorization: Splunk <token>`. */
  token: secretSchema,
  /** Path of the JSON event endpoint. @defaultValue "/services/collector/event" */
  endpointPath: z.string().startsWith("/").default("/services/collector/event"),
  /** Target index; must be in the token's allowed indexes (else code 7). @defaultValue the token's default index */
  index: z
    .string()
    .regex(/^[a-z0-9_][a-z0-9_-]*$/, "Splunk index names are lower case letters, digits, '_' and '-'")
    .optional(),
  /** The envelope `host`. @defaultValue this machine's host name */
  host: z
    .string()
    .min(1)
    .default(() => hostname()),
  /** TLS: verification on by default, optional private CA. */
  tls: tlsSchema.prefault({}),
  /** Compress request bodies (`Content-Encoding: gzip`). @defaultValue true */
  gzip: z.boolean().default(true),
  /** Flush a request when its uncompressed body would pass this size. @defaultValue 1048576 (bytes, 1 MiB) */
  maxBatchBytes: z
    .number()
    .int()
    .min(1024)
    .max(800 * 1024 * 1024)
    .default(1024 * 1024),
  /** Flush a request at this many events. @defaultValue 500 (events) */
  maxBatchEvents: z.number().int().min(1).max(100_000).default(500),
  /** A single serialised event above this is dead-lettered, never sent (Splunk `maxEventSize`). @defaultValue 5242880 (bytes, 5 MB) */
  maxEventBytes: z
    .number()
    .int()
    .min(1024)
    .default(5 * 1024 * 1024),
  /** Requests in flight at once per `write`. @defaultValue 2 */
  concurrency: z.number().int().min(1).max(32).default(2),
  /** Timeout of one HTTP request (headers and body). @defaultValue 10000 (ms) */
  requestTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  /** Retries of a whole request on network errors, 5xx (codes 8, 9, 18–20) and 429. */
  retry: z
    .strictObject({
      /** Attempts per request, first one included; then the write fails as retryable. @defaultValue 5 */
      maxAttempts: z.number().int().min(1).max(50).default(5),
      /** Backoff base: attempt n waits about base·2^(n-1), jittered; Retry-After is a floor. @defaultValue 500 (ms) */
      baseDelayMs: z.number().int().min(0).default(500),
      /** Backoff ceiling. @defaultValue 30000 (ms) */
      maxDelayMs: z.number().int().min(0).default(30_000),
    })
    .prefault({}),
  /**
   * Indexer acknowledgement (the token must have `useACK`; Splunk Enterprise only). A batch counts as
   * delivered when `/services/collector/ack` answers true for its `ackId`. @defaultValue false
   */
  useAck: z.boolean().default(false),
  ack: z
    .strictObject({
      /** Channel GUID (`X-Splunk-Request-Channel`). @defaultValue a random GUID per sink */
      channel: z.string().regex(GUID, "must be a GUID").optional(),
      /** Time between ack polls. @defaultValue 10000 (ms) */
      pollIntervalMs: z.number().int().min(1).default(10_000),
      /** A batch not acknowledged within this time is sent again (at-least-once). @defaultValue 300000 (ms) */
      timeoutMs: z.number().int().min(1).default(300_000),
      /** Batches awaiting acknowledgement at once; sending waits when full. @defaultValue 1000 */
      maxPending: z.number().int().min(1).max(1_000_000).default(1000),
      /** Resends after an ack timeout before the batch is dead-lettered. @defaultValue 2 */
      maxResends: z.number().int().min(0).max(20).default(2),
    })
    .prefault({}),
});

/** Parsed settings. */
export type SplunkHecSinkConfig = z.output<typeof splunkHecSinkConfigSchema>;
/** Settings as written in the file (defaults optional, the token as a string). */
export type SplunkHecSinkConfigInput = z.input<typeof splunkHecSinkConfigSchema>;

/** A HEC event envelope (`/services/collector/event`). */
export interface HecEnvelope {
  time: number;
  host: string;
  source: string;
  sourcetype: string;
  index?: string;
  event: EcsDocument;
  fields: { event_id: string; [key: string]: string | string[] };
}

export interface SplunkHecSinkDeps {
  /** @defaultValue silentLogger */
  log?: Logger;
  /**
   * Adjusts an envelope before validation (deployment-specific indexed fields, a sourcetype
   * override). Whatever it returns is validated like the rest; an invalid envelope is dead-lettered.
   */
  decorateEnvelope?: (envelope: HecEnvelope, doc: EcsDocument) => Record<string, unknown>;
  /** Random source for the backoff jitter (tests). @defaultValue Math.random */
  random?: () => number;
}

/** The HEC reply body (`{text, code, invalid-event-number?, ackId?}`). */
interface HecReply {
  text?: string;
  code?: number;
  "invalid-event-number"?: number;
  ackId?: number;
}

interface Reply {
  status: number;
  body: HecReply | undefined;
  raw: string;
  retryAfterMs: number | undefined;
}

interface Entry {
  doc: EcsDocument;
  line: string;
  bytes: number;
  state: "pending" | "delivered" | "dead";
}

/** A request the configuration can never make succeed (token, URL, endpoint). */
class ConfigRefused extends Error {}
/** Indexer acknowledgements did not come after every resend. */
class AcksLost extends Error {}
/** Transient failures outlasted the bounded retries. */
class RetriesExhausted extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

const envelopeSchema = JSON.parse(
  readFileSync(new URL("./hec-envelope.schema.json", import.meta.url), "utf8"),
);
const ajv = new Ajv2020({ allErrors: true, strict: false });
let compiledEnvelope: ReturnType<Ajv2020["compile"]> | undefined;
/** The envelope validator, compiled once per process from the schema copied beside this file. */
function envelopeValidator(): ReturnType<Ajv2020["compile"]> {
  compiledEnvelope ??= ajv.compile(envelopeSchema);
  return compiledEnvelope;
}

/** Epoch seconds with millisecond precision (`1764322802.789`), as HEC's `time` wants it. */
export function hecTime(timestamp: string): number | undefined {
  const ms = Date.parse(timestamp);
  if (Number.isNaN(ms)) return undefined;
  return Math.round(ms) / 1000;
}

/**
 * Builds the envelope of one document. The sourcetype is `medsoc:<SIEM stream>` (device, alert,
 * vulnerability, event, audit: the sourcetypes of the Splunk app), from `siemStreamOf`
 * (mappings/stream.ts), the function the document's `event.dataset` was stamped with, whatever the
 * vendor stream of the batch (`_stream`, kept for the callers). The stable event id goes in twice: inside the event as
 * `medsoc.doc_id` (the document is sent untouched) and as the indexed field `event_id`, so
 * `| dedup event_id` and `tstats … by event_id` work after an at-least-once resend, whatever the
 * sourcetype's search-time extraction.
 */
export function buildHecEnvelope(
  doc: EcsDocument,
  _stream: string,
  options: { host: string; index?: string | undefined },
): HecEnvelope | string {
  const id = docIdOf(doc);
  if (id === undefined) return "document has no medsoc.doc_id";
  const time = hecTime(doc["@timestamp"]);
  if (time === undefined) return `document has no valid @timestamp (${JSON.stringify(doc["@timestamp"])})`;
  return {
    time,
    host: options.host,
    source: `medsoc:${doc.medsoc.source}`,
    sourcetype: `medsoc:${siemStreamOf(doc)}`,
    ...(options.index ? { index: options.index } : {}),
    event: doc,
    fields: { event_id: id },
  };
}

function codeText(body: HecReply | undefined, status: number): string {
  if (!body) return `HTTP ${status}`;
  return `HTTP ${status} code ${body.code ?? "?"} (${body.text ?? "no text"})`;
}

/** Pending indexer acknowledgements of one channel: bounded, polled while anything waits. */
class AckTracker {
  readonly #pending = new Map<number, { resolve: (acked: boolean) => void; deadline: number }>();
  readonly #waiters: (() => void)[] = [];
  #inUse = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Set when the ack endpoint refuses the configuration (code 14, 401/403): waiting is pointless. */
  fatal: Error | undefined;

  constructor(
    private readonly options: { pollIntervalMs: number; timeoutMs: number; maxPending: number },
    private readonly poll: (ids: number[]) => Promise<Record<string, boolean>>,
    private readonly log: Logger,
  ) {}

  /** Waits for room for one more pending batch (backpressure). */
  async reserve(): Promise<void> {
    while (this.#inUse >= this.options.maxPending) await new Promise<void>((r) => this.#waiters.push(r));
    this.#inUse += 1;
  }

  release(): void {
    this.#inUse -= 1;
    this.#waiters.shift()?.();
  }

  /** Resolves true when Splunk acknowledges `ackId`, false after the timeout. Releases the reservation. */
  wait(ackId: number): Promise<boolean> {
    if (this.#closed || this.fatal) {
      this.release();
      return Promise.resolve(false);
    }
    return new Promise<boolean>((resolve) => {
      this.#pending.set(ackId, {
        resolve: (acked) => {
          this.release();
          resolve(acked);
        },
        deadline: Date.now() + this.options.timeoutMs,
      });
      this.#schedule();
    });
  }

  get pending(): number {
    return this.#pending.size;
  }

  #schedule(): void {
    if (this.#timer || this.#closed || this.#pending.size === 0) return;
    this.#timer = setTimeout(() => void this.#poll(), this.options.pollIntervalMs);
  }

  async #poll(): Promise<void> {
    const ids = [...this.#pending.keys()];
    try {
      const acks = await this.poll(ids);
      for (const id of ids) {
        if (acks[String(id)] === true) {
          this.#pending.get(id)?.resolve(true);
          this.#pending.delete(id);
        }
      }
    } catch (error) {
      if (error instanceof ConfigRefused) {
        this.fatal = error;
        this.#finishAll();
      } else
        this.log.warn(
          { error: (error as Error).message, pending: ids.length },
          "Polling HEC acknowledgements failed; will poll again.",
        );
    }
    const now = Date.now();
    for (const [id, p] of this.#pending) {
      if (p.deadline <= now) {
        p.resolve(false);
        this.#pending.delete(id);
      }
    }
    this.#timer = undefined;
    this.#schedule();
  }

  #finishAll(): void {
    for (const p of this.#pending.values()) p.resolve(false);
    this.#pending.clear();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#finishAll();
  }
}

interface WriteContext {
  stream: string;
  result: SinkResult;
  stopped: boolean;
  errors: Error[];
  ackTasks: Promise<void>[];
}

/**
 * Sends ECS documents to Splunk's HTTP Event Collector, implementing its documented contract
 * (splunk.md §1): one validated envelope per document, batches bounded by bytes and count, gzip,
 * the retry matrix (transient → whole batch with backoff; `invalid-event-number` N → head delivered,
 * N dead-lettered, tail resent; code 7 and batch-level 400s → dead-lettered; 401/403/404/405/415 →
 * `SinkPermanentError`), and optional indexer acknowledgement with bounded pending acks and
 * at-least-once resends.
 */
export function createSplunkHecSink(
  rawConfig: SplunkHecSinkConfigInput | SplunkHecSinkConfig,
  deps: SplunkHecSinkDeps = {},
): Sink {
  const config = parseSinkConfig(splunkHecSinkConfigSchema, rawConfig, "splunk");
  const log = (deps.log ?? silentLogger).child({ sink: "splunk" });
  const random = deps.random ?? Math.random;
  const validate = envelopeValidator();
  const ca = readCa(config.tls, "sinks.splunk");
  const agent = new Agent({
    connect: { rejectUnauthorized: config.tls.verify, ...(ca ? { ca } : {}) },
    connections: config.concurrency + 2,
  });
  const base = config.url.replace(/\/+$/, "");
  const eventUrl = `${base}${config.endpointPath}`;
  const channel = config.ack.channel ?? randomUUID();
  const ackUrl = `${base}/services/collector/ack?channel=${channel}`;
  const secrets = [config.token];
  let warnedNoAckId = false;

  const headers = (extra: Record<string, string> = {}): Record<string, string> => ({
    authorization: `Splunk ${config.token.reveal()}`,
    "content-type": "application/json",
    ...(config.useAck ? { "x-splunk-request-channel": channel } : {}),
    ...extra,
  });

  async function post(url: string, body: Buffer | string, extra: Record<string, string>): Promise<Reply> {
    const res = await request(url, {
      method: "POST",
      headers: headers(extra),
      body,
      dispatcher: agent,
      headersTimeout: config.requestTimeoutMs,
      bodyTimeout: config.requestTimeoutMs,
    });
    const raw = await res.body.text();
    let parsed: HecReply | undefined;
    try {
      const json = JSON.parse(raw) as unknown;
      if (json && typeof json === "object") parsed = json as HecReply;
    } catch {
      parsed = undefined;
    }
    const retryAfter = res.headers["retry-after"];
    return {
      status: res.statusCode,
      body: parsed,
      raw: scrub(raw.slice(0, 300), secrets),
      retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
    };
  }

  async function postBatch(entries: Entry[]): Promise<Reply> {
    const text = entries.map((e) => e.line).join("\n");
    if (!config.gzip) return post(eventUrl, text, {});
    return post(eventUrl, await gzip(text), { "content-encoding": "gzip" });
  }

  const acks = new AckTracker(
    config.ack,
    async (ids) => {
      const reply = await post(ackUrl, JSON.stringify({ acks: ids }), {});
      if (reply.status === 200 && reply.body && typeof (reply.body as { acks?: unknown }).acks === "object")
        return (reply.body as { acks: Record<string, boolean> }).acks;
      if ([400, 401, 403, 404].includes(reply.status))
        throw new ConfigRefused(`polling hec acknowledgements: ${codeText(reply.body, reply.status)}`);
      throw new Error(`polling hec acknowledgements: ${codeText(reply.body, reply.status)}`);
    },
    log,
  );

  const deliver = (ctx: WriteContext, entries: Entry[]) => {
    for (const e of entries) e.state = "delivered";
    ctx.result.delivered += entries.length;
  };
  const deadLetter = (ctx: WriteContext, entries: Entry[], reason: string, status?: number) => {
    for (const e of entries) {
      e.state = "dead";
      ctx.result.deadLettered.push({
        stage: STAGE,
        reason,
        ...(status !== undefined ? { status } : {}),
        document: e.doc,
      });
    }
  };

  /** Sends one batch to the end: retries, partial replies, ack registration. */
  async function sendBatch(ctx: WriteContext, batch: Entry[], resends = 0): Promise<void> {
    let pending = batch;
    let attempt = 0;
    while (pending.length > 0 && !ctx.stopped) {
      attempt += 1;
      if (config.useAck) await acks.reserve();
      let reply: Reply | undefined;
      let networkError: Error | undefined;
      try {
        reply = await postBatch(pending);
      } catch (error) {
        networkError = error as Error;
      }
      const status = reply?.status ?? 0;
      const code = reply?.body?.code;
      // Only a 2xx with an ackId keeps the reservation (released when the ack resolves).
      if (config.useAck && !(status >= 200 && status < 300 && reply?.body?.ackId !== undefined))
        acks.release();

      if (reply && status >= 200 && status < 300) {
        const ackId = reply.body?.ackId;
        if (config.useAck && ackId !== undefined) {
          const entries = pending;
          ctx.ackTasks.push(awaitAck(ctx, entries, ackId, resends));
        } else {
          if (config.useAck && !warnedNoAckId) {
            warnedNoAckId = true;
            log.warn(
              { status, code },
              "HEC answered without an ackId; the token does not use indexer acknowledgement.",
            );
          }
          deliver(ctx, pending);
        }
        return;
      }

      if (reply && status === 400 && (code === 6 || code === 12 || code === 13 || code === 15)) {
        const n = reply.body?.["invalid-event-number"];
        const detail = codeText(reply.body, status);
        if (typeof n === "number" && Number.isInteger(n) && n >= 0 && n < pending.length) {
          deliver(ctx, pending.slice(0, n));
          deadLetter(ctx, pending.slice(n, n + 1), `hec rejected event ${n} of the batch: ${detail}`, status);
          log.warn(
            { stream: ctx.stream, code, invalidEventNumber: n, resent: pending.length - n - 1 },
            "HEC rejected one event; resending the rest.",
          );
          pending = pending.slice(n + 1);
          attempt = 0;
          continue;
        }
        deadLetter(
          ctx,
          pending,
          `hec rejected the batch without a usable invalid-event-number: ${detail}`,
          status,
        );
        return;
      }
      if (reply && status === 400 && code === 7) {
        // Splunk reports N off by one for code 7, so nothing after the head can be trusted.
        log.error(
          { stream: ctx.stream, index: config.index, code },
          "HEC refused the index for this token; check sinks.splunk.index.",
        );
        deadLetter(
          ctx,
          pending,
          `hec refused the index (configuration): ${codeText(reply.body, status)}`,
          status,
        );
        return;
      }
      if (
        reply &&
        (status === 401 ||
          status === 403 ||
          status === 404 ||
          status === 405 ||
          status === 415 ||
          (status === 400 && (code === 21 || code === 22)))
      ) {
        throw new ConfigRefused(`hec refused the request (configuration): ${codeText(reply.body, status)}`);
      }
      if (reply && status === 413) {
        if (pending.length === 1) {
          deadLetter(
            ctx,
            pending,
            `hec refused a single event as too large: ${codeText(reply.body, status)}`,
            status,
          );
          return;
        }
        const half = Math.ceil(pending.length / 2);
        log.warn({ events: pending.length }, "HEC refused the request as too large; splitting it.");
        await sendBatch(ctx, pending.slice(0, half), resends);
        await sendBatch(ctx, pending.slice(half), resends);
        return;
      }
      if (reply && status === 400) {
        log.error({ stream: ctx.stream, code }, "HEC rejected the whole batch.");
        deadLetter(ctx, pending, `hec rejected the batch: ${codeText(reply.body, status)}`, status);
        return;
      }
      if (reply && status < 500 && status !== 429 && status !== 408) {
        throw new ConfigRefused(`hec answered an unexpected status: ${codeText(reply.body, status)}`);
      }
      // Transient: network error, timeout, 408, 429, 5xx (codes 8, 9, 18–20).
      const what = networkError
        ? `network error: ${scrub(String((networkError as { code?: string }).code ?? networkError.message), secrets)}`
        : codeText(reply?.body, status);
      if (attempt >= config.retry.maxAttempts)
        throw new RetriesExhausted(
          `hec still failing after ${attempt} attempts: ${what}`,
          reply?.retryAfterMs,
        );
      const delayMs = backoffDelay(attempt, {
        baseMs: config.retry.baseDelayMs,
        maxMs: config.retry.maxDelayMs,
        floorMs: reply?.retryAfterMs,
        random,
      });
      log.warn(
        { stream: ctx.stream, status, code, attempt, delayMs, events: pending.length, error: what },
        "HEC request failed; retrying.",
      );
      await sleep(delayMs);
    }
  }

  async function awaitAck(
    ctx: WriteContext,
    entries: Entry[],
    ackId: number,
    resends: number,
  ): Promise<void> {
    const acked = await acks.wait(ackId);
    if (acked) return deliver(ctx, entries);
    if (acks.fatal) throw acks.fatal;
    if (resends < config.ack.maxResends) {
      log.warn(
        { ackId, events: entries.length, resend: resends + 1 },
        "No HEC acknowledgement in time; sending the batch again.",
      );
      return sendBatch(ctx, entries, resends + 1);
    }
    // Not dead-lettered: a lost acknowledgement says nothing about the events. They stay pending,
    // so the write fails retryably with them as the remaining part (a job attempt is spent).
    throw new AcksLost(
      `no indexer acknowledgement after ${resends + 1} sends (ackId ${ackId}, channel ${channel})`,
    );
  }

  async function write(stream: string, docs: EcsDocument[]): Promise<SinkResult> {
    const ctx: WriteContext = {
      stream,
      result: { delivered: 0, duplicates: 0, deadLettered: [] },
      stopped: false,
      errors: [],
      ackTasks: [],
    };
    const entries: Entry[] = [];
    // Splunk keeps whatever it is sent: the same id twice in one write is sent once.
    const seen = new Set<string>();
    for (const doc of docs) {
      const id = docIdOf(doc);
      if (id !== undefined) {
        if (seen.has(id)) {
          ctx.result.duplicates += 1;
          continue;
        }
        seen.add(id);
      }
      const built = buildHecEnvelope(doc, stream, config);
      const envelope =
        typeof built === "string" ? built : deps.decorateEnvelope ? deps.decorateEnvelope(built, doc) : built;
      const entry: Entry = { doc, line: "", bytes: 0, state: "pending" };
      entries.push(entry);
      if (typeof envelope === "string") {
        deadLetter(ctx, [entry], envelope);
        continue;
      }
      // Validate before sending: an unknown top-level key makes Splunk answer 200 and drop the rest.
      if (!validate(envelope)) {
        deadLetter(
          ctx,
          [entry],
          `invalid hec envelope: ${ajv.errorsText(validate.errors, { dataVar: "envelope" })}`,
        );
        continue;
      }
      entry.line = JSON.stringify(envelope);
      entry.bytes = Buffer.byteLength(entry.line);
      if (entry.bytes > config.maxEventBytes)
        deadLetter(
          ctx,
          [entry],
          `event of ${entry.bytes} bytes is over maxEventBytes (${config.maxEventBytes})`,
        );
    }

    const batches: Entry[][] = [];
    let current: Entry[] = [];
    let currentBytes = 0;
    for (const e of entries) {
      if (e.state !== "pending") continue;
      if (
        current.length > 0 &&
        (current.length >= config.maxBatchEvents || currentBytes + e.bytes + 1 > config.maxBatchBytes)
      ) {
        batches.push(current);
        current = [];
        currentBytes = 0;
      }
      current.push(e);
      currentBytes += e.bytes + 1;
    }
    if (current.length > 0) batches.push(current);

    let next = 0;
    const worker = async () => {
      while (!ctx.stopped && next < batches.length) {
        const batch = batches[next++] as Entry[];
        try {
          await sendBatch(ctx, batch);
        } catch (error) {
          ctx.stopped = true;
          ctx.errors.push(error as Error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(config.concurrency, batches.length) }, worker));
    while (ctx.ackTasks.length > 0) {
      const tasks = ctx.ackTasks.splice(0);
      for (const r of await Promise.allSettled(tasks)) {
        if (r.status === "rejected") {
          ctx.stopped = true;
          ctx.errors.push(r.reason as Error);
        }
      }
    }

    const { result } = ctx;
    const remaining = entries.filter((e) => e.state === "pending").map((e) => e.doc);
    const counts = {
      stream,
      received: docs.length,
      batches: batches.length,
      delivered: result.delivered,
      deadLettered: result.deadLettered.length,
      remaining: remaining.length,
    };
    const failure = ctx.errors.find((e) => e instanceof ConfigRefused) ?? ctx.errors[0];
    if (failure) {
      const message = `sending hec batch to ${eventUrl}: ${scrub(failure.message, secrets)}`;
      log.warn({ ...counts, error: message }, "Sending to Splunk HEC failed.");
      const partial = { result, remaining };
      if (failure instanceof ConfigRefused) throw new SinkPermanentError(message, partial);
      // Busy, 5xx or unreachable after the bounded retries: the queue waits without spending an attempt.
      if (failure instanceof RetriesExhausted)
        throw new SinkBackpressureError(message, partial, {
          ...(failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {}),
        });
      throw new SinkRetryableError(message, partial, {
        ...(failure instanceof RetriesExhausted && failure.retryAfterMs !== undefined
          ? { retryAfterMs: failure.retryAfterMs }
          : {}),
      });
    }
    log.debug(counts, "Sent documents to Splunk HEC.");
    if (result.deadLettered.length > 0)
      log.warn(
        { stream, deadLettered: result.deadLettered.length, first: result.deadLettered[0]?.reason },
        "Splunk HEC dead-lettered documents.",
      );
    return result;
  }

  return {
    name: "splunk",
    // Splunk indexes every event it is sent: re-delivery is prevented by the pipeline's ledger.
    idempotent: false,
    write,
    async close() {
      acks.close();
      await agent.close();
    },
  };
}

/** Checks `GET /services/collector/health` (does not validate the token). */
export async function checkHecHealth(
  url: string,
  options: { verifyTls?: boolean } = {},
): Promise<{ healthy: boolean; code?: number; text?: string }> {
  const agent = new Agent({ connect: { rejectUnauthorized: options.verifyTls ?? true } });
  try {
    const res = await request(`${url.replace(/\/+$/, "")}/services/collector/health`, { dispatcher: agent });
    const body = (await res.body.json().catch(() => undefined)) as HecReply | undefined;
    return {
      healthy: res.statusCode === 200,
      ...(body?.code !== undefined ? { code: body.code } : {}),
      ...(body?.text ? { text: body.text } : {}),
    };
  } finally {
    await agent.close();
  }
}
