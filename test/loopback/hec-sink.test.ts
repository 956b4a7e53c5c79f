import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { ConfigError, isRetryable } from "../../core/errors.ts";
import { createLogger } from "../../core/log.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import { type HecDouble, startHecDouble } from "../../simulators/hec.ts";
import { partialWriteOf, SinkBackpressureError, SinkPermanentError } from "../../worker/sinks/common.ts";
import {
  buildHecEnvelope,
  checkHecHealth,
  createSplunkHecSink,
  hecTime,
} from "../../worker/sinks/splunk-hec.ts";
import { referencePath } from "../helpers/ecs.ts";

const TOKEN = "4a8f3e3c-1b2d-4c5e-9f60-7a8b9c0d1e2f";

function doc(i: number, extra: Record<string, unknown> = {}): EcsDocument {
  return {
    "@timestamp": new Date(Date.UTC(2025, 10, 28, 9, 40, 2, 789 + i)).toISOString(),
    event: { kind: "alert", severity: 99 },
    host: { name: `pump-icu-${i}` },
    medsoc: { doc_id: `doc-${i}`, source: "armis", stream: "alert" },
    ...extra,
  };
}
const docs = (n: number) => Array.from({ length: n }, (_, i) => doc(i));

function capture() {
  const lines: string[] = [];
  const log = createLogger({ level: "debug", destination: { write: (s: string) => void lines.push(s) } });
  return { log, text: () => lines.join("") };
}

const fast = { retry: { baseDelayMs: 1, maxDelayMs: 5 } };

describe("hec envelope", () => {
  it("builds time (epoch seconds, 3 decimals), source, sourcetype, index and the event id field", () => {
    const d = doc(0);
    const env = buildHecEnvelope(d, "alert", { host: "medsoc-worker-1", index: "iomt" });
    assert.ok(typeof env !== "string");
    assert.deepEqual(env, {
      time: 1764322802.789,
      host: "medsoc-worker-1",
      source: "medsoc:armis",
      sourcetype: "medsoc:alert",
      index: "iomt",
      event: d,
      fields: { event_id: "doc-0" },
    });
    assert.equal(env.event, d, "the document is the event, untouched");
    assert.equal(JSON.stringify({ t: hecTime("2025-11-28T09:40:02.007Z") }), '{"t":1764322802.007}');
  });

  it("uses the SIEM stream as sourcetype whatever the vendor stream (asimily/anomaly → medsoc:alert, nozomi/asset → medsoc:device)", () => {
    const sourcetype = (stream: string, event: Record<string, unknown>) =>
      (buildHecEnvelope(doc(0, { event }), stream, { host: "h" }) as { sourcetype: string }).sourcetype;
    assert.equal(sourcetype("anomaly", { kind: "alert" }), "medsoc:alert");
    assert.equal(sourcetype("asset", { kind: "asset" }), "medsoc:device");
    assert.equal(sourcetype("cve", { kind: "event", category: ["vulnerability"] }), "medsoc:vulnerability");
    // xDome OT activity is neither: the event stream (both packages define medsoc.event).
    assert.equal(sourcetype("event", { kind: "event", category: ["network"] }), "medsoc:event");
    const audit = doc(0, { event: { kind: "event", category: ["configuration"] } });
    audit.medsoc.stream = "audit";
    audit.medsoc.source = "medsoc";
    assert.equal(
      (buildHecEnvelope(audit, "audit", { host: "h" }) as { sourcetype: string }).sourcetype,
      "medsoc:audit",
    );
  });

  it("refuses documents without an id or a valid @timestamp", () => {
    const noId = doc(1);
    (noId.medsoc as Record<string, unknown>).doc_id = "";
    assert.equal(buildHecEnvelope(noId, "alert", { host: "h" }), "document has no medsoc.doc_id");
    assert.match(
      String(buildHecEnvelope(doc(1, { "@timestamp": "yesterday" }), "alert", { host: "h" })),
      /valid @timestamp/,
    );
  });

  it("ships the same envelope schema as the reference (drift check)", () => {
    const ours = JSON.parse(readFileSync("worker/sinks/hec-envelope.schema.json", "utf8"));
    const reference = JSON.parse(
      readFileSync(referencePath("splunk/hec/hec_event_envelope.schema.json"), "utf8"),
    );
    assert.deepEqual(ours, reference);
  });
});

describe("hec sink against the loopback double", () => {
  let hec: HecDouble;
  before(async () => {
    hec = await startHecDouble({ token: TOKEN });
  });
  after(() => hec.stop());

  it("batches by count and by bytes, gzipped", async () => {
    const before = { requests: hec.requests, count: hec.count() };
    const byCount = createSplunkHecSink({ url: hec.url, token: TOKEN, maxBatchEvents: 10 });
    assert.deepEqual(await byCount.write("alert", docs(25)), {
      delivered: 25,
      duplicates: 0,
      deadLettered: [],
    });
    assert.equal(hec.requests - before.requests, 3);
    await byCount.close();

    const line = JSON.stringify(buildHecEnvelope(doc(0), "alert", { host: "x" })).length;
    const byBytes = createSplunkHecSink({
      url: hec.url,
      token: TOKEN,
      maxBatchBytes: Math.max(1024, line * 4),
      gzip: false,
    });
    const n = Math.ceil(1024 / line) * 3;
    const result = await byBytes.write("alert", docs(n));
    assert.equal(result.delivered, n);
    assert.ok(hec.requests - before.requests > 4, "several byte-bounded requests");
    assert.equal(hec.count() - before.count, 25 + n);
    await byBytes.close();
  });

  it("dead-letters an event over maxEventBytes without sending it", async () => {
    const sink = createSplunkHecSink({ url: hec.url, token: TOKEN, maxEventBytes: 2048 });
    const big = doc(1, { message: "x".repeat(4096) });
    const before = hec.count();
    const result = await sink.write("alert", [doc(0), big, doc(2)]);
    assert.equal(result.delivered, 2);
    assert.equal(result.deadLettered.length, 1);
    assert.match(result.deadLettered[0]?.reason ?? "", /over maxEventBytes \(2048\)/);
    assert.equal(result.deadLettered[0]?.document, big);
    assert.equal(hec.count() - before, 2);
    await sink.close();
  });

  it("treats a wrong token as a permanent configuration error and never prints the token", async () => {
    const { log, text } = capture();
    const wrong = "0b7e2a11-dead-beef-0000-123456789abc";
    const sink = createSplunkHecSink({ url: hec.url, token: wrong }, { log });
    const error = await sink.write("alert", docs(3)).then(
      () => assert.fail("expected a failure"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof SinkPermanentError);
    assert.equal(isRetryable(error), false);
    assert.match(
      error.message,
      /^sending hec batch to .*: hec refused the request \(configuration\): HTTP 403 code 4 \(Invalid token\)/,
    );
    assert.equal(partialWriteOf(error)?.remaining.length, 3);
    assert.ok(!error.message.includes(wrong) && !text().includes(wrong));
    assert.ok(!JSON.stringify(sink).includes(wrong));
    await sink.close();
  });

  it("treats a wrong endpoint path (404) as a permanent error", async () => {
    const sink = createSplunkHecSink({
      url: hec.url,
      token: TOKEN,
      endpointPath: "/services/collecter/event",
    });
    await assert.rejects(
      sink.write("alert", docs(1)),
      (e: unknown) => e instanceof SinkPermanentError && /HTTP 404/.test(e.message),
    );
    await sink.close();
  });

  it("honours Retry-After on a busy reply", async () => {
    const { log, text } = capture();
    hec.faults.busy = 1;
    hec.faults.busyRetryAfterSeconds = 1;
    const sink = createSplunkHecSink({ url: hec.url, token: TOKEN, ...fast }, { log });
    const result = await sink.write("alert", docs(2));
    delete hec.faults.busyRetryAfterSeconds;
    assert.equal(result.delivered, 2);
    const retry = text()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === "HEC request failed; retrying.");
    assert.equal(retry?.code, 9);
    assert.ok(retry.delayMs >= 1000, `delay ${retry.delayMs} ms honours Retry-After`);
    await sink.close();
  });

  it("reads the health endpoint", async () => {
    assert.deepEqual(await checkHecHealth(hec.url), { healthy: true, code: 17, text: "HEC is healthy" });
  });

  it("rejects bad settings with their paths", () => {
    assert.throws(
      () =>
        createSplunkHecSink({
          url: "ftp://x",
          token: "",
          maxBatchEvents: 0,
          ack: { channel: "not-a-guid" },
        } as never),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.problems.length === 4 &&
        e.problems.every((p) => p.path.startsWith("sinks.splunk.")),
    );
  });
});

describe("hec sink retry matrix with a scripted server", () => {
  it("dead-letters the whole batch on a 400 without invalid-event-number and throws on code 21", async () => {
    const { createServer } = await import("node:http");
    const replies: [number, object][] = [
      [400, { text: "No data", code: 5 }],
      [400, { text: "Invalid token", code: 21 }],
    ];
    const server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        const [status, body] = replies.shift() ?? [500, { text: "Internal server error", code: 8 }];
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const sink = createSplunkHecSink({ url, token: TOKEN, ...fast });
    const first = await sink.write("alert", docs(3));
    assert.equal(first.delivered, 0);
    assert.equal(first.deadLettered.length, 3);
    assert.match(first.deadLettered[0]?.reason ?? "", /code 5 \(No data\)/);
    await assert.rejects(sink.write("alert", docs(2)), SinkPermanentError);
    // Then 5xx code 8 until the attempts run out: backpressure (the queue waits without spending
    // an attempt), everything still to send.
    const error = await sink.write("alert", docs(4)).then(
      () => assert.fail("expected a failure"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof SinkBackpressureError, String(error));
    assert.match(error.message, /after 5 attempts: HTTP 500 code 8/);
    assert.equal(error.partial.remaining.length, 4);
    assert.equal(error.partial.result.delivered, 0);
    await sink.close();
    await new Promise((r) => server.close(r));
  });
});
