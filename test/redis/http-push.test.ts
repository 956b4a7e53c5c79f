/**
 * The HTTP push receiver against a real BullMQ queue on Redis: authentication (401), body limit
 * (413), malformed bodies (400), unknown source/stream (404), accepted pushes mapped and written by
 * the pipeline, de-duplication of a retried push, and backpressure (503 + Retry-After while the raw
 * queue is full, nothing acknowledged lost). Needs Redis on 127.0.0.1:6379.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  createHttpPushReceiver,
  type HttpPushReceiver,
  parsePushBody,
} from "../../connectors/http-push/index.ts";
import { httpPushReceiverSchema } from "../../core/config.ts";
import { createCursorStore } from "../../worker/cursors/index.ts";
import { Metrics } from "../../worker/metrics.ts";
import { Pipeline } from "../../worker/pipeline.ts";
import { createQueueDriver } from "../../worker/queue/index.ts";
import type { QueueDriver } from "../../worker/queue/types.ts";
import { createSinks } from "../../worker/sinks/index.ts";

const REDIS = "redis://127.0.0.1:6379";
const TOKEN = "push-token-0123456789";

const template = JSON.parse(
  (await readFile(new URL("../golden/armis/device/mock-api.ndjson", import.meta.url), "utf8")).split(
    "\n",
  )[0] ?? "{}",
) as Record<string, unknown>;
const device = (i: number) => ({ ...template, id: 100_000 + i });

describe("http push receiver (BullMQ on Redis)", () => {
  let driver: QueueDriver;
  let pipeline: Pipeline;
  let receiver: HttpPushReceiver;
  let metrics: Metrics;
  let url: string;
  let dir: string;
  const prefix = `push${randomUUID().replaceAll("-", "")}`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "medsoc-push-"));
    driver = createQueueDriver({ kind: "bullmq", redisUrl: REDIS, prefix, attempts: 3, backoffMs: 20 });
    metrics = new Metrics();
    pipeline = new Pipeline({
      driver,
      cursors: createCursorStore({ kind: "memory" }),
      sources: [],
      sinks: createSinks({ file: { dir } }),
      metrics,
      maxPendingBatches: 3,
    });
    receiver = createHttpPushReceiver({
      config: httpPushReceiverSchema.parse({
        port: 0,
        maxBodyBytes: 64 * 1024,
        tokens: { armis: TOKEN },
        retryAfterSeconds: 7,
      }),
      ingestor: pipeline,
      resolve: (source) => (source === "armis" ? { type: "armis", streams: ["device", "alert"] } : undefined),
      counter: metrics.received,
    });
    url = await receiver.listen();
  });

  after(async () => {
    await receiver.close();
    await pipeline.close();
    for (const q of pipeline.queues()) await q.obliterate();
    await driver.deadLetters().clear();
    await driver.close();
    await rm(dir, { recursive: true, force: true });
  });

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
      body,
    });

  test("401 without a token and with a wrong one; nothing is enqueued", async () => {
    const none = await fetch(`${url}/v1/push/armis/device`, { method: "POST", body: "[]" });
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
    const wrong = await post("/v1/push/armis/device", JSON.stringify([device(1)]), {
      authorization: `Bearer ${TOKEN}x`,
    });
    assert.equal(wrong.status, 401);
    const body = await wrong.text();
    assert.ok(!body.includes(TOKEN), "the token is not echoed");
    assert.equal((await pipeline.rawQueue.counts()).waiting, 0);
    assert.equal(await metrics.total(metrics.received, { outcome: "unauthorized" }), 2);
  });

  test("404 for an unknown source or stream", async () => {
    assert.equal((await post("/v1/push/nozomi/alert", "[]")).status, 404);
    const res = await post("/v1/push/armis/nope", "[]");
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { error: string }).error, /unknown stream "nope".*device, alert/);
  });

  test("413 above maxBodyBytes", async () => {
    const big = JSON.stringify(Array.from({ length: 200 }, (_, i) => device(i)));
    assert.ok(big.length > 64 * 1024);
    const res = await post("/v1/push/armis/device", big);
    assert.equal(res.status, 413);
    assert.equal((await pipeline.rawQueue.counts()).waiting, 0);
  });

  test("400 with the reason for malformed bodies", async () => {
    const cases: [string, RegExp][] = [
      ["", /empty body/],
      ['{"a":1}\n{"b":', /line 2: not JSON/],
      ["[1,2]", /record 0: expected a JSON object, got number/],
      ['{"records":{"a":1}}', /"records" must be an array/],
    ];
    for (const [body, reason] of cases) {
      const res = await post("/v1/push/armis/device", body);
      assert.equal(res.status, 400, body);
      assert.match(((await res.json()) as { error: string }).error, reason);
    }
  });

  test("parsePushBody accepts an array, {records}, one object and NDJSON", () => {
    assert.equal(parsePushBody('[{"a":1},{"a":2}]').length, 2);
    assert.equal(parsePushBody('{"records":[{"a":1}]}').length, 1);
    assert.equal(parsePushBody('{"a":1}').length, 1);
    assert.deepEqual(parsePushBody('{"a":1}\r\n\n{"a":2}\n'), [{ a: 1 }, { a: 2 }]);
  });

  test("backpressure: 503 + Retry-After when the raw queue is full; everything acknowledged is delivered once", async () => {
    const accepted: number[] = [];
    let refused = 0;
    let retryAfter = "";
    // Workers are not started yet: the raw queue fills up to maxPendingBatches (3).
    for (let i = 0; i < 6; i++) {
      const recs = [device(i * 10), device(i * 10 + 1)];
      const ndjson = recs.map((r) => JSON.stringify(r)).join("\n");
      const res = await post("/v1/push/armis/device", i % 2 ? ndjson : JSON.stringify({ records: recs }), {
        "content-type": i % 2 ? "application/x-ndjson" : "application/json",
      });
      if (res.status === 202) {
        assert.deepEqual(await res.json(), { accepted: 2, batches: 1 });
        accepted.push(i * 10, i * 10 + 1);
      } else {
        assert.equal(res.status, 503);
        retryAfter = res.headers.get("retry-after") ?? "";
        refused++;
      }
    }
    assert.equal(accepted.length, 6, "three batches accepted");
    assert.equal(refused, 3);
    assert.equal(retryAfter, "7");
    assert.equal((await pipeline.rawQueue.counts()).waiting, 3);

    // A sender retrying an accepted push (its answer lost) does not enqueue it twice.
    pipeline.start({ map: true, sink: true });
    await pipeline.drained(60_000);
    const again = await post("/v1/push/armis/device", JSON.stringify({ records: [device(0), device(1)] }));
    assert.equal(again.status, 202);
    await pipeline.drained(60_000);
    const lines = (await readFile(join(dir, "device.ndjson"), "utf8")).trim().split("\n");
    const ids = lines.map((l) => (JSON.parse(l) as { host: { id: string } }).host.id).sort();
    assert.deepEqual(
      ids,
      accepted.map((n) => String(100_000 + n)).sort(),
      "each accepted record exactly once",
    );
    assert.equal(await metrics.total(metrics.records, { stage: "push", direction: "out" }), 8);
    assert.equal(await metrics.total(metrics.records, { stage: "map", direction: "out" }), 6);
  });
});
