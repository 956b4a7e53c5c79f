/**
 * The whole worker pipeline on a real Redis (BullMQ driver) and in memory: the Armis simulator over
 * HTTP, mapping, and the Elasticsearch, Splunk HEC and file sinks against loopback doubles.
 * Needs Redis on 127.0.0.1:6379.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, describe, test } from "node:test";
import { createConnector } from "../../connectors/index.ts";
import type { Connector, Cursor, Page } from "../../connectors/types.ts";
import { createLogger, silentLogger } from "../../core/log.ts";
import { armisRecords } from "../../simulators/armis/records.ts";
import { startArmisSimulator } from "../../simulators/armis/server.ts";
import { startElasticsearchDouble } from "../../simulators/elasticsearch.ts";
import { startHecDouble } from "../../simulators/hec.ts";
import { createApi } from "../../worker/api.ts";
import { createCursorStore } from "../../worker/cursors/index.ts";
import { Metrics } from "../../worker/metrics.ts";
import { Pipeline } from "../../worker/pipeline.ts";
import { createQueueDriver } from "../../worker/queue/index.ts";
import type { QueueDriver } from "../../worker/queue/types.ts";
import { createSinks } from "../../worker/sinks/index.ts";
import { REFERENCE_DATA_DIR, validateEcs } from "../helpers/ecs.ts";

const REDIS = "redis://127.0.0.1:6379";
const HEC_TOKEN = "11111111-2222-3333-4444-555555555555";

function drivers(): { name: string; make: (prefix: string) => QueueDriver }[] {
  return [
    { name: "memory", make: () => createQueueDriver({ kind: "memory", attempts: 4, backoffMs: 20 }) },
    {
      name: "bullmq",
      make: (prefix) =>
        createQueueDriver({ kind: "bullmq", redisUrl: REDIS, prefix, attempts: 4, backoffMs: 20 }),
    },
  ];
}

async function harness(
  driverMake: (prefix: string) => QueueDriver,
  devices: number,
  extra: { log?: ReturnType<typeof createLogger> } = {},
) {
  const prefix = `t${process.pid}${Math.random().toString(36).slice(2, 8)}`;
  const sim = await startArmisSimulator({ devices, seed: 11, startMs: Date.UTC(2026, 0, 1) });
  const es = await startElasticsearchDouble();
  const hec = await startHecDouble({ token: HEC_TOKEN });
  const dir = await mkdtemp(join(tmpdir(), "medsoc-pipe-"));
  const driver = driverMake(prefix);
  const cursors =
    driver.kind === "bullmq"
      ? createCursorStore({ kind: "redis", redisUrl: REDIS, prefix })
      : createCursorStore({ kind: "memory" });
  const log = extra.log ?? silentLogger;
  const connector = createConnector(
    "armis",
    {
      baseUrl: sim.url,
      secretKey: sim.secret,
      pageSize: 200,
      initialLookbackSeconds: 0,
      retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterMs: 5000 },
    },
    { log },
  );
  const sinks = createSinks(
    {
      elasticsearch: { node: es.url, retryWaitMs: 10 },
      splunk: { url: hec.url, token: HEC_TOKEN, retry: { baseDelayMs: 10, maxDelayMs: 50 } },
      file: { dir },
    },
    { log },
  );
  const metrics = new Metrics();
  const pipeline = new Pipeline({
    driver,
    cursors,
    metrics,
    log,
    sinks,
    sources: [{ name: "armis", type: "armis", streams: ["device", "alert", "vulnerability"], connector }],
    concurrency: { poll: 2, map: 2, sink: 2 },
    maxPendingBatches: 4,
    retryDelayMs: 10,
  });
  pipeline.start();
  return {
    sim,
    es,
    hec,
    dir,
    driver,
    cursors,
    metrics,
    pipeline,
    connector,
    async close() {
      await pipeline.close();
      for (const q of pipeline.queues()) await q.obliterate();
      await driver.deadLetters().clear();
      for (const s of ["device", "alert", "vulnerability"]) await cursors.delete("armis", s);
      await Promise.all(sinks.map((s) => s.close()));
      await connector.close();
      await cursors.close();
      await driver.close();
      await sim.stop();
      await es.stop();
      await hec.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function expectedCounts(sim: Awaited<ReturnType<typeof startArmisSimulator>>) {
  const fleet = sim.fleet;
  let matches = 0;
  for (const v of armisRecords(fleet).vulnerabilities())
    matches += fleet.matchCount(v.cveUid ?? (v as { id: string }).id);
  return { device: fleet.size, alert: fleet.alertCount, vulnerability: matches };
}

for (const { name, make } of drivers()) {
  describe(`pipeline on the ${name} driver`, () => {
    test("delivers every record of the three streams exactly once to every sink, and re-polling adds nothing", async () => {
      const h = await harness(make, 600);
      try {
        const want = expectedCounts(h.sim);
        const total = want.device + want.alert + want.vulnerability;
        assert.ok(want.alert > 0 && want.vulnerability > 0, "the fleet has alerts and vulnerability matches");
        await h.pipeline.pollAll("s1");
        await h.pipeline.drained(120_000);

        assert.equal(h.es.count(), total, "every document stored once in Elasticsearch");
        assert.equal(h.es.stored.get("logs-medsoc.device-default")?.size, want.device);
        assert.equal(h.es.stored.get("logs-medsoc.alert-default")?.size, want.alert);
        assert.equal(h.es.stored.get("logs-medsoc.vulnerability-default")?.size, want.vulnerability);
        assert.equal(h.hec.count(), total, "every event indexed once by HEC");
        const lines = (await readFile(join(h.dir, "device.ndjson"), "utf8")).trim().split("\n");
        assert.equal(lines.length, want.device);
        const sample = JSON.parse(lines[0] as string);
        assert.equal(sample.event.kind, "asset");
        assert.deepEqual(validateEcs(sample), []);
        assert.equal(await h.driver.deadLetters().count(), 0);

        // A second poll from the saved cursors finds nothing new.
        await h.pipeline.pollAll("s2");
        await h.pipeline.drained(60_000);
        assert.equal(h.es.count(), total);
        assert.equal(h.hec.count(), total);

        // Losing the cursors re-reads everything: the deterministic batch ids (queue) and document
        // ids (Elasticsearch _id, HEC event_id) make it a no-op downstream.
        for (const s of ["device", "alert", "vulnerability"]) await h.cursors.delete("armis", s);
        await h.pipeline.pollAll("s3");
        await h.pipeline.drained(120_000);
        assert.equal(h.es.count(), total, "no duplicates in Elasticsearch after re-delivery");
        assert.equal(h.hec.count(), total, "no duplicates in Splunk after re-delivery");
        assert.equal(
          await h.metrics.total(h.metrics.records, { stage: "poll", direction: "out" }),
          2 * total,
        );
      } finally {
        await h.close();
      }
    });

    test("survives token expiry, 429 with Retry-After, 500s and a busy HEC without loss or duplicates", async () => {
      const h = await harness(make, 500);
      try {
        h.sim.setFailures({
          tokenMaxRequests: 3,
          rateLimitEvery: 4,
          retryAfterSeconds: 0.2,
          serverErrorEvery: 5,
        });
        h.hec.faults.busy = 2;
        h.es.faults.itemRateLimit = { times: 1, match: (_d, id) => id.endsWith("a") };
        const want = expectedCounts(h.sim);
        const total = want.device + want.alert + want.vulnerability;
        await h.pipeline.pollAll("f1");
        await h.pipeline.drained(120_000);
        assert.equal(h.es.count(), total);
        assert.equal(h.hec.count(), total);
        assert.ok((h.sim.stats.tokensIssued ?? 0) > 1, "tokens were re-issued after expiry");
        assert.equal(await h.driver.deadLetters().count(), 0);
      } finally {
        await h.close();
      }
    });
  });
}

/** A connector double that yields what it is given: for bad records and huge pages. */
function fakeConnector(pages: unknown[][]): Connector {
  return {
    source: "armis",
    streams: ["device", "alert", "vulnerability"],
    async *poll(_stream: string, _cursor: Cursor | null): AsyncIterable<Page> {
      let n = 0;
      for (const records of pages) {
        n += records.length;
        yield {
          records,
          cursor: { timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(), idsAtTimestamp: [] },
        };
      }
    },
    async validate() {},
    async close() {},
  };
}

describe("bad input in the pipeline", () => {
  test("unmappable records go to the dead-letter queue with the reason; the rest is delivered and the worker keeps running", async () => {
    const driver = createQueueDriver({
      kind: "bullmq",
      redisUrl: REDIS,
      prefix: `bad${process.pid}`,
      attempts: 2,
      backoffMs: 10,
    });
    const dir = await mkdtemp(join(tmpdir(), "medsoc-bad-"));
    const cursors = createCursorStore({ kind: "memory" });
    const good = JSON.parse(
      (
        await readFile(
          join(REFERENCE_DATA_DIR, "elastic", "fixtures", "armis", "device", "test-device.log"),
          "utf8",
        )
      ).split("\n")[0] as string,
    );
    const pipeline = new Pipeline({
      driver,
      cursors,
      metrics: new Metrics(),
      sinks: createSinks({ file: { dir } }),
      sources: [
        {
          name: "armis",
          type: "armis",
          streams: ["device"],
          connector: fakeConnector([[good, 42, null, "text", { id: 7 }], [good]]),
        },
      ],
    });
    pipeline.start();
    try {
      await pipeline.pollAll("b1");
      await pipeline.drained(30_000);
      const dead = await driver.deadLetters().list(0, -1);
      assert.equal(dead.length, 3, "three of the six records cannot be mapped");
      for (const d of dead) {
        assert.match(d.reason, /^mapping armis\/device: /);
        assert.equal((d.data as { event: { kind: string } }).event.kind, "pipeline_error");
        assert.ok((d.data as { event: { original?: string } }).event.original, "the raw record is kept");
      }
      const lines = (await readFile(join(dir, "device.ndjson"), "utf8")).trim().split("\n");
      assert.equal(lines.length + dead.length, 6, "nothing lost: delivered + dead-lettered = polled");
    } finally {
      await pipeline.close();
      for (const q of pipeline.queues()) await q.obliterate();
      await driver.deadLetters().clear();
      await driver.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a 50 MB page is mapped and delivered", async () => {
    const driver = createQueueDriver({ kind: "memory" });
    const dir = await mkdtemp(join(tmpdir(), "medsoc-big-"));
    const filler = "x".repeat(2500);
    const records = Array.from({ length: 20_000 }, (_, i) => ({
      id: i + 1,
      name: `pump-${i}`,
      macAddress: "00:11:22:33:44:55",
      lastSeen: "2026-01-01T00:00:00+00:00",
      customProperties: { note: filler },
    }));
    assert.ok(JSON.stringify(records).length > 50_000_000);
    const pipeline = new Pipeline({
      driver,
      cursors: createCursorStore({ kind: "memory" }),
      metrics: new Metrics(),
      sinks: createSinks({ file: { dir } }),
      sources: [{ name: "armis", type: "armis", streams: ["device"], connector: fakeConnector([records]) }],
    });
    pipeline.start();
    try {
      await pipeline.pollAll("big");
      await pipeline.drained(120_000);
      const text = await readFile(join(dir, "device.ndjson"), "utf8");
      assert.equal(text.trim().split("\n").length, 20_000);
    } finally {
      await pipeline.close();
      await driver.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a rejected Armis secret fails the poll with a clear error and never reaches the logs", async () => {
    const chunks: string[] = [];
    const log = createLogger({
      level: "debug",
      destination: new Writable({
        write(chunk, _enc, cb) {
          chunks.push(String(chunk));
          cb();
        },
      }),
    });
    const h = await harness(
      (prefix) => createQueueDriver({ kind: "bullmq", redisUrl: REDIS, prefix, attempts: 2, backoffMs: 10 }),
      50,
      { log },
    );
    try {
      h.sim.setFailures({ invalidSecret: true });
      await h.pipeline.pollAll("auth");
      await h.pipeline.drained(30_000);
      const dead = await h.driver.deadLetters().list(0, -1);
      assert.equal(dead.length, 3, "each stream's poll job is dead-lettered");
      assert.match(dead[0]?.reason ?? "", /polling armis\/\w+/);
      const all = chunks.join("") + JSON.stringify(dead);
      assert.ok(!all.includes(h.sim.secret), "the secret key never appears in logs or dead letters");
    } finally {
      await h.close();
    }
  });
});

describe("replicas", () => {
  test("two replicas starting in one schedule slot poll each stream once", async () => {
    const driver = createQueueDriver({ kind: "bullmq", redisUrl: REDIS, prefix: `slot${process.pid}` });
    let polls = 0;
    const connector = fakeConnector([]);
    const counting: Connector = {
      ...connector,
      poll(stream, cursor) {
        polls++;
        return connector.poll(stream, cursor);
      },
    };
    const make = () =>
      new Pipeline({
        driver,
        cursors: createCursorStore({ kind: "memory" }),
        metrics: new Metrics(),
        sinks: [],
        sources: [{ name: "armis", type: "armis", streams: ["device", "alert"], connector: counting }],
      });
    const a = make();
    const b = make();
    try {
      await a.pollAll(() => "20261128T1500");
      await b.pollAll(() => "20261128T1500");
      a.start();
      b.start();
      await a.drained(10_000);
      assert.equal(polls, 2, "one poll per stream, not one per replica");
    } finally {
      await a.close();
      await b.close();
      for (const q of a.queues()) await q.obliterate();
      await driver.close();
    }
  });
});

describe("HTTP API", () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of closers) await c();
  });

  test("/healthz, /readyz and /metrics answer with the pipeline's figures", async () => {
    const metrics = new Metrics();
    metrics.records.inc({ stage: "poll", direction: "out", source: "armis", stream: "device" }, 12);
    let ready = true;
    const api = createApi({
      metrics,
      log: silentLogger,
      ready: async () => ({ ok: ready, checks: { redis: ready ? "ok" : "down" } }),
    });
    closers.push(() => api.close());
    const address = await api.listen({ host: "127.0.0.1", port: 0 });
    assert.equal((await fetch(`${address}/healthz`)).status, 200);
    assert.equal((await fetch(`${address}/readyz`)).status, 200);
    ready = false;
    const notReady = await fetch(`${address}/readyz`);
    assert.equal(notReady.status, 503);
    assert.deepEqual(((await notReady.json()) as { checks: unknown }).checks, { redis: "down" });
    const text = await (await fetch(`${address}/metrics`)).text();
    assert.match(
      text,
      /medsoc_records_total\{stage="poll",direction="out",source="armis",stream="device"\} 12/,
    );
    assert.match(text, /process_resident_memory_bytes \d+/);
  });
});
