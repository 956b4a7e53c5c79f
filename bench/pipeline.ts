/**
 * Child process of the pipeline benchmark: the real `medsoc start --once --config` wiring (BullMQ on
 * Redis, Armis connector over HTTP, mapping, Elasticsearch sink) against the doubles. Prints one
 * JSON line. Argument: the config file. The parent (bench/run.ts) deletes the run's Redis keys once
 * this process is gone, also when it failed or was interrupted.
 */
import { silentLogger } from "../core/log.ts";
import { runStart } from "../worker/run.ts";

const [configFile = ""] = process.argv.slice(2);

let peakSampled = 0;
const sampler = setInterval(() => {
  peakSampled = Math.max(peakSampled, process.memoryUsage().rss);
}, 100);
const started = process.hrtime.bigint();
const cpuBefore = process.cpuUsage();
const summary = await runStart({ configFile, once: true, log: silentLogger, progress: false });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
// CPU time of the worker (every thread): a figure that stays comparable on a busy machine, where
// devices/s also measures what the other processes took.
const cpu = process.cpuUsage(cpuBefore);
clearInterval(sampler);

process.stdout.write(
  `${JSON.stringify({
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    polled: summary.polled,
    mapped: summary.mapped,
    delivered: summary.delivered.elasticsearch ?? 0,
    deadLettered: summary.deadLettered,
    peakRssBytes: Math.max(peakSampled, process.resourceUsage().maxRSS * 1024),
  })}\n`,
);
process.exit(0);
