/**
 * The pipeline with a device state on a real Redis (BullMQ driver, Redis state, two map workers
 * merging at once): every document that names a device leaves with its `medsoc.device.key`, and
 * the state holds one device per simulated device with its findings. Needs Redis on 127.0.0.1:6379.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Redis } from "ioredis";
import { createConnector } from "../../monitors/index.ts";
import { startArmisSimulator } from "../../simulators/armis/server.ts";
import { createCursorStore } from "../../worker/cursors/index.ts";
import { RedisDeviceStateStore } from "../../worker/device-state/index.ts";
import { Metrics } from "../../worker/metrics.ts";
import { Pipeline } from "../../worker/pipeline.ts";
import { createQueueDriver } from "../../worker/queue/index.ts";
import { createSinks } from "../../worker/sinks/index.ts";

const REDIS = "redis://127.0.0.1:6379";

describe("pipeline with a Redis device state", () => {
  test("writes the device key onto every document and merges findings onto their devices", async () => {
    const prefix = `medsoc-test-${randomUUID()}`;
    const sim = await startArmisSimulator({ devices: 400, seed: 7, startMs: Date.UTC(2026, 0, 1) });
    const dir = await mkdtemp(join(tmpdir(), "medsoc-state-pipe-"));
    const driver = createQueueDriver({ kind: "bullmq", redisUrl: REDIS, prefix, attempts: 4, backoffMs: 20 });
    const cursors = createCursorStore({ kind: "redis", redisUrl: REDIS, prefix });
    const state = new RedisDeviceStateStore({ redisUrl: REDIS, prefix });
    const connector = createConnector("armis", {
      baseUrl: sim.url,
      secretKey: sim.secret,
      pageSize: 100,
      initialLookbackSeconds: 0,
    });
    const sinks = createSinks({ file: { dir } });
    const pipeline = new Pipeline({
      driver,
      cursors,
      metrics: new Metrics(),
      sinks,
      sources: [{ name: "armis", type: "armis", streams: ["device", "alert", "vulnerability"], connector }],
      concurrency: { poll: 3, map: 2, sink: 2 },
      deviceState: state,
    });
    pipeline.start();
    try {
      await pipeline.pollAll("once");
      await pipeline.drained(120_000);
      const read = async (stream: string) =>
        (await readFile(join(dir, `${stream}.ndjson`), "utf8"))
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l));
      const devices = await read("device");
      const findings = await read("vulnerability");
      assert.equal(devices.length, 400);
      for (const d of [...devices, ...findings])
        assert.match(String(d.medsoc.device?.key), /^dev-[0-9a-f]{20}$/);
      // Findings polled before their device was known are merged by the next inventory pass
      // (the same order a second poll gives); every device then holds its CVEs.
      const byArmisId = new Map(devices.map((d) => [d.host.id, d]));
      await state.upsert(devices.map((d) => ({ ...d, medsoc: { ...d.medsoc, device: undefined } })));
      assert.equal(await state.count(), 400);
      for (const f of findings) {
        const device = byArmisId.get(f.host.id);
        const key = await state.resolve({ mac: device.host.mac[0] });
        const s = key ? await state.get(key) : null;
        assert.ok(s?.exposure?.vulnerabilities[f.vulnerability.id], `${f.vulnerability.id} on ${f.host.id}`);
      }
    } finally {
      await pipeline.close();
      for (const q of pipeline.queues()) await q.obliterate();
      await driver.deadLetters().clear();
      await Promise.all(sinks.map((s) => s.close()));
      await connector.close();
      await state.clear();
      await state.close();
      const redis = new Redis(REDIS);
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== "0");
      await redis.quit();
      await cursors.close();
      await driver.close();
      await sim.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
