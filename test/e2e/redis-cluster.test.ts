/**
 * medsoc on a Redis Cluster: a three-master cluster (no replicas) started here on free loopback
 * ports with `redis-server --cluster-enabled yes`, the real `start --once` wiring pointed at it with
 * `queue.cluster`, a simulated Armis fleet over HTTP and the Elasticsearch double. Every document
 * arrives once, the device state holds every device, the keys are spread over the masters with
 * one hash tag per queue and the device state, and a playbook run (locks, blast radius script,
 * MULTI/MGET of runs, the WATCHed audit chain) succeeds on the cluster.
 * Skips only where redis-server is not installed and `CI` is not set; in CI it fails instead.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { silentLogger } from "../../core/log.ts";
import { createRedis, deleteKeys, forEachMaster, type RedisClient } from "../../core/redis.ts";
import { startArmisSimulator } from "../../simulators/armis/server.ts";
import { startElasticsearchDouble } from "../../simulators/elasticsearch.ts";
import { createFleet } from "../../simulators/fleet/fleet.ts";
import { startResponseSystems } from "../../simulators/response/index.ts";
import { RedisDeviceStateStore } from "../../worker/device-state/index.ts";
import { checkRedis, runStart } from "../../worker/run.ts";
import { alertDoc, deviceDoc, startHarness } from "../helpers/playbooks.ts";
import {
  keysPerNode,
  skipWithoutRedisServer,
  startRedisCluster,
  type TestRedisCluster,
} from "../helpers/redis-cluster.ts";

const skip = skipWithoutRedisServer();
const DEVICES = 3000;

describe("Redis Cluster (three masters on loopback)", { skip }, () => {
  let cluster: TestRedisCluster;
  let redis: RedisClient;

  before(async () => {
    cluster = await startRedisCluster(3);
    redis = createRedis({ url: "redis://unused", cluster: { nodes: cluster.nodes } });
  });

  after(async () => {
    redis?.disconnect();
    await cluster?.stop();
  });

  test("start --once on the cluster: every document once, every device in the state, keys on every master", async () => {
    const prefix = `medsoc-cluster-${randomUUID().slice(0, 8)}`;
    const sim = await startArmisSimulator({ devices: DEVICES, seed: 11, startMs: Date.UTC(2026, 0, 1) });
    const es = await startElasticsearchDouble();
    const dir = await mkdtemp(join(tmpdir(), "medsoc-cluster-"));
    const configFile = join(dir, "medsoc.yaml");
    await writeFile(
      configFile,
      JSON.stringify({
        queue: {
          driver: "bullmq",
          // Only one seed node: the client discovers the other two masters.
          cluster: { nodes: [cluster.nodes[0]] },
          prefix,
          concurrency: { poll: 2, map: 2, sink: 2 },
        },
        sources: [
          {
            type: "armis",
            streams: ["device", "alert"],
            config: { baseUrl: sim.url, secretKey: sim.secret, pageSize: 500, initialLookbackSeconds: 0 },
          },
        ],
        sinks: { elasticsearch: { node: es.url } },
        api: { enabled: false },
      }),
    );
    const state = new RedisDeviceStateStore({
      redisUrl: "redis://unused",
      cluster: { nodes: cluster.nodes },
      prefix,
    });
    try {
      const started = Date.now();
      const summary = await runStart({ configFile, once: true, log: silentLogger, progress: false });
      const seconds = (Date.now() - started) / 1000;
      const ids = new Set<string>();
      let stored = 0;
      for (const docs of es.stored.values())
        for (const id of docs.keys()) {
          ids.add(id);
          stored++;
        }
      const byStream = (s: string) =>
        [...es.stored.entries()].filter(([index]) => index.includes(`medsoc.${s}`) || index.includes(s));
      const deviceDocs = byStream("device").reduce((n, [, docs]) => n + docs.size, 0);
      // Figures for the report (device throughput on the cluster with this machine's load).
      process.stderr.write(
        `redis-cluster: ${DEVICES} devices + alerts, ${stored} docs in ${seconds.toFixed(1)} s (${Math.round(stored / seconds)} docs/s)\n`,
      );
      assert.equal(summary.failedPolls, 0);
      assert.equal(summary.deadLettered, 0);
      assert.ok(summary.polled >= DEVICES, `polled ${summary.polled}`);
      assert.equal(stored, summary.polled, "every polled record is stored");
      assert.equal(ids.size, stored, "no id stored twice");
      assert.equal(es.itemStatuses.get(409) ?? 0, 0, "no document sent twice");
      assert.equal(deviceDocs, DEVICES, "one device document per simulated device");
      assert.equal(await state.count(), DEVICES, "the device state holds every device once");
      // The keys are hash-tagged: each queue in one slot, the device state in one, spread over masters.
      const perNode = await keysPerNode(cluster.ports);
      assert.ok(perNode.filter((n) => n > 0).length >= 2, `keys on more than one master: ${perNode}`);
      // Where each group's keys are: every key of a hash tag on one master only.
      const nodesOf = new Map<string, Set<string>>();
      let untagged = 0;
      await forEachMaster(redis, async (node) => {
        let cursor = "0";
        do {
          const [next, keys] = await node.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
          cursor = next;
          for (const key of keys) {
            const tag = /\{([^}]+)\}/.exec(key)?.[1];
            if (!tag) {
              untagged++;
              continue;
            }
            const set = nodesOf.get(tag) ?? new Set<string>();
            set.add(`${node.options.port}`);
            nodesOf.set(tag, set);
          }
        } while (cursor !== "0");
      });
      for (const tag of ["raw", "poll", "sink-elasticsearch", "ds"])
        assert.equal(
          nodesOf.get(tag)?.size,
          1,
          `the keys of {${tag}} are on one master: ${[...nodesOf.keys()]}`,
        );
      // Only single-key data goes untagged (cursors, the dead-letter list).
      assert.ok(untagged <= 4, `${untagged} keys without a hash tag`);
    } finally {
      await state.close();
      await deleteKeys(redis, `${prefix}:*`);
      await sim.stop();
      await es.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("the start check passes on the cluster and names queue.cluster when it is unreachable", async () => {
    await checkRedis({ url: "redis://unused", cluster: { nodes: cluster.nodes } });
    await assert.rejects(
      checkRedis({ url: "redis://unused", cluster: { nodes: ["redis://127.0.0.1:1"] } }, 2000),
      /queue\.cluster: redis at cluster 127\.0\.0\.1:1 is not reachable/,
    );
  });

  test("a playbook run on the cluster: containment, locks, blast radius and the audit chain", async () => {
    const fleet = createFleet({ size: 300, seed: 1 });
    const sims = await startResponseSystems({ fleet });
    const h = await startHarness({ fleet, sims, cluster: { nodes: cluster.nodes } });
    try {
      let index = -1;
      for (let i = 0; i < fleet.size && index < 0; i++) {
        const f = fleet.facts(i);
        if (f.deviceClass === "infusion_pump" && f.credential.kind !== "hard_coded") index = i;
      }
      assert.ok(index >= 0, "the fleet has an infusion pump");
      const f = fleet.facts(index);
      await h.runtime.rules.onDocuments([
        deviceDoc(f, { inUse: false }),
        alertDoc(f, "Communication to a suspicious host"),
      ]);
      assert.equal(h.runtime.rules.stats.started, 1);
      const runs = await h.runtime.store.listRuns();
      assert.equal(runs.length, 1);
      const run = await h.runtime.engine.waitForRun((runs[0] as { id: string }).id);
      assert.equal(run.status, "succeeded", run.error);
      assert.equal(sims.ise.anc.get(f.mac), "IOMT_QUARANTINE");
      // The run's store and chain are under the {pb} hash tag, the step queue under its own.
      // The engine saves the run's status, releases the device lock, then appends run.finished:
      // the entry follows the status by a moment.
      const finished = (lines: string[]) =>
        lines.some((l) => (JSON.parse(l) as { type: string }).type === "run.finished");
      let chain = await redis.lrange(`${h.prefix}:{pb}:audit`, 0, -1);
      for (let i = 0; i < 100 && !finished(chain); i++) {
        await new Promise((r) => setTimeout(r, 50));
        chain = await redis.lrange(`${h.prefix}:{pb}:audit`, 0, -1);
      }
      assert.ok(finished(chain), "the audit chain in Redis holds the run's end");
      assert.equal(Number(await redis.exists(`${h.prefix}:{pb}:runs`)), 1);
      // The same alert again is de-duplicated by the claim in the cluster.
      await h.runtime.rules.onDocuments([alertDoc(f, "Communication to a suspicious host")]);
      assert.equal(h.runtime.rules.stats.started, 1);
    } finally {
      await h.close();
      await sims.stop();
    }
  });
});
