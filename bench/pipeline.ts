/**
 * Child process of the pipeline benchmark: the real `medsoc start --once` wiring (BullMQ on Redis,
 * Armis connector over HTTP, mapping, Elasticsearch sink) against the doubles. Prints one JSON line.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { silentLogger } from "../core/log.ts";
import { runStart } from "../worker/run.ts";

const [armisUrl, secret, esUrl, redisUrl = "redis://127.0.0.1:6379"] = process.argv.slice(2);
const prefix = `bench${Date.now()}`;
const dir = await mkdtemp(join(tmpdir(), "medsoc-bench-"));
const configFile = join(dir, "medsoc.yaml");
await writeFile(
  configFile,
  JSON.stringify({
    queue: {
      driver: "bullmq",
      redisUrl,
      prefix,
      concurrency: { poll: 1, map: 2, sink: 2 },
      maxPendingBatches: 8,
    },
    sources: [
      {
        type: "armis",
        streams: ["device"],
        config: {
          baseUrl: armisUrl,
          secretKey: secret,
          pageSize: Number(process.env.BENCH_PAGE_SIZE ?? 1000),
          initialLookbackSeconds: 0,
        },
      },
    ],
    sinks: { elasticsearch: { node: esUrl, concurrency: 2 } },
    api: { enabled: false },
  }),
);

let peakSampled = 0;
const sampler = setInterval(() => {
  peakSampled = Math.max(peakSampled, process.memoryUsage().rss);
}, 100);
const started = process.hrtime.bigint();
const summary = await runStart({ configFile, once: true, log: silentLogger, progress: false });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
clearInterval(sampler);

const redis = new Redis(redisUrl);
let cursor = "0";
do {
  const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
  cursor = next;
  if (keys.length) await redis.del(...keys);
} while (cursor !== "0");
redis.disconnect();
await rm(dir, { recursive: true, force: true });

process.stdout.write(
  `${JSON.stringify({
    seconds,
    polled: summary.polled,
    mapped: summary.mapped,
    delivered: summary.delivered.elasticsearch ?? 0,
    deadLettered: summary.deadLettered,
    peakRssBytes: Math.max(peakSampled, process.resourceUsage().maxRSS * 1024),
  })}\n`,
);
process.exit(0);
