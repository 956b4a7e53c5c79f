/**
 * A loopback Elasticsearch double for fault tests and benchmarks: just enough of the REST API for
 * the official 8.x client (`x-elastic-product` on every reply, `GET /` cluster info), `POST /_bulk`
 * with data stream semantics (`create` only, duplicate `_id` → 409) and programmable faults, and the
 * template/ILM endpoints `medsoc setup elasticsearch` uses. Not a search engine.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

export interface ElasticsearchFaults {
  /** Per-item 429 for the first `times` attempts of each document matching `match`. */
  itemRateLimit?: { times: number; match: (doc: Record<string, unknown>, id: string) => boolean };
  /** Per-item 400 mapper_parsing_exception for documents matching the predicate. */
  mappingError?: (doc: Record<string, unknown>, id: string) => boolean;
  /**
   * Per-item 5xx (`status`, default 500) for the first `times` attempts of each document matching
   * `match`: what a shard failure or a node leaving looks like item by item; succeeds on retry.
   */
  itemServerError?: {
    times: number;
    status?: number;
    match: (doc: Record<string, unknown>, id: string) => boolean;
  };
  /** Answer the next N `_bulk` requests with a whole-request 503. */
  unavailable?: number;
  /**
   * Whole-request 429 (`es_rejected_execution_exception`, the coordinating node's indexing pressure):
   * a count of next requests, or a predicate asked per request. `Retry-After` is not sent (ES does not).
   */
  rateLimited?: number | (() => boolean);
  /** Delay every `_bulk` reply by this many ms. */
  delayMs?: number;
}

export interface ElasticsearchDoubleOptions {
  /** Keep only ids and counts, not document bodies (benchmarks). @defaultValue false */
  countOnly?: boolean;
  /** Require these credentials (HTTP Basic) and answer 401 otherwise. @defaultValue no auth */
  basicAuth?: { username: string; password: string };
  /** Require this API key (`Authorization: ApiKey <key>`). @defaultValue no auth */
  apiKey?: string;
  /** Cluster version reported by `GET /`. @defaultValue "8.19.0" */
  version?: string;
  faults?: ElasticsearchFaults;
}

export interface ElasticsearchDouble {
  /** `http://127.0.0.1:<port>` */
  url: string;
  stop(): Promise<void>;
  /** Stored documents per data stream / index: `_id` → the source line as sent (`null` in count-only mode). */
  stored: Map<string, Map<string, string | null>>;
  /** One stored document, parsed; undefined when absent or in count-only mode. */
  document(index: string, id: string): Record<string, unknown> | undefined;
  /** Number of stored documents over every index. */
  count(): number;
  /** Faults, mutable between requests. */
  faults: ElasticsearchFaults;
  /** Installed templates and policies by path (`/_index_template/medsoc-logs`). */
  resources: Map<string, unknown>;
  /** Requests seen per `METHOD path`. */
  requests: Map<string, number>;
  /** Bulk items answered per status (201, 409, 429, 400 …). */
  itemStatuses: Map<number, number>;
}

const JSON_HEADERS = {
  "content-type": "application/json",
  "x-elastic-product": "Elasticsearch",
};

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...JSON_HEADERS, ...headers });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const buf = Buffer.concat(chunks);
  return (req.headers["content-encoding"] === "gzip" ? gunzipSync(buf) : buf).toString("utf8");
}

function errorBody(status: number, type: string, reason: string): unknown {
  return { error: { root_cause: [{ type, reason }], type, reason }, status };
}

/** Starts the double on 127.0.0.1 with a free port. */
export async function startElasticsearchDouble(
  options: ElasticsearchDoubleOptions = {},
): Promise<ElasticsearchDouble> {
  const stored = new Map<string, Map<string, string | null>>();
  const resources = new Map<string, unknown>();
  const requests = new Map<string, number>();
  const itemStatuses = new Map<number, number>();
  const attempts = new Map<string, number>();
  const faults: ElasticsearchFaults = options.faults ?? {};
  const countOnly = options.countOnly ?? false;
  const version = options.version ?? "8.19.0";
  const expectedAuth = options.basicAuth
    ? `Basic ${Buffer.from(`${options.basicAuth.username}:${options.basicAuth.password}`).toString("base64")}`
    : options.apiKey
      ? `ApiKey ${options.apiKey}`
      : undefined;
  let seqNo = 0;

  /** Answers one `_bulk` body; the reply is built as a string to keep the double cheap at benchmark rates. */
  function bulk(body: string, defaultIndex: string | undefined): string {
    const lines = body.split("\n");
    const items: string[] = [];
    let errors = false;
    const needsDoc =
      faults.mappingError !== undefined ||
      faults.itemRateLimit !== undefined ||
      faults.itemServerError !== undefined;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (!line) continue;
      const action = JSON.parse(line) as Record<string, { _index?: string; _id?: string }>;
      const op = Object.keys(action)[0] as string;
      const meta = action[op] ?? {};
      const index = meta._index ?? defaultIndex ?? "";
      const id = meta._id ?? randomUUID();
      let docLine: string | undefined;
      if (op !== "delete") {
        i += 1;
        docLine = lines[i];
      }
      const doc = needsDoc && docLine ? (JSON.parse(docLine) as Record<string, unknown>) : {};
      const head = `{"${op}":{"_index":${JSON.stringify(index)},"_id":${JSON.stringify(id)}`;
      const item = (status: number, extra: string) => {
        itemStatuses.set(status, (itemStatuses.get(status) ?? 0) + 1);
        if (status >= 300) errors = true;
        items.push(`${head},"status":${status}${extra}}}`);
      };
      const fail = (status: number, error: Record<string, unknown>) =>
        item(status, `,"error":${JSON.stringify(error)}`);
      const isDataStream = index.startsWith("logs-") || index.startsWith("metrics-");
      if (isDataStream && op !== "create") {
        fail(400, {
          type: "illegal_argument_exception",
          reason: "only write ops with an op_type of create are allowed in data streams",
        });
        continue;
      }
      if (faults.itemRateLimit?.match(doc, id)) {
        const n = (attempts.get(id) ?? 0) + 1;
        attempts.set(id, n);
        if (n <= faults.itemRateLimit.times) {
          fail(429, {
            type: "es_rejected_execution_exception",
            reason: "rejected execution of coordinating operation [shard_indexing_pressure]",
          });
          continue;
        }
      }
      if (faults.itemServerError?.match(doc, id)) {
        const key = `5xx|${id}`;
        const n = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, n);
        if (n <= faults.itemServerError.times) {
          fail(faults.itemServerError.status ?? 500, {
            type: "unavailable_shards_exception",
            reason: `[${index}][0] primary shard is not active Timeout: [1m]`,
          });
          continue;
        }
      }
      if (faults.mappingError?.(doc, id)) {
        fail(400, {
          type: "mapper_parsing_exception",
          reason: "failed to parse field [host.ip] of type [ip]",
          caused_by: {
            type: "illegal_argument_exception",
            reason: "'not-an-ip' is not an IP string literal.",
          },
        });
        continue;
      }
      let docs = stored.get(index);
      if (!docs) {
        docs = new Map();
        stored.set(index, docs);
      }
      if (op === "create" && docs.has(id)) {
        fail(409, {
          type: "version_conflict_engine_exception",
          reason: `[${id}]: version conflict, document already exists (current version [1])`,
          index,
        });
        continue;
      }
      // The raw source line: parsing it is left to the assertions that need it (`document()`).
      docs.set(id, countOnly ? null : (docLine ?? null));
      seqNo += 1;
      item(201, `,"result":"created","_version":1,"_seq_no":${seqNo},"_primary_term":1`);
    }
    return `{"errors":${errors},"items":[${items.join(",")}]`;
  }

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://localhost");
      const path = url.pathname;
      const method = req.method ?? "GET";
      const key = `${method} ${path}`;
      requests.set(key, (requests.get(key) ?? 0) + 1);
      const body = await readBody(req);
      if (expectedAuth && req.headers.authorization !== expectedAuth) {
        return send(
          res,
          401,
          errorBody(401, "security_exception", "unable to authenticate user for REST request [/_bulk]"),
          {
            "www-authenticate": 'Basic realm="security", charset="UTF-8"',
          },
        );
      }
      if (path === "/" && (method === "GET" || method === "HEAD")) {
        return send(res, 200, {
          name: "medsoc-double",
          cluster_name: "medsoc-double",
          cluster_uuid: "medsoc-double-0000",
          version: {
            number: version,
            build_flavor: "default",
            lucene_version: "9.12.0",
            minimum_wire_compatibility_version: "7.17.0",
          },
          tagline: "You Know, for Search",
        });
      }
      const bulkMatch = /^\/(?:([^/]+)\/)?_bulk$/.exec(path);
      if (bulkMatch && (method === "POST" || method === "PUT")) {
        if (faults.delayMs) await new Promise((r) => setTimeout(r, faults.delayMs));
        const limited =
          typeof faults.rateLimited === "function"
            ? faults.rateLimited()
            : faults.rateLimited !== undefined && faults.rateLimited > 0;
        if (limited) {
          if (typeof faults.rateLimited === "number") faults.rateLimited -= 1;
          return send(
            res,
            429,
            errorBody(
              429,
              "es_rejected_execution_exception",
              "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1024, max_coordinating_and_primary_bytes=0]",
            ),
          );
        }
        if (faults.unavailable && faults.unavailable > 0) {
          faults.unavailable -= 1;
          return send(
            res,
            503,
            errorBody(503, "unavailable_shards_exception", "primary shard is not active"),
          );
        }
        const started = Date.now();
        const result = bulk(body, bulkMatch[1]);
        return send(res, 200, `${result},"took":${Date.now() - started}}`);
      }
      if (/^\/(_index_template|_component_template|_ilm\/policy)\/[^/]+$/.test(path)) {
        if (method === "PUT") {
          const parsed = body ? (JSON.parse(body) as Record<string, unknown>) : {};
          resources.set(path, parsed);
          return send(res, 200, { acknowledged: true });
        }
        if (method === "GET") {
          const found = resources.get(path) as Record<string, unknown> | undefined;
          const name = path.split("/").at(-1) as string;
          if (!found)
            return send(res, 404, errorBody(404, "resource_not_found_exception", `${name} not found`));
          if (path.startsWith("/_index_template/"))
            return send(res, 200, { index_templates: [{ name, index_template: found }] });
          if (path.startsWith("/_component_template/"))
            return send(res, 200, { component_templates: [{ name, component_template: found }] });
          return send(res, 200, {
            [name]: { version: 1, modified_date: new Date().toISOString(), policy: found.policy },
          });
        }
      }
      return send(
        res,
        404,
        errorBody(404, "no_handler_found", `no handler found for uri [${path}] and method [${method}]`),
      );
    })().catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, errorBody(500, "exception", String(error)));
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stored,
    faults,
    resources,
    requests,
    itemStatuses,
    document: (index, id) => {
      const line = stored.get(index)?.get(id);
      return line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
    },
    count: () => {
      let n = 0;
      for (const m of stored.values()) n += m.size;
      return n;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
