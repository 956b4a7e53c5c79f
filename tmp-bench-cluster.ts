import { randomUUID } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRedis, deleteKeys } from "./core/redis.ts";
import { silentLogger } from "./core/log.ts";
import { startArmisSimulator } from "./simulators/armis/server.ts";
import { startElasticsearchDouble } from "./simulators/elasticsearch.ts";
import { runStart } from "./worker/run.ts";
import { startRedisCluster } from "./test/helpers/redis-cluster.ts";
const devices = Number(process.argv[2] ?? 20000);
const mode = process.argv[3] ?? "single";
const cluster = mode === "cluster" ? await startRedisCluster(3) : undefined;
const prefix = `tmpbench-${randomUUID().slice(0, 8)}`;
const sim = await startArmisSimulator({ devices, seed: 11 });
const es = await startElasticsearchDouble({ countOnly: true });
const dir = await mkdtemp(join(tmpdir(), "medsoc-cb-"));
const configFile = join(dir, "m.yaml");
await writeFile(configFile, JSON.stringify({
  queue: { driver: "bullmq", ...(cluster ? { cluster: { nodes: cluster.nodes } } : {}), prefix, concurrency: { poll: 1, map: 2, sink: 2 }, maxPendingBatches: 8 },
  sources: [{ type: "armis", streams: ["device"], config: { baseUrl: sim.url, secretKey: sim.secret, pageSize: 1000, initialLookbackSeconds: 0 } }],
  sinks: { elasticsearch: { node: es.url, concurrency: 2 } },
  api: { enabled: false },
}));
const t = Date.now();
const s = await runStart({ configFile, once: true, log: silentLogger, progress: false });
const sec = (Date.now() - t) / 1000;
console.log(JSON.stringify({ mode, devices, stored: es.count(), seconds: sec, perSecond: Math.round(es.count() / sec), polled: s.polled, dup: es.itemStatuses.get(409) ?? 0 }));
const r = createRedis({ url: "redis://127.0.0.1:6379", cluster: cluster ? { nodes: cluster.nodes } : undefined });
await deleteKeys(r, `${prefix}:*`);
r.disconnect();
await sim.stop(); await es.stop(); await cluster?.stop();
process.exit(0);
