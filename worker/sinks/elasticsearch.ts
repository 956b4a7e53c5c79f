import { Client, type ClientOptions, errors } from "@elastic/elasticsearch";
import { z } from "zod";
import { backoffDelay, sleep } from "../../core/backoff.ts";
import { readCa, secretSchema, tlsSchema } from "../../core/config-fields.ts";
import { PermanentError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { scrub } from "../../core/secret.ts";
import { dataStreamFields, dataStreamName, type SiemStream, siemStreamOf } from "../../mappings/stream.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import {
  dataStreamPart,
  docIdOf,
  parseSinkConfig,
  SinkBackpressureError,
  SinkPermanentError,
  SinkRetryableError,
  serviceUrlSchema,
} from "./common.ts";
import type { DeadLetter, Sink, SinkResult } from "./types.ts";

const STAGE = "sink.elasticsearch";

/** Elasticsearch sink settings (`sinks.elasticsearch` in medsoc.yaml). */
export const elasticsearchSinkConfigSchema = z.strictObject({
  /** Node URL, or several for a client-side round robin (`https://es1:9200`). No credentials in the URL. */
  node: z.union([serviceUrlSchema, z.array(serviceUrlSchema).min(1)]),
  /** Credentials: an API key (base64 `id:key`, as Kibana shows it) or a user and password. @defaultValue none */
  auth: z
    .union([
      z.strictObject({
        /** Encoded API key. */
        apiKey: secretSchema,
      }),
      z.strictObject({
        username: z.string().min(1),
        password: secretSchema,
      }),
    ])
    .optional(),
  /** TLS: verification on by default, optional private CA. */
  tls: tlsSchema.prefault({}),
  /** Data stream namespace: documents go to `logs-medsoc.<stream>-<namespace>`. @defaultValue "default" */
  namespace: z
    .string()
    .regex(dataStreamPart, "lower-case letters, digits, '_' and '.' only (no '-'), at most 100")
    .default("default"),
  /** Flush a bulk request when its body reaches this many bytes. @defaultValue 5000000 (bytes) */
  flushBytes: z.number().int().min(1024).max(100_000_000).default(5_000_000),
  /** Bulk requests in flight at once per `write`. @defaultValue 4 */
  concurrency: z.number().int().min(1).max(64).default(4),
  /**
   * Rounds of resending, within one write, the documents answered 429 or 5xx item by item and whole
   * requests answered 429 (backpressure) or failed (5xx, network) after the client's own retries.
   * What is still failing after them goes back to the queue: item 5xx spends a job attempt (so a
   * document the cluster can never index ends in the dead-letter queue), 429 and failed requests do
   * not (the queue waits as long as the cluster is busy or down). @defaultValue 5
   */
  retries: z.number().int().min(0).max(50).default(5),
  /** Backoff base between those rounds: round n waits about base·2^(n-1), jittered. @defaultValue 2000 (ms) */
  retryWaitMs: z.number().int().min(0).max(600_000).default(2000),
  /** Backoff ceiling of one wait. @defaultValue 30000 (ms) */
  maxRetryWaitMs: z.number().int().min(0).max(600_000).default(30_000),
  /** Transport retries of a whole request on connection errors and 502/503/504. @defaultValue 3 */
  maxRetries: z.number().int().min(0).max(20).default(3),
  /** Timeout of one HTTP request (client 9 has no default, so it is always set). @defaultValue 30000 (ms) */
  requestTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
});

/** Parsed settings. */
export type ElasticsearchSinkConfig = z.output<typeof elasticsearchSinkConfigSchema>;
/** Settings as written in the file (defaults optional, secrets as strings). */
export type ElasticsearchSinkConfigInput = z.input<typeof elasticsearchSinkConfigSchema>;

export interface ElasticsearchSinkDeps {
  /** @defaultValue silentLogger */
  log?: Logger;
  /** A ready client (tests: one built on `@elastic/elasticsearch-mock`). Not closed by the sink. @defaultValue built from config */
  client?: Client;
  /** Random source for the backoff jitter (tests). @defaultValue Math.random */
  random?: () => number;
}

/** Builds the official client from the sink settings. */
export function createElasticsearchClient(config: ElasticsearchSinkConfig): Client {
  const ca = readCa(config.tls, "sinks.elasticsearch");
  const options: ClientOptions = {
    node: config.node,
    requestTimeout: config.requestTimeoutMs,
    maxRetries: config.maxRetries,
    tls: { rejectUnauthorized: config.tls.verify, ...(ca ? { ca } : {}) },
  };
  if (config.auth && "apiKey" in config.auth) options.auth = { apiKey: config.auth.apiKey.reveal() };
  else if (config.auth)
    options.auth = { username: config.auth.username, password: config.auth.password.reveal() };
  return new Client(options);
}

/**
 * The routing function: the data stream of a document is `logs-<event.dataset>-<namespace>` with
 * the dataset from `siemStreamOf` (mappings/stream.ts), the function the mappings stamp
 * `event.dataset` and `data_stream.*` with. A document stamped for another namespace (mapped by
 * `medsoc normalize`, or an audit entry) gets this sink's namespace in `data_stream.*`, which must
 * equal the data stream's constant_keyword values or Elasticsearch refuses the document.
 */
export function routeDocument(doc: EcsDocument, namespace: string, names?: Map<SiemStream, string>): string {
  const stream = siemStreamOf(doc);
  const ds = doc.data_stream as { type?: unknown; dataset?: unknown; namespace?: unknown } | undefined;
  const fields = dataStreamFields(stream, namespace);
  if (ds?.type !== fields.type || ds.dataset !== fields.dataset || ds.namespace !== fields.namespace)
    doc.data_stream = fields;
  if (doc.event.dataset !== fields.dataset) doc.event.dataset = fields.dataset;
  let name = names?.get(stream);
  if (name === undefined) {
    name = dataStreamName(stream, namespace);
    names?.set(stream, name);
  }
  return name;
}

function describeItemError(error: unknown, status: number): string {
  if (error && typeof error === "object") {
    const e = error as { type?: unknown; reason?: unknown; caused_by?: { type?: unknown; reason?: unknown } };
    const cause = e.caused_by?.reason
      ? ` (caused by ${String(e.caused_by.type)}: ${String(e.caused_by.reason)})`
      : "";
    return `${String(e.type ?? "error")}: ${String(e.reason ?? "")}${cause}`;
  }
  if (status === 429) return "es_rejected_execution_exception: still rejected with 429 after all retries";
  return `item failed with HTTP ${status}`;
}

/**
 * Writes ECS documents to data streams `logs-medsoc.<stream>-<namespace>` through the official
 * client's `helpers.bulk`: `create` actions with `_id` = `medsoc.doc_id`, so re-delivery answers 409
 * (counted as a duplicate). Retry classification (Vector's `retry.rs`, DESIGN.md "Sink"): items
 * answered 429 or 5xx and whole requests answered 429, 5xx or lost on the network are sent again with
 * backoff, `retries` rounds; then the rest is handed back — `SinkBackpressureError` (the queue waits
 * without spending an attempt) for 429 and failed requests, `SinkRetryableError` for items still
 * answered 5xx. Items answered any other 4xx (mapping errors) are dead-lettered with status and
 * reason; 401/403 and other request-level 4xx throw `SinkPermanentError`.
 */
export function createElasticsearchSink(
  rawConfig: ElasticsearchSinkConfigInput | ElasticsearchSinkConfig,
  deps: ElasticsearchSinkDeps = {},
): Sink {
  const config = parseSinkConfig(elasticsearchSinkConfigSchema, rawConfig, "elasticsearch");
  const log = (deps.log ?? silentLogger).child({ sink: "elasticsearch" });
  const client = deps.client ?? createElasticsearchClient(config);
  const ownsClient = deps.client === undefined;
  const random = deps.random ?? Math.random;
  const secrets = config.auth ? ["apiKey" in config.auth ? config.auth.apiKey : config.auth.password] : [];

  async function write(stream: string, docs: EcsDocument[]): Promise<SinkResult> {
    // One data stream per SIEM stream (device, alert, vulnerability, event, audit), whatever the
    // vendor stream: nozomi/node_cve findings go to logs-medsoc.vulnerability-*, forescout/host to
    // device. The stream comes from the one function the mappings stamp event.dataset with.
    const byStream = new Map<SiemStream, string>();
    // The data streams written to by this call, for the logs.
    let index = "";
    const indexOf = (doc: EcsDocument): string => {
      const name = routeDocument(doc, config.namespace, byStream);
      if (!index.split(", ").includes(name)) index = index === "" ? name : `${index}, ${name}`;
      return name;
    };
    if (!dataStreamPart.test(stream))
      throw new PermanentError(
        `writing to elasticsearch: stream name ${JSON.stringify(stream)} cannot be a dataset`,
      );
    const deadLettered: DeadLetter[] = [];
    let delivered = 0;
    let duplicates = 0;
    // Documents by id: the helper hands back re-serialised copies, we dead-letter the originals.
    const byId = new Map<string, EcsDocument>();
    const toSend: EcsDocument[] = [];
    for (const doc of docs) {
      const id = docIdOf(doc);
      if (id === undefined) {
        deadLettered.push({ stage: STAGE, reason: "document has no medsoc.doc_id", document: doc });
        continue;
      }
      if (byId.has(id)) {
        // Same id twice in one write: Elasticsearch would answer 409 for the second one anyway.
        duplicates += 1;
        continue;
      }
      byId.set(id, doc);
      toSend.push(doc);
    }

    if (toSend.length === 0) return { delivered, duplicates, deadLettered };
    const started = Date.now();
    let pending = toSend;
    // Rounds without progress: a failed request aborts the helper, so a round that settled some
    // documents (and left others unsent) resets the count.
    let round = 0;
    for (;;) {
      // Items answered 429 or 5xx in this round: sent again after a backoff (not the helper's own
      // 429-only retry, which waits a fixed time and then drops the document).
      const again: EcsDocument[] = [];
      let againReason = "";
      let again429 = 0;
      const settledNow = new Set<string>();
      let requestError: unknown;
      try {
        // No onSuccess: the helper would parse every document back to hand it over. Successes are
        // counted from the stats; after a failed request the unsettled documents are resent and the
        // ones that did get in come back as 409 duplicates, so nothing is lost or indexed twice.
        const stats = await client.helpers.bulk<EcsDocument>({
          datasource: pending,
          onDocument: (doc) => ({
            create: { _index: indexOf(doc), _id: docIdOf(doc) as string },
          }),
          flushBytes: config.flushBytes,
          concurrency: config.concurrency,
          retries: 0,
          wait: 0,
          // Only what the helper reads from each item: a much smaller response to parse.
          filter_path: "errors,items.*.status,items.*.error",
          onDrop: (dropped) => {
            const op = dropped.operation as { create?: { _id?: string } };
            const id = op.create?._id ?? "";
            settledNow.add(id);
            if (dropped.status === 409) {
              duplicates += 1;
              return;
            }
            const original = byId.get(id) ?? (dropped.document as EcsDocument);
            if (dropped.status === 429 || dropped.status >= 500) {
              if (dropped.status === 429) again429 += 1;
              again.push(original);
              againReason = describeItemError(dropped.error, dropped.status);
              return;
            }
            deadLettered.push({
              stage: STAGE,
              reason: describeItemError(dropped.error, dropped.status),
              status: dropped.status,
              document: original,
            });
          },
        });
        delivered += stats.successful;
      } catch (error) {
        requestError = error;
      }

      if (requestError === undefined && again.length === 0) break;
      const status = requestError instanceof errors.ResponseError ? requestError.statusCode : undefined;
      // Documents not settled this round (a failed request leaves the rest of its chunk unsent).
      const unsent =
        requestError === undefined ? [] : pending.filter((d) => !settledNow.has(docIdOf(d) as string));
      const remaining = [...again, ...unsent];
      const result: SinkResult = { delivered, duplicates, deadLettered };
      const partial = { result, remaining };
      const what =
        requestError !== undefined
          ? scrub(describeRequestError(requestError), secrets)
          : `${again.length} item(s) answered ${againReason}`;
      const message = `writing ${remaining.length} of ${docs.length} documents to elasticsearch data stream ${[...new Set(toSend.map(indexOf))].join(", ")}: ${what}`;
      if (requestError !== undefined) {
        if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
          log.warn({ index, status, remaining: remaining.length }, "Elasticsearch bulk request failed.");
          throw new SinkPermanentError(
            status === 401 || status === 403 ? `${message} (check sinks.elasticsearch.auth)` : message,
            partial,
          );
        }
        if (requestError instanceof errors.ProductNotSupportedError)
          throw new SinkPermanentError(message, partial);
      }
      if (settledNow.size > again.length || (requestError === undefined && again.length < pending.length))
        round = 0;
      if (round >= config.retries) {
        log.warn(
          {
            index,
            status,
            received: docs.length,
            delivered,
            duplicates,
            deadLettered: deadLettered.length,
            remaining: remaining.length,
          },
          "Elasticsearch bulk request failed.",
        );
        // Item 5xx alone spends a job attempt; a busy or unreachable cluster makes the queue wait.
        const backpressure = requestError !== undefined || again429 > 0;
        if (backpressure) throw new SinkBackpressureError(message, partial, { cause: requestError });
        throw new SinkRetryableError(message, partial);
      }
      const delayMs = backoffDelay(Math.max(1, round + 1), {
        baseMs: config.retryWaitMs,
        maxMs: config.maxRetryWaitMs,
        random,
      });
      log.info(
        { index, status, round: round + 1, delayMs, resending: remaining.length, error: what },
        "Elasticsearch did not take every document; resending the rest.",
      );
      await sleep(delayMs);
      round += 1;
      pending = remaining;
    }
    log.debug(
      {
        index,
        received: docs.length,
        delivered,
        duplicates,
        deadLettered: deadLettered.length,
        ms: Date.now() - started,
      },
      "Wrote documents to Elasticsearch.",
    );
    if (deadLettered.length > 0)
      log.warn(
        { index, deadLettered: deadLettered.length, first: deadLettered[0]?.reason },
        "Elasticsearch rejected documents.",
      );
    return { delivered, duplicates, deadLettered };
  }

  return {
    name: "elasticsearch",
    write,
    async close() {
      if (ownsClient) await client.close();
    },
  };
}

/** A short, secret-free description of a request-level client error. */
function describeRequestError(error: unknown): string {
  if (error instanceof errors.ResponseError) {
    const body = error.body as { error?: { type?: string; reason?: string } | string } | undefined;
    const e = body?.error;
    const what = typeof e === "string" ? e : e ? `${e.type ?? "error"}: ${e.reason ?? ""}` : error.message;
    return `HTTP ${error.statusCode}: ${what}`;
  }
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
