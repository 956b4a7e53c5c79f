/**
 * `queue.cluster`: the config accepts seed nodes and says what is wrong otherwise; the one Redis
 * factory makes an ioredis Cluster for it (nothing connects here: lazy clients), and the key groups
 * are hash-tagged on a cluster only, so the single-Redis key names stay as they were.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Cluster, Redis } from "ioredis";
import { validateConfig } from "../../core/config.ts";
import { ConfigError } from "../../core/errors.ts";
import {
  createRedis,
  describeRedis,
  keyGroup,
  queueRedisTarget,
  resilientRedisOptions,
} from "../../core/redis.ts";
import { componentSchemas } from "../../worker/run.ts";

describe("queue.cluster", () => {
  test("accepts redis:// and rediss:// seed nodes with the bullmq driver", () => {
    const cfg = validateConfig(
      {
        queue: {
          driver: "bullmq",
          cluster: { nodes: ["redis://10.0.0.1:7000", "rediss://user:secret@10.0.0.2:7001"] },
        },
      },
      componentSchemas(),
      {},
    );
    assert.deepEqual(cfg.queue.cluster?.nodes, [
      "redis://10.0.0.1:7000",
      "rediss://user:secret@10.0.0.2:7001",
    ]);
    assert.deepEqual(queueRedisTarget(cfg.queue).cluster, cfg.queue.cluster);
    assert.equal(validateConfig({}, componentSchemas(), {}).queue.cluster, undefined);
  });

  test("rejects an empty node list, a non-Redis URL and a cluster with the memory driver", () => {
    const problems = (raw: unknown) => {
      try {
        validateConfig(raw, componentSchemas(), {});
      } catch (error) {
        assert.ok(error instanceof ConfigError);
        return error.problems.map((p) => p.path);
      }
      return [];
    };
    assert.ok(
      problems({ queue: { driver: "bullmq", cluster: { nodes: [] } } }).includes("queue.cluster.nodes"),
    );
    assert.ok(
      problems({ queue: { driver: "bullmq", cluster: { nodes: ["http://10.0.0.1:7000"] } } }).includes(
        "queue.cluster.nodes[0]",
      ),
    );
    assert.deepEqual(problems({ queue: { cluster: { nodes: ["redis://10.0.0.1:7000"] } } }), [
      "queue.cluster",
    ]);
  });

  test("createRedis makes a Cluster with the resilient options on every node, a Redis otherwise", () => {
    const options = { ...resilientRedisOptions("test", 1234), lazyConnect: true };
    const cluster = createRedis(
      {
        url: "redis://ignored:6379",
        cluster: { nodes: ["rediss://u:p%40ss@10.0.0.1:7000", "redis://10.0.0.2"] },
      },
      options,
    );
    try {
      assert.ok(cluster instanceof Cluster);
      assert.equal(cluster.isCluster, true);
      const o = cluster.options;
      assert.equal(o.lazyConnect, true);
      assert.equal(o.enableOfflineQueue, true);
      assert.equal(typeof o.clusterRetryStrategy, "function");
      assert.equal(o.redisOptions?.commandTimeout, 1234);
      assert.equal(o.redisOptions?.maxRetriesPerRequest, null);
      assert.equal(o.redisOptions?.connectionName, "medsoc-test");
      assert.equal(o.redisOptions?.username, "u");
      assert.equal(o.redisOptions?.password, "p@ss");
      assert.deepEqual(o.redisOptions?.tls, {});
      assert.equal(describeRedis(cluster), "cluster 10.0.0.1:7000,10.0.0.2:6379");
    } finally {
      cluster.disconnect();
    }
    const single = createRedis("redis://127.0.0.1:6390/2", { lazyConnect: true });
    try {
      assert.ok(single instanceof Redis);
      assert.equal(single.options.port, 6390);
      assert.equal(single.options.db, 2);
    } finally {
      single.disconnect();
    }
  });

  test("key groups carry a hash tag on a cluster only", () => {
    assert.equal(keyGroup(false, "medsoc", "pb"), "medsoc:pb");
    assert.equal(keyGroup(true, "medsoc", "pb"), "medsoc:{pb}");
    const single = createRedis("redis://127.0.0.1:6390", { lazyConnect: true });
    const cluster = createRedis(
      { url: "redis://x", cluster: { nodes: ["redis://127.0.0.1:7000"] } },
      { lazyConnect: true },
    );
    assert.equal(keyGroup(single, "p", "ds"), "p:ds");
    assert.equal(keyGroup(cluster, "p", "ds"), "p:{ds}");
    single.disconnect();
    cluster.disconnect();
  });
});
