/**
 * `medsoc validate-config` and `medsoc dead-letters [replay]` (declared in worker/cli.ts): commands
 * that read a deployment's medsoc.yaml.
 */
import { type Command, CommanderError } from "commander";
import { ConfigError, PermanentError } from "../../core/errors.ts";
import { queueRedisTarget } from "../../core/redis.ts";
import { componentSchemas } from "../components.ts";
import { loadConfigFile } from "../config.ts";
import { createQueueDriver } from "../queue/index.ts";
import { replayDeadLetters } from "../replay.ts";
import { checkRedis } from "../run.ts";

const EXIT_USAGE = 2;

export async function validateConfigAction(file: string): Promise<void> {
  const cfg = await loadConfigFile(file, componentSchemas());
  process.stdout.write(
    `${file}: valid (${cfg.sourceConfigs.length} source(s), sinks: ${Object.keys(cfg.sinkConfigs).join(", ") || "none"}, queue: ${cfg.queue.driver})\n`,
  );
}

export async function deadLettersAction(opts: {
  config: string;
  limit: string;
  count?: boolean;
}): Promise<void> {
  const cfg = await loadConfigFile(opts.config, componentSchemas());
  if (cfg.queue.driver !== "bullmq")
    throw new ConfigError(
      [
        {
          path: "queue.driver",
          message: "the memory driver keeps dead letters in the process (see out/dead-letter.ndjson)",
        },
      ],
      opts.config,
    );
  const limit = Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new PermanentError("--limit must be a positive integer");
  await checkRedis(queueRedisTarget(cfg.queue));
  const driver = createQueueDriver({
    kind: "bullmq",
    redisUrl: cfg.queue.redisUrl,
    cluster: cfg.queue.cluster,
    prefix: cfg.queue.prefix,
  });
  try {
    const dlq = driver.deadLetters();
    if (opts.count) process.stdout.write(`${await dlq.count()}\n`);
    else for (const entry of await dlq.list(-limit, -1)) process.stdout.write(`${JSON.stringify(entry)}\n`);
  } finally {
    await driver.close();
  }
}

export async function deadLettersReplayAction(command: Command): Promise<void> {
  // `-c` is the parent's option too (commander hands it to `dead-letters`), hence optsWithGlobals.
  const opts = command.optsWithGlobals<{ config?: string; queue?: string; dryRun?: boolean }>();
  if (!opts.config) throw new CommanderError(EXIT_USAGE, "medsoc.config", "--config <file> is required");
  const cfg = await loadConfigFile(opts.config, componentSchemas());
  if (cfg.queue.driver !== "bullmq")
    throw new ConfigError(
      [{ path: "queue.driver", message: "replay needs the bullmq driver (dead letters kept in Redis)" }],
      opts.config,
    );
  await checkRedis(queueRedisTarget(cfg.queue));
  const driver = createQueueDriver({
    kind: "bullmq",
    redisUrl: cfg.queue.redisUrl,
    cluster: cfg.queue.cluster,
    prefix: cfg.queue.prefix,
  });
  try {
    const report = await replayDeadLetters(driver, { queue: opts.queue, dryRun: Boolean(opts.dryRun) });
    const jobs = Object.entries(report.jobs)
      .map(([q, n]) => `${n} job(s) to ${q}`)
      .join(", ");
    process.stdout.write(
      `${opts.dryRun ? "would replay" : "replayed"} ${report.replayed} of ${report.entries} dead letter(s)${jobs ? `: ${jobs}` : ""}\n`,
    );
    for (const s of report.skipped) process.stdout.write(`  kept ${s.queue} ${s.jobId}: ${s.reason}\n`);
  } finally {
    await driver.close();
  }
}
