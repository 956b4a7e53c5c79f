/**
 * Scale out (`--workers 2`): two medsoc processes share one deployment's queues on Redis, as
 * `npm run bench -- --workers 2` runs them: a replica `start --workers-only` and `start --once`
 * (which polls and waits for the queues to drain). A simulated Armis fleet over HTTP, one
 * Elasticsearch double for both. Every device document is stored exactly once (the double answers
 * a second `create` of an id with 409 and counts it), the device state holds every device once, and
 * both processes delivered documents (the replica's own `/metrics`, the other's summary).
 * Needs Redis on 127.0.0.1:6379 (a unique prefix, removed at the end).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createRedis, deleteKeys } from "../../core/redis.ts";
import { startArmisSimulator } from "../../simulators/armis/server.ts";
import { startElasticsearchDouble } from "../../simulators/elasticsearch.ts";
import { RedisDeviceStateStore } from "../../worker/device-state/index.ts";

const BIN = fileURLToPath(new URL("../../bin/medsoc.mjs", import.meta.url));
const REDIS_URL = process.env.MEDSOC_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const DEVICES = 3000;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function medsoc(args: string[]): {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
} {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, MEDSOC_LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

/** Sum of a Prometheus counter's samples whose labels include every `match` pair. */
function counterSum(text: string, name: string, match: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const labels = line.slice(name.length + 1, line.indexOf("}"));
    if (Object.entries(match).every(([k, v]) => labels.includes(`${k}="${v}"`)))
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

describe("scale out: two worker processes on one Redis (needs Redis on 127.0.0.1:6379)", () => {
  test("start --once and a --workers-only replica: no document lost or stored twice, both deliver", async () => {
    const prefix = `medsoc-test-scale-${randomUUID().slice(0, 8)}`;
    const sim = await startArmisSimulator({ devices: DEVICES, seed: 5, startMs: Date.UTC(2026, 0, 1) });
    // A short delay per bulk request: sink batches take long enough for both processes to take some.
    const es = await startElasticsearchDouble({ faults: { delayMs: 30 } });
    const dir = await mkdtemp(join(tmpdir(), "medsoc-scale-out-"));
    const apiPort = await freePort();
    const base = {
      queue: { driver: "bullmq", redisUrl: REDIS_URL, prefix, concurrency: { poll: 1, map: 2, sink: 2 } },
      sources: [
        {
          type: "armis",
          streams: ["device"],
          config: { baseUrl: sim.url, secretKey: sim.secret, pageSize: 100, initialLookbackSeconds: 0 },
        },
      ],
      sinks: { elasticsearch: { node: es.url } },
    };
    const onceConfig = join(dir, "once.yaml");
    const replicaConfig = join(dir, "replica.yaml");
    await writeFile(onceConfig, JSON.stringify({ ...base, api: { enabled: false } }));
    await writeFile(replicaConfig, JSON.stringify({ ...base, api: { enabled: true, port: apiPort } }));
    const replica = medsoc(["start", "--workers-only", "--config", replicaConfig]);
    const redis = createRedis(REDIS_URL);
    const state = new RedisDeviceStateStore({ redisUrl: REDIS_URL, prefix });
    try {
      // The replica's workers are up once its API answers /readyz (it starts after the workers).
      const deadline = Date.now() + 60_000;
      for (;;) {
        const ok = await fetch(`http://127.0.0.1:${apiPort}/readyz`)
          .then((r) => r.ok)
          .catch(() => false);
        if (ok) break;
        if (replica.child.exitCode !== null)
          assert.fail(`the replica exited: ${(await replica.done).stderr}`);
        if (Date.now() > deadline) assert.fail("the --workers-only replica did not become ready");
        await new Promise((r) => setTimeout(r, 200));
      }
      const once = await medsoc(["start", "--once", "--config", onceConfig]).done;
      assert.equal(once.code, 0, once.stderr);
      const deliveredByOnce = Number(/sink elasticsearch: (\d+) delivered/.exec(once.stdout)?.[1] ?? 0);
      const metrics = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
      const deliveredByReplica = counterSum(metrics, "medsoc_records_total", {
        stage: "sink.elasticsearch",
        direction: "out",
      });
      const mappedByReplica = counterSum(metrics, "medsoc_records_total", { stage: "map", direction: "out" });

      process.stderr.write(
        `scale-out: start --once delivered ${deliveredByOnce}, the replica ${deliveredByReplica} (mapped ${mappedByReplica})\n`,
      );
      const ids = new Set<string>();
      let stored = 0;
      for (const docs of es.stored.values())
        for (const id of docs.keys()) {
          ids.add(id);
          stored++;
        }
      assert.equal(stored, DEVICES, "every device document stored (no loss)");
      assert.equal(ids.size, DEVICES, "no id stored twice");
      assert.equal(es.itemStatuses.get(409) ?? 0, 0, "no document sent a second time");
      assert.equal(es.itemStatuses.get(201), DEVICES, "one create per document");
      assert.ok(deliveredByOnce > 0, `start --once delivered ${deliveredByOnce}`);
      assert.ok(deliveredByReplica > 0, `the replica delivered ${deliveredByReplica}`);
      assert.ok(mappedByReplica > 0, `the replica mapped ${mappedByReplica}`);
      assert.equal(deliveredByOnce + deliveredByReplica, DEVICES, "the two processes' deliveries add up");
      assert.equal(await state.count(), DEVICES, "the shared device state holds every device once");
    } finally {
      replica.child.kill("SIGTERM");
      const r = await replica.done;
      await state.close();
      await deleteKeys(redis, `${prefix}:*`);
      redis.disconnect();
      await sim.stop();
      await es.stop();
      await rm(dir, { recursive: true, force: true });
      assert.equal(r.code, 0, `the replica stops cleanly on SIGTERM: ${r.stderr}`);
    }
  });
});
