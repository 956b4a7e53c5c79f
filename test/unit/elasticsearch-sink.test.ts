import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Client, errors } from "@elastic/elasticsearch";
import MockModule, { type MockPattern } from "@elastic/elasticsearch-mock";
import { BackpressureError, ConfigError, isRetryable } from "../../core/errors.ts";
import { createLogger } from "../../core/log.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import {
  partialWriteOf,
  SinkBackpressureError,
  SinkPermanentError,
  SinkRetryableError,
} from "../../worker/sinks/common.ts";
import { createElasticsearchSink } from "../../worker/sinks/elasticsearch.ts";

// The package is CommonJS (`module.exports = Mocker`) but its types declare a default export.
const Mock = MockModule as unknown as typeof MockModule.default;

function doc(i: number, extra: Record<string, unknown> = {}): EcsDocument {
  return {
    "@timestamp": new Date(Date.UTC(2025, 2, 29, 2, 2, 9, i)).toISOString(),
    event: { kind: "asset", category: ["host"], type: ["info"], ingested: "2025-03-29T02:03:00.000Z" },
    host: { name: `pump-icu-${i}`, ip: ["10.20.30.41"] },
    medsoc: { doc_id: `doc-${i}`, source: "armis", stream: "device" },
    ...extra,
  };
}

type BulkLine = Record<string, unknown>;

/** A mock whose `_bulk` answers each `create` through `decide(id, attempt)` and records the bodies. */
function bulkMock(decide: (id: string, attempt: number) => { status: number; error?: unknown }) {
  const mock = new Mock();
  const bodies: BulkLine[][] = [];
  const attempts = new Map<string, number>();
  mock.add({ method: "POST", path: "/_bulk" }, (params: MockPattern) => {
    const lines = params.body as BulkLine[];
    bodies.push(lines);
    const items: unknown[] = [];
    let failed = false;
    for (let i = 0; i < lines.length; i += 2) {
      const action = (lines[i] as { create: { _index: string; _id: string } }).create;
      const n = (attempts.get(action._id) ?? 0) + 1;
      attempts.set(action._id, n);
      const { status, error } = decide(action._id, n);
      if (status >= 300) failed = true;
      items.push({ create: { _index: action._index, _id: action._id, status, ...(error ? { error } : {}) } });
    }
    return { took: 1, errors: failed, items };
  });
  const client = new Client({
    node: "http://localhost:9200",
    Connection: mock.getConnection(),
    maxRetries: 0,
  });
  return { mock, client, bodies };
}

const config = { node: "http://localhost:9200", retryWaitMs: 5 };

describe("elasticsearch sink (contract, @elastic/elasticsearch-mock)", () => {
  it("sends create actions to logs-medsoc.<stream>-default with _id = medsoc.doc_id", async () => {
    const { client, bodies } = bulkMock(() => ({ status: 201 }));
    const sink = createElasticsearchSink(config, { client });
    const docs = [doc(1), doc(2), doc(3)];
    const result = await sink.write("device", docs);
    assert.deepEqual(result, { delivered: 3, duplicates: 0, deadLettered: [] });
    assert.equal(bodies.length, 1);
    const body = bodies[0] as BulkLine[];
    assert.deepEqual(body[0], { create: { _index: "logs-medsoc.device-default", _id: "doc-1" } });
    assert.deepEqual(body[1], docs[0], "the document is sent unchanged");
    assert.deepEqual(body[4], { create: { _index: "logs-medsoc.device-default", _id: "doc-3" } });
  });

  it("writes vendor streams to the SIEM stream of each document (node_cve → vulnerability, host → device)", async () => {
    const { client, bodies } = bulkMock(() => ({ status: 201 }));
    const sink = createElasticsearchSink(config, { client });
    const finding = doc(1, { event: { kind: "event", category: ["vulnerability"] } });
    const inventory = doc(2, { event: { kind: "asset", category: ["host"] } });
    const network = doc(3, { event: { kind: "event", category: ["network"] } });
    await sink.write("node_cve", [finding]);
    await sink.write("host", [inventory]);
    await sink.write("event", [network]);
    assert.deepEqual(
      bodies.map((b) => (b[0] as { create: { _index: string } }).create._index),
      ["logs-medsoc.vulnerability-default", "logs-medsoc.device-default", "logs-medsoc.event-default"],
    );
  });

  it("uses the configured namespace, and the document's data_stream.* says the data stream it is in", async () => {
    const { client, bodies } = bulkMock(() => ({ status: 201 }));
    const sink = createElasticsearchSink({ ...config, namespace: "stjude" }, { client });
    // Stamped for the default namespace (as `medsoc normalize` does): the sink writes its own.
    const stamped = doc(1, {
      data_stream: { type: "logs", dataset: "medsoc.device", namespace: "default" },
    });
    stamped.event.dataset = "medsoc.device";
    await sink.write("device", [stamped]);
    assert.deepEqual(bodies[0]?.[0], { create: { _index: "logs-medsoc.device-stjude", _id: "doc-1" } });
    const written = bodies[0]?.[1] as { data_stream: unknown; event: { dataset: unknown } };
    assert.deepEqual(written.data_stream, { type: "logs", dataset: "medsoc.device", namespace: "stjude" });
    assert.equal(written.event.dataset, "medsoc.device");
  });

  it("routes by what the document is, not by the batch's stream name (an alert in a 'device' batch)", async () => {
    const { client, bodies } = bulkMock(() => ({ status: 201 }));
    const sink = createElasticsearchSink(config, { client });
    await sink.write("device", [doc(1, { event: { kind: "alert" } })]);
    assert.deepEqual(bodies[0]?.[0], { create: { _index: "logs-medsoc.alert-default", _id: "doc-1" } });
    const written = bodies[0]?.[1] as { data_stream: { dataset: unknown }; event: { dataset: unknown } };
    assert.equal(written.data_stream.dataset, "medsoc.alert");
    assert.equal(written.event.dataset, "medsoc.alert");
  });

  it("counts a 409 conflict as a duplicate, not an error", async () => {
    const { client } = bulkMock((id) =>
      id === "doc-2"
        ? {
            status: 409,
            error: { type: "version_conflict_engine_exception", reason: "document already exists" },
          }
        : { status: 201 },
    );
    const sink = createElasticsearchSink(config, { client });
    const result = await sink.write("device", [doc(1), doc(2), doc(3)]);
    assert.deepEqual(result, { delivered: 2, duplicates: 1, deadLettered: [] });
  });

  it("dead-letters a 400 item with its status and reason, keeping the original document", async () => {
    const { client } = bulkMock((id) =>
      id === "doc-2"
        ? {
            status: 400,
            error: {
              type: "mapper_parsing_exception",
              reason: "failed to parse field [host.ip] of type [ip]",
              caused_by: { type: "illegal_argument_exception", reason: "'x' is not an IP string literal." },
            },
          }
        : { status: 201 },
    );
    const sink = createElasticsearchSink(config, { client });
    const docs = [doc(1), doc(2, { host: { ip: "x" } }), doc(3)];
    const result = await sink.write("device", docs);
    assert.equal(result.delivered, 2);
    assert.equal(result.duplicates, 0);
    assert.equal(result.deadLettered.length, 1);
    const dead = result.deadLettered[0];
    assert.equal(dead?.status, 400);
    assert.equal(dead?.stage, "sink.elasticsearch");
    assert.match(dead?.reason ?? "", /mapper_parsing_exception: failed to parse field \[host\.ip\]/);
    assert.match(dead?.reason ?? "", /caused by illegal_argument_exception/);
    assert.equal(dead?.document, docs[1], "the original object, not a re-parsed copy");
  });

  it("retries 429 items (and only them) until they succeed", async () => {
    const { client, bodies } = bulkMock((id, attempt) =>
      id === "doc-2" && attempt <= 2
        ? { status: 429, error: { type: "es_rejected_execution_exception", reason: "rejected" } }
        : { status: 201 },
    );
    const sink = createElasticsearchSink({ ...config, retries: 3 }, { client });
    const result = await sink.write("device", [doc(1), doc(2), doc(3)]);
    assert.deepEqual(result, { delivered: 3, duplicates: 0, deadLettered: [] });
    assert.equal(bodies.length, 3, "first request, then two retries");
    assert.equal(bodies[1]?.length, 2, "a retry carries only the rejected document");
    assert.deepEqual(bodies[1]?.[0], { create: { _index: "logs-medsoc.device-default", _id: "doc-2" } });
  });

  it("hands a 429 item back as backpressure once its rounds are spent, never dead-letters it", async () => {
    const { client } = bulkMock((id) =>
      id === "doc-1"
        ? { status: 429, error: { type: "es_rejected_execution_exception", reason: "rejected" } }
        : { status: 201 },
    );
    const sink = createElasticsearchSink({ ...config, retries: 2 }, { client });
    const error = await sink.write("device", [doc(1), doc(2)]).then(
      () => assert.fail("expected backpressure"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof SinkBackpressureError, String(error));
    assert.ok(error instanceof BackpressureError, "the queue waits without spending an attempt");
    assert.equal(error.partial.result.delivered, 1);
    assert.equal(error.partial.result.deadLettered.length, 0);
    assert.deepEqual(
      error.partial.remaining.map((d) => d.medsoc.doc_id),
      ["doc-1"],
    );
  });

  it("retries item 5xx with backoff and hands a persistent one back as retryable (spends an attempt)", async () => {
    const flaky = bulkMock((id, attempt) =>
      id === "doc-2" && attempt <= 2
        ? {
            status: 503,
            error: { type: "unavailable_shards_exception", reason: "primary shard is not active" },
          }
        : { status: 201 },
    );
    const ok = await createElasticsearchSink({ ...config, retries: 3 }, { client: flaky.client }).write(
      "device",
      [doc(1), doc(2), doc(3)],
    );
    assert.deepEqual(ok, { delivered: 3, duplicates: 0, deadLettered: [] });
    assert.equal(flaky.bodies.length, 3);

    const broken = bulkMock((id) =>
      id === "doc-2" ? { status: 500, error: { type: "exception", reason: "boom" } } : { status: 201 },
    );
    const sink = createElasticsearchSink({ ...config, retries: 1 }, { client: broken.client });
    const error = await sink.write("device", [doc(1), doc(2)]).then(
      () => assert.fail("expected a retryable failure"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof SinkRetryableError, String(error));
    assert.ok(!(error instanceof BackpressureError), "a failing item spends job attempts");
    assert.match(error.message, /1 item\(s\) answered exception: boom/);
    assert.equal(error.partial.result.deadLettered.length, 0);
    assert.deepEqual(
      error.partial.remaining.map((d) => d.medsoc.doc_id),
      ["doc-2"],
    );
  });

  it("dead-letters a document without medsoc.doc_id and sends the rest", async () => {
    const { client } = bulkMock(() => ({ status: 201 }));
    const sink = createElasticsearchSink(config, { client });
    const bad = doc(9);
    (bad.medsoc as Record<string, unknown>).doc_id = undefined;
    const result = await sink.write("device", [doc(1), bad]);
    assert.equal(result.delivered, 1);
    assert.equal(result.deadLettered[0]?.reason, "document has no medsoc.doc_id");
  });

  it("turns a 401 on the bulk request into a permanent error without the password", async () => {
    const mock = new Mock();
    mock.add(
      { method: "POST", path: "/_bulk" },
      () =>
        // The package is CommonJS for both `import` and `require`, so this is the mock's own class.
        new errors.ResponseError({
          body: { error: { type: "security_exception", reason: "unable to authenticate user" }, status: 401 },
          statusCode: 401,
          headers: {},
          warnings: null,
          meta: {} as never,
        }),
    );
    const lines: string[] = [];
    const log = createLogger({ level: "debug", destination: { write: (s: string) => void lines.push(s) } });
    const password = "hunter2-very-secret";
    const client = new Client({
      node: "http://localhost:9200",
      Connection: mock.getConnection(),
      auth: { username: "medsoc", password },
      maxRetries: 0,
    });
    const sink = createElasticsearchSink(
      { ...config, auth: { username: "medsoc", password } },
      { client, log },
    );
    const error = await sink.write("device", [doc(1), doc(2)]).then(
      () => assert.fail("expected an error"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof SinkPermanentError, String(error));
    assert.equal(isRetryable(error), false);
    assert.match(error.message, /HTTP 401: security_exception/);
    assert.match(error.message, /check sinks\.elasticsearch\.auth/);
    assert.equal(partialWriteOf(error)?.remaining.length, 2);
    assert.ok(!error.message.includes(password));
    assert.ok(!lines.join("").includes(password));
    assert.ok(lines.length > 0, "the failure was logged");
  });

  it("rejects bad settings with every problem at once", () => {
    assert.throws(
      () =>
        createElasticsearchSink({
          node: "http://elastic:pw@localhost:9200",
          namespace: "a-b",
          concurrency: 0,
        }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.problems.length, 3);
        assert.ok(e.problems.some((p) => p.path === "sinks.elasticsearch.node"));
        assert.ok(e.problems.some((p) => p.path === "sinks.elasticsearch.namespace"));
        return true;
      },
    );
  });
});
