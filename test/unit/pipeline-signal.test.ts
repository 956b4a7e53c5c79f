/**
 * Issue 13 item 9: polls that fan out (Forescout fetches host details up to 32 at a time, each request
 * and retry sleep listening on the poll's abort signal) made Node print MaxListenersExceededWarning
 * ("11 abort listeners") on the pipeline's one shared signal. Each poll now has its own signal, linked
 * to the pipeline's. Needs nothing (memory queues, a scripted connector).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Connector, Cursor, Page } from "../../connectors/types.ts";
import { createCursorStore } from "../../worker/cursors/index.ts";
import { Metrics } from "../../worker/metrics.ts";
import { Pipeline } from "../../worker/pipeline.ts";
import { MemoryQueueDriver } from "../../worker/queue/index.ts";

/**
 * A connector whose every poll holds `fanOut` abort listeners at once, like a parallel fetch; the
 * `alert` stream then hangs until its signal aborts (a request in flight when the pipeline closes).
 */
function fanOutConnector(fanOut: number, seen: Map<string, AbortSignal>): Connector {
  return {
    source: "armis",
    streams: ["device", "alert", "vulnerability"],
    async *poll(
      stream: string,
      _cursor: Cursor | null,
      options?: { signal?: AbortSignal },
    ): AsyncIterable<Page> {
      const signal = options?.signal as AbortSignal;
      seen.set(stream, signal);
      const listeners = Array.from({ length: fanOut }, () => () => undefined);
      for (const l of listeners) signal.addEventListener("abort", l);
      await new Promise((r) => setTimeout(r, 20));
      for (const l of listeners) signal.removeEventListener("abort", l);
      if (stream === "alert")
        await new Promise((_resolve, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason), { once: true }),
        );
      yield { records: [], cursor: { timestamp: "2026-11-28T00:00:00.000Z", idsAtTimestamp: [] } };
    },
    async validate() {},
    async close() {},
  };
}

test("concurrent fanning-out polls print no MaxListenersExceededWarning, and closing still aborts a poll in flight", async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on("warning", onWarning);
  try {
    const seen = new Map<string, AbortSignal>();
    const connector = fanOutConnector(32, seen);
    const pipeline = new Pipeline({
      driver: new MemoryQueueDriver(),
      cursors: createCursorStore({ kind: "memory" }),
      sources: [{ name: "armis", type: "armis", streams: [...connector.streams], connector }],
      sinks: [],
      metrics: new Metrics(),
      concurrency: { poll: 3, map: 1, sink: 1 },
    });
    pipeline.start();
    await pipeline.pollAll("now-1");
    while (seen.size < 3) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    await pipeline.close();
    await new Promise((r) => setImmediate(r));
    assert.equal(new Set(seen.values()).size, 3, "one signal per poll");
    assert.equal(seen.get("alert")?.aborted, true, "closing the pipeline aborts the poll in flight");
    assert.equal(seen.get("device")?.aborted, false, "a finished poll is no longer linked");
    assert.deepEqual(
      warnings.filter((w) => w.name === "MaxListenersExceededWarning").map((w) => w.message),
      [],
    );
  } finally {
    process.off("warning", onWarning);
  }
});
