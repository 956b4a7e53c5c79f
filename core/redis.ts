/**
 * Connection settings shared by every Redis client the runtime keeps open (queues, cursors, device
 * state, playbook runs, audit): ride out a Redis restart instead of failing the first command.
 */
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";

/** How long a Redis outage is ridden out before commands fail. @defaultValue 60000 (ms) */
export const DEFAULT_REDIS_GRACE_MS = 60_000;

/**
 * ioredis options for a connection that survives a Redis restart: it reconnects forever with capped,
 * jittered backoff; commands issued or in flight while Redis is away wait in the offline queue and are
 * sent again once it is back (`maxRetriesPerRequest: null`), but no longer than `graceMs`
 * (`commandTimeout`), so a Redis that does not come back ends in a clear error, not a hang. Only for
 * connections without blocking commands (BullMQ workers keep their own, which waits as long as it takes).
 */
export function resilientRedisOptions(role: string, graceMs = DEFAULT_REDIS_GRACE_MS): RedisOptions {
  return {
    connectionName: `medsoc-${role}`,
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    commandTimeout: graceMs,
    retryStrategy: (times) => Math.min(2000, 50 * 2 ** Math.min(times, 6)) + Math.floor(Math.random() * 100),
  };
}

/** A Redis Cluster to connect to instead of one Redis (`queue.cluster`). */
export interface RedisClusterConfig {
  /** Seed nodes, `redis://[user:password@]host:port` or `rediss://…` (TLS); the rest is discovered. */
  nodes: readonly string[];
}

/** Where a component's Redis is: one server (`url`) or, when `cluster` is set, a Redis Cluster. */
export interface RedisTarget {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`; not used when `cluster` is set. */
  url: string;
  cluster?: RedisClusterConfig;
}

/** The Redis of a `queue` config section: `redisUrl`, or the cluster when `cluster` is set. */
export function queueRedisTarget(q: { redisUrl: string; cluster?: RedisClusterConfig }): RedisTarget {
  return q.cluster ? { url: q.redisUrl, cluster: q.cluster } : { url: q.redisUrl };
}

/** A connection to one Redis or to a Redis Cluster; both speak the same commands. */
export type RedisClient = Redis | Cluster;

/**
 * The one place a Redis connection is made: a `Redis` for a single server, an ioredis `Cluster`
 * seeded from `target.cluster.nodes` otherwise. `options` (e.g. {@link resilientRedisOptions}) apply
 * to every node connection; their `retryStrategy` also paces the cluster's own reconnects, and the
 * node URLs' credentials and `rediss:` (TLS) apply to every node.
 */
export function createRedis(target: RedisTarget | string, options: RedisOptions = {}): RedisClient {
  const t: RedisTarget = typeof target === "string" ? { url: target } : target;
  if (!t.cluster) return new Redis(t.url, options);
  const nodes = t.cluster.nodes.map((n) => new URL(n));
  if (nodes.length === 0) throw new Error("queue.cluster.nodes: at least one seed node is required");
  const first = nodes[0] as URL;
  const { retryStrategy, enableOfflineQueue, lazyConnect, ...nodeOptions } = options;
  const redisOptions: RedisOptions = { ...nodeOptions };
  if (first.username) redisOptions.username = decodeURIComponent(first.username);
  if (first.password) redisOptions.password = decodeURIComponent(first.password);
  if (first.protocol === "rediss:") redisOptions.tls = {};
  const clusterOptions: ClusterOptions = {
    redisOptions,
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
    ...(retryStrategy ? { clusterRetryStrategy: (times: number) => retryStrategy(times) } : {}),
  };
  return new Cluster(
    nodes.map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })),
    clusterOptions,
  );
}

/**
 * The namespace of one group of keys that scripts, MULTI or MGET touch together: `<prefix>:<group>`
 * on a single Redis (the layout since the start), `<prefix>:{<group>}` on a Redis Cluster, where the
 * braces are a hash tag that puts the whole group in one slot (a command over several slots fails
 * with CROSSSLOT there).
 */
export function keyGroup(client: RedisClient | boolean, prefix: string, group: string): string {
  const clustered = typeof client === "boolean" ? client : client.isCluster;
  return clustered ? `${prefix}:{${group}}` : `${prefix}:${group}`;
}

/** Where a client points, for error messages: `host:port` or `cluster host:port,…`. */
export function describeRedis(client: RedisClient): string {
  if (client instanceof Cluster) {
    // Before the first connection only the seed nodes are known (ioredis keeps them privately).
    const known = client.nodes().map((n) => ({ host: n.options.host, port: n.options.port }));
    const seeds = (client as unknown as { startupNodes?: { host?: string; port?: number }[] }).startupNodes;
    const nodes = known.length > 0 ? known : (seeds ?? []);
    return `cluster ${nodes.map((n) => `${n.host}:${n.port}`).join(",")}`;
  }
  return `${client.options.host}:${client.options.port}`;
}

/** Runs `each` on every master of a cluster, or on the one server (SCAN-based maintenance). */
export async function forEachMaster(
  client: RedisClient,
  each: (node: Redis) => Promise<void>,
): Promise<void> {
  if (client instanceof Cluster) {
    // The masters are known once the cluster client is connected (a PING waits for that).
    await client.ping();
    for (const node of client.nodes("master")) await each(node);
  } else await each(client);
}

/**
 * Deletes every key matching `pattern` (SCAN on every master, then one DEL per key in a pipeline:
 * a DEL of several keys fails on a cluster node unless they share a slot). Maintenance and tests.
 * @returns how many keys were deleted
 */
export async function deleteKeys(client: RedisClient, pattern: string): Promise<number> {
  let deleted = 0;
  await forEachMaster(client, async (node) => {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length === 0) continue;
      const pipeline = node.pipeline();
      for (const key of keys) pipeline.del(key);
      for (const [error, n] of (await pipeline.exec()) ?? []) {
        if (error) throw error;
        deleted += Number(n);
      }
    } while (cursor !== "0");
  });
  return deleted;
}
