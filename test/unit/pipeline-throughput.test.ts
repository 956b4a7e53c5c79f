/**
 * Issue 12 (throughput). Fused map→deliver: a process that maps and delivers writes each mapped
 * page to the sinks from the map job, and the sink queue is only the retry/backpressure path.
 * Read-ahead polling: the next page is fetched while the current one is enqueued. Memory queues,
 * a scripted connector and scripted sinks; no sockets.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Connector, Cursor, Page } from "../../connectors/types.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import { armisRecords } from "../../simulators/armis/records.ts";
import { createFleet } from "../../simulators/fleet/fleet.ts";
import { createCursorStore } from "../../worker/cursors/index.ts";
import { Metrics } from "../../worker/metrics.ts";
import { Pipeline, readAhead } from "../../worker/pipeline.ts";
import { MemoryQueueDriver } from "../../worker/queue/index.ts";
import { emptyResult, SinkBackpressureError, SinkRetryableError } from "../../worker/sinks/common.ts";
import { MemoryDeliveryLedger } from "../../worker/sinks/ledger.ts";
import type { Sink, SinkResult } from "../../worker/sinks/types.ts";

const PAGES = 6;
const PER_PAGE = 50;

function pagedConnector(): Connector {
  const fleet = armisRecords(createFleet({ size: PAGES * PER_PAGE, seed: 5 }));
  return {
    source: "armis",
    streams: ["device"],
    async *poll(_stream: string, _cursor: Cursor | null): AsyncIterable<Page> {
      for (let p = 0; p < PAGES; p++) {
        const records = Array.from({ length: PER_PAGE }, (_, i) => fleet.device(p * PER_PAGE + i));
        yield {
          records,
          cursor: { timestamp: `2026-01-01T00:00:0${p}.000Z`, idsAtTimestamp: [] },
        };
      }
    },
    async validate() {},
    async close() {},
  };
}

/** A sink that records every id it took; `fail` decides per call whether (and how) it fails. */
class ScriptedSink implements Sink {
  readonly name = "scripted";
  readonly idempotent: boolean;
  readonly taken: string[] = [];
  calls = 0;
  fail: (call: number, docs: EcsDocument[]) => "down" | "half" | undefined = () => undefined;
  constructor(idempotent = true) {
    this.idempotent = idempotent;
  }
  async write(_stream: string, docs: EcsDocument[]): Promise<SinkResult> {
    this.calls++;
    const how = this.fail(this.calls, docs);
    if (how === "down")
      throw new SinkBackpressureError("sink down", { result: emptyResult(), remaining: docs });
    if (how === "half") {
      const half = Math.floor(docs.length / 2);
      for (const d of docs.slice(0, half)) this.taken.push(d.medsoc.doc_id as string);
      throw new SinkRetryableError("half taken", {
        result: { delivered: half, duplicates: 0, deadLettered: [] },
        remaining: docs.slice(half),
      });
    }
    for (const d of docs) this.taken.push(d.medsoc.doc_id as string);
    return { delivered: docs.length, duplicates: 0, deadLettered: [] };
  }
  async close() {}
}

function build(sink: ScriptedSink, options: { ledger?: MemoryDeliveryLedger; fused?: boolean } = {}) {
  const driver = new MemoryQueueDriver({ defaults: { backoffMs: 20, maxBackoffMs: 50 } });
  const metrics = new Metrics();
  const mapped: number[] = [];
  const connector = pagedConnector();
  const pipeline = new Pipeline({
    driver,
    cursors: createCursorStore({ kind: "memory" }),
    sources: [{ name: "armis", type: "armis", streams: ["device"], connector }],
    sinks: [sink],
    metrics,
    retryDelayMs: 20,
    // One map job at a time: exactly one fused write fails before the cooldown sends pages to the queue.
    concurrency: { poll: 1, map: 1, sink: 2 },
    ledger: options.ledger,
    fusedDelivery: options.fused,
    fusedCooldownMs: 60_000,
    onMapped: async (docs) => {
      mapped.push(docs.length);
    },
  });
  return { driver, metrics, pipeline, mapped };
}

async function sinkQueueAdds(driver: MemoryQueueDriver): Promise<number> {
  const c = await driver.queue("sink-scripted").counts();
  return c.completed + c.waiting + c.delayed + c.active + c.failed;
}

function assertOnceEach(ids: string[], expected: number): void {
  assert.equal(ids.length, expected, "every document delivered");
  assert.equal(new Set(ids).size, expected, "no document delivered twice");
}

describe("fused map→deliver", () => {
  test("a healthy sink gets every mapped page from the map job; the sink queue stays unused", async () => {
    const sink = new ScriptedSink();
    const { driver, metrics, pipeline, mapped } = build(sink);
    pipeline.start();
    try {
      await pipeline.pollAll("f1");
      await pipeline.drained(30_000);
      assertOnceEach(sink.taken, PAGES * PER_PAGE);
      assert.equal(await sinkQueueAdds(driver), 0, "no batch copied into the sink queue");
      assert.equal(sink.calls, PAGES, "one write per page");
      assert.deepEqual(mapped, Array(PAGES).fill(PER_PAGE), "the onMapped hook saw every page");
      const stage = "sink.scripted";
      assert.equal(await metrics.total(metrics.records, { stage, direction: "in" }), PAGES * PER_PAGE);
      assert.equal(await metrics.total(metrics.records, { stage, direction: "out" }), PAGES * PER_PAGE);
    } finally {
      await pipeline.close();
      await driver.close();
    }
  });

  test("with fusedDelivery off every page goes through the sink queue, as before", async () => {
    const sink = new ScriptedSink();
    const { driver, pipeline } = build(sink, { fused: false });
    pipeline.start();
    try {
      await pipeline.pollAll("f1");
      await pipeline.drained(30_000);
      assertOnceEach(sink.taken, PAGES * PER_PAGE);
      assert.equal(await sinkQueueAdds(driver), PAGES);
    } finally {
      await pipeline.close();
      await driver.close();
    }
  });

  test("a sink that is down does not hold mapping up: pages wait in its queue and arrive once it is back", async () => {
    const sink = new ScriptedSink();
    let down = true;
    sink.fail = () => (down ? "down" : undefined);
    const { driver, metrics, pipeline, mapped } = build(sink);
    pipeline.start();
    try {
      await pipeline.pollAll("f1");
      // Mapping finishes while the sink is still down.
      await driver.queue("poll").drained({ timeoutMs: 30_000 });
      await driver.queue("raw").drained({ timeoutMs: 30_000 });
      assert.equal(mapped.length, PAGES, "every page mapped");
      assert.equal(sink.taken.length, 0);
      const queued = await driver.queue("sink-scripted").counts();
      assert.equal(
        queued.waiting + queued.delayed + queued.active,
        PAGES,
        "every page waits in the sink queue",
      );
      down = false;
      await pipeline.drained(30_000);
      assertOnceEach(sink.taken, PAGES * PER_PAGE);
      // Queued deliveries count a batch in at every attempt (as before); the one fused write that
      // failed and handed its page to the queue is not counted.
      assert.equal(
        await metrics.total(metrics.records, { stage: "sink.scripted", direction: "in" }),
        (sink.calls - 1) * PER_PAGE,
      );
      assert.equal(await driver.deadLetters().count(), 0);
    } finally {
      await pipeline.close();
      await driver.close();
    }
  });

  test("a partly written page: the rest goes to the sink queue, nothing is sent twice to a non-idempotent sink", async () => {
    const sink = new ScriptedSink(false);
    // The first fused write takes half its page and fails; everything after succeeds.
    sink.fail = (call) => (call === 1 ? "half" : undefined);
    const ledger = new MemoryDeliveryLedger();
    const { driver, metrics, pipeline } = build(sink, { ledger });
    pipeline.start();
    try {
      await pipeline.pollAll("f1");
      await pipeline.drained(30_000);
      assertOnceEach(sink.taken, PAGES * PER_PAGE);
      const c = await driver.queue("sink-scripted").counts();
      assert.equal(c.completed, 1, "only the rest of the failed page went through the queue");
      assert.equal(
        await metrics.total(metrics.records, { stage: "sink.scripted", direction: "out" }),
        PAGES * PER_PAGE,
      );
      const known = await ledger.delivered("scripted", sink.taken);
      assert.equal(known.size, PAGES * PER_PAGE, "every delivered id is in the ledger");
    } finally {
      await pipeline.close();
      await driver.close();
    }
  });
});

describe("read-ahead polling", () => {
  test("hands pages on in order, fetching the next one while the current one is handled", async () => {
    const log: string[] = [];
    async function* pages() {
      for (let i = 1; i <= 3; i++) {
        log.push(`fetch ${i}`);
        await new Promise((r) => setTimeout(r, 5));
        yield i;
      }
    }
    const seen: number[] = [];
    for await (const p of readAhead(pages())) {
      log.push(`handle ${p} start`);
      await new Promise((r) => setTimeout(r, 20));
      log.push(`handle ${p} end`);
      seen.push(p);
    }
    assert.deepEqual(seen, [1, 2, 3]);
    assert.ok(
      log.indexOf("fetch 2") < log.indexOf("handle 1 end"),
      `page 2 is fetched while page 1 is handled: ${log.join(", ")}`,
    );
  });

  test("a consumer that stops early closes the source once the fetch in flight settled", async () => {
    let closed = false;
    let fetched = 0;
    async function* pages() {
      try {
        for (let i = 1; i <= 10; i++) {
          fetched++;
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    await assert.rejects(async () => {
      for await (const p of readAhead(pages())) if (p === 2) throw new Error("enqueue failed");
    }, /enqueue failed/);
    assert.equal(closed, true, "the source generator was closed");
    assert.equal(fetched, 3, "at most one page fetched beyond the one that failed");
  });

  test("an error of the next page surfaces after the current page was handled", async () => {
    async function* pages() {
      yield 1;
      throw new Error("page 2: HTTP 500");
    }
    const handled: number[] = [];
    await assert.rejects(async () => {
      for await (const p of readAhead(pages())) {
        await new Promise((r) => setTimeout(r, 10));
        handled.push(p);
      }
    }, /page 2: HTTP 500/);
    assert.deepEqual(handled, [1]);
  });
});
