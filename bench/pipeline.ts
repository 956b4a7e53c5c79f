/**
 * Child process of the pipeline benchmark: the real `medsoc start --once --config` wiring (BullMQ on
 * Redis, Armis connector over HTTP, mapping, Elasticsearch sink) against the doubles. Prints one
 * JSON line. Arguments: the config file and its Redis prefix (its keys are deleted at the end).
 */
import { Redis } from "ioredis";
import { silentLogger } from "../core/log.ts";
import { runStart } from "../worker/run.ts";

const [configFile = "", prefix = "", redisUrl = "redis://127.0.0.1:6379"] = process.argv.slice(2);

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
