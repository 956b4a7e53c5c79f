/**
 * A throw-away Redis Cluster for tests: `masters` redis-server processes with
 * `--cluster-enabled yes` on free loopback ports, in a temporary folder, joined with
 * `redis-cli --cluster create` (no replicas), ready once every node reports `cluster_state:ok`.
 * `stop()` ends the servers this helper started (by their own process handles) and removes the folder.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestRedisCluster {
  /** `redis://127.0.0.1:<port>` of every master. */
  nodes: string[];
  ports: number[];
  stop(): Promise<void>;
}

/** Whether `redis-server` and `redis-cli` can be run here. */
export function redisServerAvailable(): boolean {
  return (
    spawnSync("redis-server", ["--version"]).status === 0 &&
    spawnSync("redis-cli", ["--version"]).status === 0
  );
}

/**
 * Skip reason for a test that needs redis-server: only when it is missing on a developer machine.
 * In CI (`CI` set) the test runs and fails instead, so a missing server cannot pass unnoticed.
 */
export function skipWithoutRedisServer(): string | false {
  if (redisServerAvailable() || process.env.CI) return false;
  return "redis-server/redis-cli not installed (in CI this test fails instead of skipping)";
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** `count` ports P with P and its cluster bus port P+10000 free on loopback. */
async function freePorts(count: number): Promise<number[]> {
  const out: number[] = [];
  for (let tries = 0; out.length < count && tries < 500; tries++) {
    const p = 20_000 + Math.floor(Math.random() * 35_000);
    if (out.includes(p) || out.includes(p + 10_000) || out.includes(p - 10_000)) continue;
    if ((await portFree(p)) && (await portFree(p + 10_000))) out.push(p);
  }
  if (out.length < count) throw new Error("no free loopback ports for the Redis Cluster");
  return out;
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args]);
  return stdout;
}

export async function startRedisCluster(masters = 3): Promise<TestRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), "medsoc-redis-cluster-"));
  const ports = await freePorts(masters);
  const servers: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.exitCode !== null || s.signalCode !== null) return resolve();
            s.once("exit", () => resolve());
            s.kill("SIGTERM");
            setTimeout(() => s.kill("SIGKILL"), 5000).unref();
          }),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      const server = spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          join(dir, `nodes-${port}.conf`),
          "--cluster-node-timeout",
          "5000",
          "--dir",
          dir,
          "--save",
          "",
          "--appendonly",
          "no",
        ],
        { stdio: "ignore" },
      );
      servers.push(server);
    }
    // Every server answers PING before the cluster is formed.
    for (const port of ports) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          if ((await cli(port, "ping")).includes("PONG")) break;
        } catch {
          // Not listening yet.
        }
        if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await run("redis-cli", [
      "--cluster",
      "create",
      ...ports.map((p) => `127.0.0.1:${p}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    const deadline = Date.now() + 20_000;
    for (const port of ports)
      for (;;) {
        if ((await cli(port, "cluster", "info")).includes("cluster_state:ok")) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${port} did not reach cluster_state:ok`);
        await new Promise((r) => setTimeout(r, 100));
      }
    return { nodes: ports.map((p) => `redis://127.0.0.1:${p}`), ports, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Keys per master of a cluster node (`DBSIZE`), to show the keys really are spread. */
export async function keysPerNode(ports: number[]): Promise<number[]> {
  return Promise.all(ports.map(async (p) => Number((await cli(p, "dbsize")).trim())));
}
