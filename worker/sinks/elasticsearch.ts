import { Client, type ClientOptions, errors } from "@elastic/elasticsearch";
import { z } from "zod";
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
  /** Retries per document answered with 429 (the only per-item status worth retrying). @defaultValue 5 */
  retries: z.number().int().min(0).max(50).default(5),
  /** Wait before retrying 429 documents. @defaultValue 2000 (ms) */
  retryWaitMs: z.number().int().min(0).max(600_000).default(2000),
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
 * (counted as a duplicate); 429 items are retried by the helper; every other failed item is
 * dead-lettered with its status and reason. A failed request (network, 5xx after the client's
 * retries) throws `SinkRetryableError`; 401/403 and other request-level 4xx throw `SinkPermanentError`.
 */
export function createElasticsearchSink(
  rawConfig: ElasticsearchSinkConfigInput | ElasticsearchSinkConfig,
  deps: ElasticsearchSinkDeps = {},
): Sink {
  const config = parseSinkConfig(elasticsearchSinkConfigSchema, rawConfig, "elasticsearch");
  const log = (deps.log ?? silentLogger).child({ sink: "elasticsearch" });
  const client = deps.client ?? createElasticsearchClient(config);
  const ownsClient = deps.client === undefined;
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
    const settled = new Set<string>();
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
    try {
      // No onSuccess: the helper would parse every document back to hand it over. Successes are
      // counted from the stats; after a failed request the unsettled documents are resent and the
      // ones that did get in come back as 409 duplicates, so nothing is lost or indexed twice.
      const stats = await client.helpers.bulk<EcsDocument>({
        datasource: toSend,
        onDocument: (doc) => ({
          create: { _index: indexOf(doc), _id: docIdOf(doc) as string },
        }),
        flushBytes: config.flushBytes,
        concurrency: config.concurrency,
        retries: config.retries,
        wait: config.retryWaitMs,
        // Only what the helper reads from each item: a much smaller response to parse.
        filter_path: "errors,items.*.status,items.*.error",
        onDrop: (dropped) => {
          const op = dropped.operation as { create?: { _id?: string } };
          const id = op.create?._id ?? "";
          settled.add(id);
          if (dropped.status === 409) {
            duplicates += 1;
            return;
          }
          deadLettered.push({
            stage: STAGE,
            reason: describeItemError(dropped.error, dropped.status),
            status: dropped.status,
            document: byId.get(id) ?? dropped.document,
          });
        },
      });
      delivered = stats.successful;
    } catch (error) {
      const result: SinkResult = { delivered, duplicates, deadLettered };
      const remaining = toSend.filter((d) => !settled.has(docIdOf(d) as string));
      const partial = { result, remaining };
      const status = error instanceof errors.ResponseError ? error.statusCode : undefined;
      const detail = scrub(describeRequestError(error), secrets);
      const message = `writing ${remaining.length} of ${docs.length} documents to elasticsearch data stream ${[...new Set(toSend.map(indexOf))].join(", ")}: ${detail}`;
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
      if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429)
        throw new SinkPermanentError(
          status === 401 || status === 403 ? `${message} (check sinks.elasticsearch.auth)` : message,
          partial,
        );
      if (error instanceof errors.ProductNotSupportedError) throw new SinkPermanentError(message, partial);
      throw new SinkRetryableError(message, partial);
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
