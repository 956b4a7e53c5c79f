/**
 * Fault tests of the Elasticsearch and Splunk HEC sinks against the loopback doubles (no Redis, no
 * cluster: everything on 127.0.0.1). Every case counts what went in and what came out:
 * delivered + duplicates + dead-lettered (+ remaining, when the write failed) == input, and the
 * double stored exactly what the sink reports as delivered.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client } from "@elastic/elasticsearch";
import { isRetryable } from "../../core/errors.ts";
import { createLogger } from "../../core/log.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import { type ElasticsearchDouble, startElasticsearchDouble } from "../../simulators/elasticsearch.ts";
import { type HecDouble, startHecDouble } from "../../simulators/hec.ts";
import { setupElasticsearch } from "../../worker/commands/setup-elasticsearch.ts";
import { SinkBackpressureError, SinkPermanentError, SinkRetryableError } from "../../worker/sinks/common.ts";
import { createElasticsearchSink } from "../../worker/sinks/elasticsearch.ts";
import { createSplunkHecSink } from "../../worker/sinks/splunk-hec.ts";
import type { SinkResult } from "../../worker/sinks/types.ts";

const TOKEN = "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f";
const PASSWORD = "correct-horse-battery-staple";

function doc(i: number, extra: Record<string, unknown> = {}): EcsDocument {
  return {
    "@timestamp": new Date(Date.UTC(2025, 2, 29, 2, 2, 9) + i).toISOString(),
    event: { kind: "asset", category: ["host"], type: ["info"], severity: 73 },
    host: { name: `pump-${i}`, ip: [`10.20.${(i >> 8) & 255}.${i & 255}`] },
    medsoc: { doc_id: `doc-${i}`, source: "armis", stream: "device" },
    ...extra,
  };
}
const docs = (n: number, from = 0) => Array.from({ length: n }, (_, i) => doc(from + i));

function capture() {
  const lines: string[] = [];
  const log = createLogger({ level: "debug", destination: { write: (s: string) => void lines.push(s) } });
  return { log, text: () => lines.join("") };
}

/** The accounting rule: nothing appears, nothing disappears. */
function assertBalanced(input: number, result: SinkResult, remaining = 0): void {
  assert.equal(
    result.delivered + result.duplicates + result.deadLettered.length + remaining,
    input,
    `in ${input} ≠ delivered ${result.delivered} + duplicates ${result.duplicates} + dead ${result.deadLettered.length} + remaining ${remaining}`,
  );
}

async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => assert.fail("expected the write to fail"),
    (e: unknown) => e as Error,
  );
}

describe("elasticsearch sink against the loopback _bulk double", () => {
  let es: ElasticsearchDouble;
  before(async () => {
    es = await startElasticsearchDouble({ basicAuth: { username: "medsoc", password: PASSWORD } });
  });
  after(() => es.stop());

  const settings = () => ({
    node: es.url,
    auth: { username: "medsoc", password: PASSWORD },
    retryWaitMs: 5,
    flushBytes: 4096,
    concurrency: 3,
    maxRetries: 2,
  });

  it("installs the templates through the real client, idempotently", async () => {
    const client = new Client({ node: es.url, auth: { username: "medsoc", password: PASSWORD } });
    const first = await setupElasticsearch(client, { namespace: "default" });
    const second = await setupElasticsearch(client, { namespace: "default" });
    await client.close();
    assert.equal(first.installed.length, 5);
    assert.deepEqual(second, { installed: [], unchanged: first.installed });
    assert.deepEqual(
      (es.resources.get("/_index_template/medsoc-logs") as { index_patterns: string[] }).index_patterns,
      ["logs-medsoc.*-*"],
    );
  });

  it("handles partial failures: 429 items retried, mapping errors dead-lettered, re-delivery duplicates", async () => {
    es.faults.itemRateLimit = { times: 2, match: (_d, id) => Number(id.slice(4)) % 7 === 0 };
    es.faults.mappingError = (d) => (d.host as { name: string }).name.endsWith("13");
    const sink = createElasticsearchSink(settings());
    const input = docs(300, 1000);
    const before = es.count();
    const result = await sink.write("device", input);
    assertBalanced(300, result);
    const badNames = input.filter((d) => (d.host as { name: string }).name.endsWith("13")).length;
    assert.equal(result.deadLettered.length, badNames);
    assert.ok(
      result.deadLettered.every((d) => d.status === 400 && d.reason.startsWith("mapper_parsing_exception")),
    );
    assert.equal(es.count() - before, result.delivered, "the double stored what the sink delivered");
    assert.ok((es.itemStatuses.get(429) ?? 0) > 0, "429s happened and were retried");
    assert.ok(es.stored.get("logs-medsoc.device-default")?.has("doc-1000"));

    // The same batch again: everything stored is a duplicate, the bad ones are dead again.
    es.faults.itemRateLimit = undefined;
    const again = await sink.write("device", input);
    assertBalanced(300, again);
    assert.equal(again.duplicates, result.delivered);
    assert.equal(again.delivered, 0);
    assert.equal(es.count() - before, result.delivered);
    es.faults.mappingError = undefined;
    await sink.close();
  });

  it("retries item 5xx and whole-request 429 with backoff: nothing dead-lettered but the mapping errors", async () => {
    es.faults.itemServerError = { times: 2, match: (_d, id) => Number(id.slice(4)) % 5 === 0 };
    es.faults.itemRateLimit = { times: 1, match: (_d, id) => Number(id.slice(4)) % 3 === 0 };
    es.faults.mappingError = (d) => (d.host as { name: string }).name.endsWith("77");
    let requests = 0;
    es.faults.rateLimited = () => ++requests % 3 === 1;
    const sink = createElasticsearchSink(settings());
    const input = docs(400, 7000);
    const before = es.count();
    const result = await sink.write("device", input);
    es.faults.itemServerError = undefined;
    es.faults.itemRateLimit = undefined;
    es.faults.mappingError = undefined;
    es.faults.rateLimited = undefined;
    assertBalanced(400, result);
    const bad = input.filter((d) => (d.host as { name: string }).name.endsWith("77")).length;
    assert.equal(result.deadLettered.length, bad, "only the permanent mapping errors");
    assert.ok(
      result.deadLettered.every((d) => d.status === 400 && /mapper_parsing_exception/.test(d.reason)),
    );
    assert.equal(es.count() - before, 400 - bad);
    assert.equal(result.delivered + result.duplicates, 400 - bad);
    assert.ok((es.itemStatuses.get(500) ?? 0) > 0 && (es.itemStatuses.get(429) ?? 0) > 0);
    await sink.close();
  });

  it("rides out a short 503 with the client's retries, then hands a long one back as backpressure", async () => {
    const sink = createElasticsearchSink(settings());
    const before = es.count();
    es.faults.unavailable = 2; // maxRetries 2: third attempt succeeds
    const ok = await sink.write("device", docs(20, 2000));
    assert.deepEqual(ok, { delivered: 20, duplicates: 0, deadLettered: [] });

    es.faults.unavailable = 1000;
    const input = docs(50, 3000);
    const error = await failure(sink.write("device", input));
    assert.ok(error instanceof SinkBackpressureError, String(error));
    assert.match(
      error.message,
      /^writing \d+ of 50 documents to elasticsearch data stream logs-medsoc\.device-default: HTTP 503/,
    );
    assertBalanced(50, error.partial.result, error.partial.remaining.length);
    assert.equal(es.count() - before, 20 + error.partial.result.delivered);

    // Cluster back: resending only the remaining documents completes the batch.
    es.faults.unavailable = 0;
    const rest = await sink.write("device", error.partial.remaining);
    assertBalanced(error.partial.remaining.length, rest);
    assert.equal(es.count() - before, 70);
    await sink.close();
  });

  it("fails permanently on wrong credentials and retryably when the cluster is gone, never printing the password", async () => {
    const { log, text } = capture();
    const wrong = createElasticsearchSink(
      { ...settings(), auth: { username: "medsoc", password: "wrong-password-123" } },
      { log },
    );
    const denied = await failure(wrong.write("device", docs(5, 4000)));
    assert.ok(denied instanceof SinkPermanentError);
    assert.match(denied.message, /HTTP 401: security_exception/);
    assert.ok(!denied.message.includes("wrong-password-123"));
    await wrong.close();

    const gone = await startElasticsearchDouble();
    const url = gone.url;
    await gone.stop();
    const sink = createElasticsearchSink({ ...settings(), node: url, maxRetries: 1, retries: 1 }, { log });
    const error = await failure(sink.write("device", docs(5, 5000)));
    assert.ok(error instanceof SinkBackpressureError, "an unreachable cluster makes the queue wait");
    assert.ok(isRetryable(error));
    assert.match(error.message, /ConnectionError/);
    assert.equal(error.partial.remaining.length, 5);
    assert.ok(!error.message.includes(PASSWORD));
    assert.ok(!text().includes(PASSWORD) && !text().includes("wrong-password-123"));
    assert.ok(text().includes("Elasticsearch bulk request failed."));
    await sink.close();
  });
});

describe("splunk hec sink against the loopback HEC double", () => {
  let hec: HecDouble;
  before(async () => {
    hec = await startHecDouble({ token: TOKEN, allowedIndexes: ["iomt", "main"] });
  });
  after(() => hec.stop());
  const settings = { token: TOKEN, index: "iomt", retry: { baseDelayMs: 1, maxDelayMs: 10, maxAttempts: 4 } };

  it("retries code 9 (server busy) and then delivers everything", async () => {
    const sink = createSplunkHecSink({ ...settings, url: hec.url, maxBatchEvents: 50 });
    const before = hec.count();
    hec.faults.busy = 2;
    const result = await sink.write("device", docs(120));
    assert.deepEqual(result, { delivered: 120, duplicates: 0, deadLettered: [] });
    assert.equal(hec.codes.get(9), 2);
    assert.equal(hec.count() - before, 120);
    await sink.close();
  });

  it("on code 6 with invalid-event-number keeps the head, dead-letters the bad event and resends the tail", async () => {
    const sink = createSplunkHecSink({ ...settings, url: hec.url, maxBatchEvents: 40 });
    const before = hec.count();
    const storedBefore = hec.stored.length;
    const bad = new Set(["doc-17", "doc-55", "doc-56"]);
    hec.faults.invalidEventAt = (env) => bad.has((env.fields as { event_id: string }).event_id);
    const result = await sink.write("device", docs(100));
    hec.faults.invalidEventAt = undefined;
    assertBalanced(100, result);
    assert.equal(result.delivered, 97);
    assert.deepEqual(
      result.deadLettered.map((d) => (d.document as EcsDocument).medsoc.doc_id).sort(),
      [...bad].sort(),
    );
    assert.ok(
      result.deadLettered.every((d) => d.status === 400 && /code 6 \(Invalid data format\)/.test(d.reason)),
    );
    assert.equal(hec.count() - before, 97);
    const ids = hec.stored.slice(storedBefore).map((e) => (e.fields as { event_id: string }).event_id);
    assert.equal(new Set(ids).size, 97, "no event indexed twice");
    assert.ok(ids.every((id) => !bad.has(id)));
    await sink.close();
  });

  it("prevents the silent-loss case by validating envelopes before sending", async () => {
    // What Splunk does with a typo'd key: 200 Success, and everything from that object on is gone.
    const raw = [
      { event: { n: 1 }, sourcetype: "medsoc:device" },
      { event: { n: 2 }, sourcetpye: "medsoc:device" },
      { event: { n: 3 }, sourcetype: "medsoc:device" },
    ];
    const before = hec.count();
    const res = await fetch(`${hec.url}/services/collector/event`, {
      method: "POST",
      headers: { authorization: `Splunk ${TOKEN}` },
      body: raw.map((r) => JSON.stringify(r)).join(""),
    });
    assert.deepEqual(await res.json(), { text: "Success", code: 0 });
    assert.equal(hec.count() - before, 1, "the double reproduces the loss");
    const dropped = hec.silentlyDropped;

    // The sink with a decorator that introduces the same typo for one document.
    const sink = createSplunkHecSink(
      { ...settings, url: hec.url },
      {
        decorateEnvelope: (env, d) => {
          if (d.medsoc.doc_id !== "doc-3") return { ...env };
          const { sourcetype, ...rest } = env;
          return { ...rest, sourcetpye: sourcetype };
        },
      },
    );
    const result = await sink.write("device", docs(6));
    assertBalanced(6, result);
    assert.equal(result.delivered, 5);
    assert.equal(result.deadLettered.length, 1);
    assert.match(
      result.deadLettered[0]?.reason ?? "",
      /^invalid hec envelope: envelope must NOT have additional properties/,
    );
    assert.equal(hec.silentlyDropped, dropped, "nothing was silently dropped");
    assert.equal(hec.count() - before, 1 + 5);
    await sink.close();
  });

  it("dead-letters the rest of the batch on code 7 (index not allowed) without trusting N", async () => {
    const sink = createSplunkHecSink({ ...settings, url: hec.url, index: "not_allowed" });
    const before = hec.count();
    const result = await sink.write("device", docs(10));
    assertBalanced(10, result);
    assert.equal(result.delivered, 0);
    assert.equal(result.deadLettered.length, 10);
    assert.match(
      result.deadLettered[0]?.reason ?? "",
      /hec refused the index \(configuration\): HTTP 400 code 7/,
    );
    assert.equal(hec.count() - before, 0);
    await sink.close();
  });

  it("after bounded retries hands back backpressure with only the unsent events remaining", async () => {
    const sink = createSplunkHecSink({ ...settings, url: hec.url, maxBatchEvents: 10, concurrency: 1 });
    const before = hec.count();
    // First batch goes through, then the server stays busy.
    let requests = 0;
    hec.faults.invalidEventAt = () => {
      requests += 1;
      if (requests === 10) hec.faults.busy = 1000;
      return false;
    };
    const input = docs(35);
    const error = await failure(sink.write("device", input));
    hec.faults.invalidEventAt = undefined;
    hec.faults.busy = 0;
    assert.ok(error instanceof SinkBackpressureError, String(error));
    assert.match(
      error.message,
      /^sending hec batch to .*: hec still failing after 4 attempts: HTTP 503 code 9 \(Server is busy\)/,
    );
    assert.equal(error.partial.result.delivered, 10);
    assert.equal(error.partial.remaining.length, 25);
    assertBalanced(35, error.partial.result, error.partial.remaining.length);
    assert.equal(hec.count() - before, 10);
    const rest = await sink.write("device", error.partial.remaining);
    assert.equal(rest.delivered, 25);
    assert.equal(hec.count() - before, 35, "nothing accepted was sent twice");
    await sink.close();
  });

  it("never prints the token, even when every request fails", async () => {
    const { log, text } = capture();
    hec.faults.busy = 3;
    const sink = createSplunkHecSink(
      { ...settings, url: hec.url, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } },
      { log },
    );
    const error = await failure(sink.write("device", docs(3)));
    hec.faults.busy = 0;
    assert.ok(!error.message.includes(TOKEN));
    assert.ok(!text().includes(TOKEN));
    assert.ok(text().includes("HEC request failed; retrying."));
    await sink.close();
  });
});

describe("splunk hec sink with indexer acknowledgement", () => {
  let hec: HecDouble;
  before(async () => {
    hec = await startHecDouble({ token: TOKEN, useAck: true });
  });
  after(() => hec.stop());
  const settings = () => ({
    url: hec.url,
    token: TOKEN,
    useAck: true,
    maxBatchEvents: 25,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ack: { pollIntervalMs: 10, timeoutMs: 150, maxPending: 2, maxResends: 2 },
  });

  it("counts a batch as delivered only once its ackId is acknowledged", async () => {
    const sink = createSplunkHecSink(settings());
    const before = { count: hec.count(), polls: hec.ackPolls };
    const result = await sink.write("device", docs(100));
    assert.deepEqual(result, { delivered: 100, duplicates: 0, deadLettered: [] });
    assert.ok(hec.ackPolls > before.polls, "acks were polled");
    assert.equal(hec.count() - before.count, 100);
    await sink.close();
  });

  it("resends a batch whose ack never comes (at-least-once), then delivers", async () => {
    const sink = createSplunkHecSink(settings());
    const before = { count: hec.count(), requests: hec.requests };
    hec.faults.loseAcks = 1;
    const result = await sink.write("device", docs(50, 500));
    assert.deepEqual(result, { delivered: 50, duplicates: 0, deadLettered: [] });
    assert.equal(hec.requests - before.requests, 3, "two batches and one resend");
    assert.equal(hec.count() - before.count, 50, "the lost batch was stored once, by the resend");
    await sink.close();
  });

  it("after the resend bound hands the unacknowledged batch back as retryable, never dead-letters it", async () => {
    const sink = createSplunkHecSink({ ...settings(), ack: { ...settings().ack, maxResends: 1 } });
    const before = hec.count();
    hec.faults.loseAcks = 2;
    const input = docs(20, 900);
    const error = await failure(sink.write("device", input));
    assert.ok(error instanceof SinkRetryableError, String(error));
    assert.match(error.message, /no indexer acknowledgement after 2 sends/);
    assert.equal(error.partial.result.deadLettered.length, 0);
    assert.equal(error.partial.remaining.length, 20);
    assertBalanced(20, error.partial.result, error.partial.remaining.length);
    assert.equal(hec.count() - before, 0);
    // The queue's next attempt: acks come back, every event stored once.
    const again = await sink.write("device", error.partial.remaining);
    assert.equal(again.delivered, 20);
    assert.equal(hec.count() - before, 20);
    await sink.close();
  });

  it("sends a document repeated within one write once", async () => {
    const sink = createSplunkHecSink(settings());
    const before = hec.count();
    const input = docs(10, 1200);
    const result = await sink.write("device", [...input, ...input.slice(0, 4)]);
    assert.deepEqual(result, { delivered: 10, duplicates: 4, deadLettered: [] });
    assert.equal(hec.count() - before, 10);
    await sink.close();
  });

  it("falls back to the 200 when the token does not use acknowledgement, and says so", async () => {
    const plain = await startHecDouble({ token: TOKEN });
    const { log, text } = capture();
    const sink = createSplunkHecSink({ ...settings(), url: plain.url }, { log });
    const result = await sink.write("device", docs(30));
    assert.deepEqual(result, { delivered: 30, duplicates: 0, deadLettered: [] });
    assert.equal(plain.count(), 30);
    assert.equal(plain.ackPolls, 0);
    assert.ok(text().includes("HEC answered without an ackId"));
    await sink.close();
    await plain.stop();
  });
});
