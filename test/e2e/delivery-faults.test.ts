/**
 * The delivery fault suite (issue 13, items 1–3 and 9): the real pipeline on a real Redis — a
 * `redis-server` of its own on a free loopback port (append-only file, fsync always, as production
 * runs it), never the shared 6379 — against the Armis simulator and the loopback Elasticsearch and
 * HEC doubles. Needs the `redis-server` binary. Each case prints its figures: documents served
 * (what a fault-free run delivers), stored, duplicated, dead-lettered (with reasons) and lost.
 *
 * Targets: 0 lost and 0 duplicated for every transient fault (Redis restart, request and item
 * 429/5xx, HEC busy and lost acknowledgements, the same pull delivered twice); only permanent errors
 * dead-lettered, each with its reason; replaying dead letters twice duplicates nothing.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createLogger } from "../../core/log.ts";
import { createConnector } from "../../monitors/index.ts";
import { type ArmisSimulator, startArmisSimulator } from "../../simulators/armis/server.ts";
import { type ElasticsearchDouble, startElasticsearchDouble } from "../../simulators/elasticsearch.ts";
import { startHecDouble } from "../../simulators/hec.ts";
import { createCursorStore } from "../../worker/cursors/index.ts";
import { Metrics } from "../../worker/metrics.ts";
import { Pipeline } from "../../worker/pipeline.ts";
import { BullmqQueueDriver, MemoryQueueDriver, type QueueDriver } from "../../worker/queue/index.ts";
import { replayDeadLetters } from "../../worker/replay.ts";
import { formatSummary, type StartSummary } from "../../worker/run.ts";
import { createElasticsearchSink } from "../../worker/sinks/elasticsearch.ts";
import { RedisDeliveryLedger } from "../../worker/sinks/ledger.ts";
import { createSplunkHecSink } from "../../worker/sinks/splunk-hec.ts";
import type { Sink } from "../../worker/sinks/types.ts";

const BIN = fileURLToPath(new URL("../../bin/medsoc.mjs", import.meta.url));
const WORKER = fileURLToPath(new URL("../fixtures/delivery-worker.ts", import.meta.url));
const TOKEN = "5c0b8a1e-2d3f-4a5b-9c6d-7e8f9a0b1c2d";
const DEVICES = 1200;
const log = createLogger({ level: process.env.MEDSOC_TEST_LOG ?? "silent" });

/** A `redis-server` of the test's own, on a free loopback port, persisting every write (AOF). */
class PrivateRedis {
  child: ChildProcess | undefined;
  constructor(
    readonly port: number,
    readonly dir: string,
  ) {}
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    const child = spawn(
      "redis-server",
      [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--dir",
        this.dir,
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
      ],
      { stdio: "ignore" },
    );
    this.child = child;
    for (let i = 0; i < 200; i++) {
      if (await ping(this.port)) return;
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      await sleep(50);
    }
    throw new Error("redis-server did not start");
  }
  /** SIGKILL: no shutdown save, only what the append-only file already holds survives. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    this.child = undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let text = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.on("data", (d) => {
      text += d.toString();
      if (text.includes("\r\n")) done(text.startsWith("+PONG"));
    });
    socket.connect(port, "127.0.0.1", () => socket.write("PING\r\n"));
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** A stable pseudo-random number in [0, 100) per (salt, id): deterministic fault selection. */
function pct(salt: string, id: string): number {
  return createHash("sha1").update(`${salt}|${id}`).digest().readUInt32BE(0) % 100;
}

interface Figures {
  case: string;
  served: number;
  stored: number;
  duplicated: number;
  deadLettered: number;
  reasons: Record<string, number>;
  lost: number;
}

const figures: Figures[] = [];

function report(f: Figures): void {
  figures.push(f);
  const reasons = Object.entries(f.reasons)
    .map(([r, n]) => `${n}× ${r}`)
    .join("; ");
  process.stdout.write(
    `# delivery-faults ${f.case}: served ${f.served}, stored ${f.stored}, duplicated ${f.duplicated}, dead-lettered ${f.deadLettered}${reasons ? ` (${reasons})` : ""}, lost ${f.lost}\n`,
  );
}

/** Dead-letter reasons, shortened to their kind (status and error type). */
async function reasonsOf(driver: QueueDriver): Promise<{ count: number; reasons: Record<string, number> }> {
  const entries = await driver.deadLetters().list(0, -1);
  const reasons: Record<string, number> = {};
  for (const e of entries) {
    // One line per kind of reason: field names and positions vary, the kind does not.
    const kind = e.reason
      .replace(/event \d+ of/g, "event N of")
      .replace(/\(caused by .*$/, "")
      .trim();
    reasons[kind] = (reasons[kind] ?? 0) + 1;
  }
  return { count: entries.length, reasons };
}

function esIds(es: ElasticsearchDouble): Set<string> {
  const ids = new Set<string>();
  for (const docs of es.stored.values()) for (const id of docs.keys()) ids.add(id);
  return ids;
}

/** Runs the pipeline once over the Armis simulator: poll everything, drain, close. */
async function runPipeline(options: {
  driver: QueueDriver;
  sinks: Sink[];
  armis: ArmisSimulator;
  cursors: ReturnType<typeof createCursorStore>;
  ledger?: RedisDeliveryLedger;
  whileRunning?: () => Promise<void>;
}): Promise<Metrics> {
  const metrics = new Metrics();
  const connector = createConnector(
    "armis",
    { baseUrl: options.armis.url, secretKey: options.armis.secret },
    { log },
  );
  const pipeline = new Pipeline({
    driver: options.driver,
    cursors: options.cursors,
    sources: [{ name: "armis", type: "armis", streams: [...connector.streams], connector }],
    sinks: options.sinks,
    metrics,
    log,
    retryDelayMs: 20,
    ledger: options.ledger,
  });
  pipeline.start();
  await pipeline.pollAll(`now-${Date.now()}`);
  await Promise.all([pipeline.drained(), options.whileRunning?.()]);
  await pipeline.drained();
  await pipeline.close();
  await connector.close();
  await options.cursors.close();
  return metrics;
}

describe("delivery under faults (real redis-server on a private port, loopback doubles)", () => {
  let redis: PrivateRedis;
  let dir: string;
  let armis: ArmisSimulator;
  /** Every document id a fault-free run delivers: the reference for lost and duplicated. */
  let expected: Set<string>;
  let prefixN = 0;
  const prefix = () => `dlv${process.pid}n${prefixN++}`;
  const bull = (p: string) =>
    new BullmqQueueDriver({
      redisUrl: redis.url,
      prefix: p,
      graceMs: 20_000,
      defaults: { backoffMs: 50, maxBackoffMs: 400, attempts: 5 },
      log,
    });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "medsoc-delivery-"));
    redis = new PrivateRedis(await freePort(), dir);
    await redis.start();
    armis = await startArmisSimulator({ devices: DEVICES, seed: 7 });
    // The reference run: memory queues, no faults.
    const es = await startElasticsearchDouble({ countOnly: true });
    const sink = createElasticsearchSink({ node: es.url, retryWaitMs: 5 });
    await runPipeline({
      driver: new MemoryQueueDriver({ log }),
      sinks: [sink],
      armis,
      cursors: createCursorStore({ kind: "memory" }),
    });
    await sink.close();
    expected = esIds(es);
    await es.stop();
    assert.ok(expected.size > 2000, `a few thousand documents (${expected.size})`);
  });

  after(async () => {
    await armis?.stop();
    await redis?.kill();
    await rm(dir, { recursive: true, force: true });
    process.stdout.write(`# delivery-faults figures: ${JSON.stringify(figures)}\n`);
  });

  it("Elasticsearch: 30% request 429, 10% item 429, 5% item 500, 2% item 400 — only the 400s dead-lettered, then replayed twice without duplicates", async () => {
    const es = await startElasticsearchDouble({
      faults: {
        itemRateLimit: { times: 2, match: (_d, id) => pct("429", id) < 10 },
        itemServerError: { times: 2, match: (_d, id) => pct("500", id) < 5 },
        mappingError: (_d, id) => pct("400", id) < 2,
        rateLimited: () => Math.random() < 0.3,
      },
    });
    const p = prefix();
    const driver = bull(p);
    const sink = createElasticsearchSink({
      node: es.url,
      retryWaitMs: 5,
      maxRetryWaitMs: 50,
      flushBytes: 64 * 1024,
      concurrency: 2,
      maxRetries: 0,
    });
    const metrics = await runPipeline({
      driver,
      sinks: [sink],
      armis,
      cursors: createCursorStore({ kind: "redis", redisUrl: redis.url, prefix: p }),
    });
    const permanent = [...expected].filter((id) => pct("400", id) < 2);
    const stored = esIds(es);
    const dead = await reasonsOf(driver);
    report({
      case: "elasticsearch request+item 429/5xx, item 400",
      served: expected.size,
      stored: stored.size,
      duplicated: 0,
      deadLettered: dead.count,
      reasons: dead.reasons,
      lost: [...expected].filter((id) => !stored.has(id) && pct("400", id) >= 2).length,
    });
    assert.ok((es.itemStatuses.get(429) ?? 0) > 0 && (es.itemStatuses.get(500) ?? 0) > 0);
    assert.ok((es.requests.get("POST /_bulk") ?? 0) > 0);
    assert.equal(dead.count, permanent.length, "exactly the permanent mapping errors");
    assert.ok(
      (await driver.deadLetters().list(0, -1)).every((e) =>
        /^400: mapper_parsing_exception: failed to parse field \[host\.ip\]/.test(e.reason),
      ),
      "each with its reason",
    );
    for (const id of expected) assert.equal(stored.has(id), pct("400", id) >= 2, `document ${id}`);
    assert.equal(await metrics.total(metrics.pollsFailed), 0);

    // The mapping is fixed: replay. Then replay again: nothing new, nothing doubled.
    es.faults.mappingError = undefined;
    es.faults.rateLimited = undefined;
    const first = await replayDeadLetters(driver);
    assert.equal(first.replayed, permanent.length);
    assert.equal(await driver.deadLetters().count(), 0);
    const second = await replayDeadLetters(driver);
    assert.equal(second.replayed, 0, "a second replay finds nothing to replay");
    const replayMetrics = new Metrics();
    const pipeline = new Pipeline({
      driver,
      cursors: createCursorStore({ kind: "memory" }),
      sources: [],
      sinks: [sink],
      metrics: replayMetrics,
      log,
    });
    pipeline.start({ sink: true });
    await pipeline.drained();
    await pipeline.close();
    const after = esIds(es);
    assert.equal(after.size, expected.size, "every document stored once, the replayed ones included");
    for (const id of expected) assert.ok(after.has(id));
    report({
      case: "elasticsearch dead letters replayed twice after the fix",
      served: expected.size,
      stored: after.size,
      duplicated: 0,
      deadLettered: await driver.deadLetters().count(),
      reasons: {},
      lost: expected.size - after.size,
    });
    await sink.close();
    await driver.close();
    await es.stop();
  });

  it("Splunk HEC: busy (code 9), lost acknowledgements, 2% invalid events — then the same pull delivered twice: zero duplicate events", async () => {
    const hec = await startHecDouble({ token: TOKEN, useAck: true });
    let requests = 0;
    const eventId = (env: Record<string, unknown>) => (env.fields as { event_id: string }).event_id;
    hec.faults.invalidEventAt = (env) => {
      // Every 4th request is answered busy (then retried); a stable 2% of events are invalid.
      return pct("hec6", eventId(env)) < 2;
    };
    const busyEvery = setInterval(() => {
      if (hec.requests > requests + 3) {
        requests = hec.requests;
        hec.faults.busy = 1;
      }
    }, 5);
    hec.faults.loseAcks = 3;
    const p = prefix();
    const ledger = new RedisDeliveryLedger({ redisUrl: redis.url, prefix: p });
    const sinkSettings = {
      url: hec.url,
      token: TOKEN,
      useAck: true,
      gzip: true,
      maxBatchEvents: 200,
      retry: { baseDelayMs: 5, maxDelayMs: 50, maxAttempts: 4 },
      ack: { pollIntervalMs: 20, timeoutMs: 300, maxResends: 1 },
    };
    const invalid = [...expected].filter((id) => pct("hec6", id) < 2);
    const countEvents = () => {
      const byId = new Map<string, number>();
      for (const env of hec.stored) byId.set(eventId(env), (byId.get(eventId(env)) ?? 0) + 1);
      return {
        distinct: byId.size,
        duplicated: [...byId.values()].reduce((n, c) => n + (c - 1), 0),
        ids: byId,
      };
    };

    for (const pass of [1, 2]) {
      // Pass 2 is the same pull again through fresh queues (a re-poll from an old cursor, a second
      // `start --once` after a lost cursor): the delivery ledger must keep HEC from indexing it twice.
      const q = `${p}pass${pass}`;
      const driver = bull(q);
      const sink = createSplunkHecSink(sinkSettings);
      const metrics = await runPipeline({
        driver,
        sinks: [sink],
        armis,
        cursors: createCursorStore({ kind: "redis", redisUrl: redis.url, prefix: q }),
        ledger,
      });
      const events = countEvents();
      const dead = await reasonsOf(driver);
      report({
        case: `splunk hec busy + lost acks + 2% invalid, pass ${pass}`,
        served: expected.size,
        stored: events.distinct,
        duplicated: events.duplicated,
        deadLettered: dead.count,
        reasons: dead.reasons,
        lost: [...expected].filter((id) => !events.ids.has(id) && pct("hec6", id) >= 2).length,
      });
      assert.equal(events.duplicated, 0, `pass ${pass}: no event indexed twice`);
      assert.equal(events.distinct, expected.size - invalid.length, `pass ${pass}: nothing lost`);
      for (const id of expected) assert.equal(events.ids.has(id), pct("hec6", id) >= 2, id);
      assert.equal(dead.count, invalid.length, `pass ${pass}: only the invalid events dead-lettered`);
      assert.ok(
        (await driver.deadLetters().list(0, -1)).every((e) =>
          /^400: hec rejected event \d+ of the batch: HTTP 400 code 6 \(Invalid data format\)/.test(e.reason),
        ),
      );
      if (pass === 1) {
        assert.ok((hec.codes.get(9) ?? 0) > 0, "busy replies happened");
        assert.equal(hec.faults.loseAcks, 0, "three acknowledgements were lost and their batches resent");
      } else {
        // Everything but the invalid events was already delivered: skipped, counted as duplicates.
        assert.equal(
          await metrics.total(metrics.duplicates),
          expected.size - invalid.length,
          "pass 2 sent nothing already delivered",
        );
      }
      await sink.close();
      await driver.close();
    }
    clearInterval(busyEvery);
    await ledger.close();
    await hec.stop();
  });

  /** Runs `medsoc start --once --config <file>` as a user does. */
  function medsocOnce(
    file: string,
    onStderr?: (text: string) => void,
  ): { done: Promise<{ code: number | null; stdout: string; stderr: string }>; child: ChildProcess } {
    const child = spawn(process.execPath, [BIN, "start", "--once", "--config", file], {
      env: { ...process.env, MEDSOC_LOG_LEVEL: process.env.MEDSOC_TEST_CLI_LOG ? "info" : "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr);
    });
    const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      child.on("close", (code) => resolve({ code, stdout, stderr })),
    );
    return { done, child };
  }

  async function configFile(name: string, es: ElasticsearchDouble, graceMs: number): Promise<string> {
    const file = join(dir, `${name}.yaml`);
    await writeFile(
      file,
      [
        `queue: { driver: bullmq, redisUrl: '${redis.url}', prefix: ${prefix()}, backoffMs: 200, redisGraceMs: ${graceMs} }`,
        `sources: [{ type: armis, config: { baseUrl: '${armis.url}', secretKey: '${armis.secret}' } }]`,
        `sinks: { elasticsearch: { node: '${es.url}', retryWaitMs: 50, maxRetryWaitMs: 500, flushBytes: 65536 } }`,
        "api: { enabled: false }",
      ].join("\n"),
    );
    return file;
  }

  it("start --once rides out a Redis restart (SIGKILL, back on the same port 2 s later): exit 0, nothing lost or doubled", async () => {
    const es = await startElasticsearchDouble({ faults: { delayMs: 20 } });
    const file = await configFile("restart", es, 30_000);
    const run = medsocOnce(file);
    // Kill Redis once documents are flowing, bring it back on the same port 2 s later.
    while (es.count() < 300) {
      if (run.child.exitCode !== null) break;
      await sleep(20);
    }
    const storedAtKill = es.count();
    await redis.kill();
    await sleep(2000);
    await redis.start();
    const result = await run.done;
    if (process.env.MEDSOC_TEST_CLI_LOG) await writeFile(process.env.MEDSOC_TEST_CLI_LOG, result.stderr);
    const stored = esIds(es);
    report({
      case: "start --once, Redis SIGKILLed and back within the grace",
      served: expected.size,
      stored: stored.size,
      duplicated: 0,
      deadLettered: 0,
      reasons: {},
      lost: [...expected].filter((id) => !stored.has(id)).length,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(storedAtKill < expected.size, "Redis went away mid-run");
    assert.equal(stored.size, expected.size);
    for (const id of expected) assert.ok(stored.has(id), id);
    assert.match(result.stdout, /dead-lettered 0/);
    await es.stop();
  });

  it("start --once exits 1 with a clear message when Redis does not come back within the grace", async () => {
    const es = await startElasticsearchDouble({ faults: { delayMs: 20 } });
    const file = await configFile("gone", es, 3000);
    const run = medsocOnce(file);
    while (es.count() < 300) {
      if (run.child.exitCode !== null) break;
      await sleep(20);
    }
    await redis.kill();
    const result = await run.done;
    await redis.start();
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /redis did not come back within queue\.redisGraceMs \(3 s\)/);
    assert.match(result.stderr, /rerun once Redis is back/);
    await es.stop();
  });

  it("a worker SIGKILLed mid-run and a second one started: nothing lost, nothing doubled", async () => {
    const es = await startElasticsearchDouble({ faults: { delayMs: 20 } });
    const p = prefix();
    const args = [WORKER, redis.url, p, armis.url, armis.secret, es.url];
    const start = () => {
      const child = spawn(process.execPath, ["--import", "tsx", ...args], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
      });
      child.stderr?.on("data", (d: Buffer) => {
        err += d.toString();
      });
      const done = new Promise<{ code: number | null; signal: string | null; out: string; err: string }>(
        (resolve) => child.on("close", (code, signal) => resolve({ code, signal, out, err })),
      );
      return { child, done };
    };
    const first = start();
    while (es.count() < 300 && first.child.exitCode === null) await sleep(20);
    const atKill = es.count();
    first.child.kill("SIGKILL");
    const killed = await first.done;
    assert.equal(killed.signal, "SIGKILL", killed.err);
    const second = await start().done;
    assert.equal(second.code, 0, second.err);
    const stored = esIds(es);
    const conflicts = es.itemStatuses.get(409) ?? 0;
    report({
      case: `worker SIGKILLed after ${atKill} documents, rerun (${conflicts} re-sent documents answered 409)`,
      served: expected.size,
      stored: stored.size,
      duplicated: 0,
      deadLettered:
        (JSON.parse(second.out.trim().split("\n").at(-1) ?? "{}") as { dead?: number }).dead ?? -1,
      reasons: {},
      lost: [...expected].filter((id) => !stored.has(id)).length,
    });
    assert.ok(atKill < expected.size, "killed mid-run");
    assert.equal(stored.size, expected.size);
    for (const id of expected) assert.ok(stored.has(id), id);
    assert.match(second.out, /\{"dead":0\}/);
    await es.stop();
  });

  it("the shutdown summary says what was left in the in-memory queues", async () => {
    const driver = new MemoryQueueDriver({ log });
    const steps = driver.queue<{ n: number }>("playbook-steps");
    for (let n = 0; n < 50; n++) await steps.add("step", { n }, { delayMs: 3_600_000 });
    await driver.close();
    assert.deepEqual(driver.leftOnClose, [{ queue: "playbook-steps", waiting: 0, delayed: 50 }]);
    const summary: StartSummary = {
      seconds: 1,
      polled: 0,
      mapped: 0,
      delivered: {},
      duplicates: 0,
      deadLettered: 0,
      failedPolls: 0,
      pushed: 0,
      failedPushes: 0,
      perStream: {},
      outputs: [],
      leftInMemory: driver.leftOnClose,
    };
    assert.match(
      formatSummary(summary),
      /left in memory at shutdown and dropped \(queue playbook-steps\): 50 delayed playbook steps/,
    );
  });
});
