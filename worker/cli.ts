import { readFileSync } from "node:fs";
import type { Client } from "@elastic/elasticsearch";
import { Command, CommanderError, Option } from "commander";
import { loadConfigFile } from "../core/config.ts";
import { ConfigError, PermanentError } from "../core/errors.ts";
import { createLogger } from "../core/log.ts";
import { queueRedisTarget } from "../core/redis.ts";
import { startArmisSimulator } from "../simulators/armis/server.ts";
import { loadAdvisoryIndex, registerAdvisories } from "./commands/advisories.ts";
import { runNormalize } from "./commands/normalize.ts";
import { registerPackage } from "./commands/package.ts";
import { registerPlaybookCommands } from "./commands/playbooks.ts";
import { registerPoll } from "./commands/poll.ts";
import { registerReport } from "./commands/report.ts";
import { setupElasticsearch } from "./commands/setup-elasticsearch.ts";
import { setupLatestDeviceTransform } from "./commands/setup-elasticsearch-transform.ts";
import { registerSetupKibana } from "./commands/setup-kibana.ts";
import { registerSetupSplunk } from "./commands/setup-splunk.ts";
import { registerSimulateCynerioAsimily } from "./commands/simulate-cynerio-asimily.ts";
import { registerSimulateHospital } from "./commands/simulate-hospital.ts";
import { registerSimulateMonitors } from "./commands/simulate-monitors.ts";
import { registerSimulateNozomiForescout } from "./commands/simulate-nozomi-forescout.ts";
import { createQueueDriver } from "./queue/index.ts";
import { replayDeadLetters } from "./replay.ts";
import { checkRedis, componentSchemas, formatSummary, runStart } from "./run.ts";
import { createElasticsearchClient, type ElasticsearchSinkConfig } from "./sinks/elasticsearch.ts";

/** Exit codes: 0 ok, 1 runtime failure, 2 bad arguments or invalid configuration. */
const EXIT_USAGE = 2;

function printConfigError(error: ConfigError): void {
  process.stderr.write(`${error.problems.length} problem(s) in the configuration:\n`);
  for (const p of error.problems) process.stderr.write(`  ${p.path}: ${p.message}\n`);
}

function waitForStopSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.stderr.write(`\nmedsoc: ${signal} received, finishing in-flight jobs…\n`);
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}

/** The whole command line; `main` parses it, `scripts/reference-docs.ts` documents it. */
export const program = new Command();
program
  .name("medsoc")
  .description("IoMT security monitors → ECS → Elasticsearch / Splunk, with patient-safe playbooks")
  .exitOverride()
  .version(
    (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
      .version,
  )
  .showHelpAfterError();

program
  .command("start")
  .description(
    "run the workers: poll, map, deliver (no --config: embedded default with a simulated hospital)",
  )
  .option("-c, --config <file>", "medsoc.yaml for the production wiring (Redis, Elasticsearch, Splunk HEC)")
  .option("--once", "poll every stream until exhausted, drain the queues and exit")
  .option("--workers-only", "run only the stage workers (extra replicas; no scheduler, no initial poll)")
  .addOption(
    new Option("--devices <n>", "simulated fleet size (embedded default only)").argParser((v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1)
        throw new CommanderError(EXIT_USAGE, "medsoc.devices", "--devices must be a positive integer");
      return n;
    }),
  )
  .option("--out <dir>", "output folder (embedded default only)", "out")
  .action(
    async (opts: {
      config?: string;
      once?: boolean;
      workersOnly?: boolean;
      devices?: number;
      out: string;
    }) => {
      if (opts.workersOnly && (opts.once || !opts.config))
        throw new CommanderError(
          EXIT_USAGE,
          "medsoc.workersOnly",
          "--workers-only needs --config and cannot go with --once",
        );
      const log = createLogger();
      const summary = await runStart({
        configFile: opts.config,
        once: Boolean(opts.once),
        workersOnly: Boolean(opts.workersOnly),
        devices: opts.devices,
        outDir: opts.out,
        log,
        stopSignal: opts.once ? undefined : waitForStopSignal(),
      });
      process.stdout.write(formatSummary(summary));
      // A backfill that could not collect a stream must not look like a success to a script.
      if (opts.once && (summary.failedPolls > 0 || summary.failedPushes > 0)) process.exitCode = 1;
    },
  );

program
  .command("normalize")
  .description(
    "map raw vendor records (one JSON per line on stdin) to ECS documents (one per line on stdout)",
  )
  .requiredOption("--source <id>", "source id, e.g. armis")
  .requiredOption("--stream <name>", "stream name, e.g. device, alert, vulnerability")
  .option("--preserve-original", "keep the raw record in event.original")
  .option(
    "--preserve-duplicate-vendor-fields",
    "keep vendor fields already copied to ECS fields (Elastic's preserve_duplicate_custom_fields)",
  )
  .option("--no-enrich", "the raw mapping, without the medsoc.* enrichment")
  .option(
    "--advisory-store <file>",
    "advisory store (default $MEDSOC_ADVISORY_STORE, ~/.medsoc/advisories.json)",
  )
  .action(
    async (opts: {
      source: string;
      stream: string;
      preserveOriginal?: boolean;
      preserveDuplicateVendorFields?: boolean;
      enrich: boolean;
      advisoryStore?: string;
    }) => {
      process.exitCode = await runNormalize({
        source: opts.source,
        stream: opts.stream,
        input: process.stdin,
        output: process.stdout,
        preserveOriginal: Boolean(opts.preserveOriginal),
        preserveDuplicateVendorFields: Boolean(opts.preserveDuplicateVendorFields),
        enrich: opts.enrich,
        advisories: opts.enrich ? await loadAdvisoryIndex(opts.advisoryStore) : undefined,
      });
    },
  );

program
  .command("validate-config")
  .description("check a medsoc.yaml and list every problem with its path (exit 2 when invalid)")
  .argument("<file>")
  .action(async (file: string) => {
    const cfg = await loadConfigFile(file, componentSchemas());
    process.stdout.write(
      `${file}: valid (${cfg.sourceConfigs.length} source(s), sinks: ${Object.keys(cfg.sinkConfigs).join(", ") || "none"}, queue: ${cfg.queue.driver})\n`,
    );
  });

const deadLetters = program
  .command("dead-letters")
  .description("print the dead-letter queue (records and jobs given up on, each with its reason) as NDJSON")
  .requiredOption("-c, --config <file>", "medsoc.yaml of the deployment (queue.driver: bullmq)")
  .option("--limit <n>", "print the newest n entries, oldest first", "100")
  .option("--count", "print only the number of entries")
  .action(async (opts: { config: string; limit: string; count?: boolean }) => {
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
  });

deadLetters
  .command("replay")
  .description(
    "put dead letters back into the pipeline after their cause is fixed (idempotent: replaying twice enqueues nothing new)",
  )
  // `-c` is the parent's option too (commander hands it to `dead-letters`), hence optsWithGlobals.
  .option("-c, --config <file>", "medsoc.yaml of the deployment (queue.driver: bullmq)")
  .option("--queue <name>", "only entries of this queue (sink-elasticsearch, sink-splunk, raw, poll)")
  .option("--dry-run", "print what would be replayed, change nothing")
  .action(async (_opts: unknown, command: Command) => {
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
  });

registerPlaybookCommands(program);

const setup = program.command("setup").description("install medsoc's resources into a SIEM");
setup
  .command("elasticsearch")
  .description("install the ILM policy, component and index templates for logs-medsoc.*")
  .requiredOption("-c, --config <file>", "medsoc.yaml with sinks.elasticsearch")
  .option("--transform", "also install and start the latest-device transform (medsoc-latest-device)")
  .action(async (opts: { config: string; transform?: boolean }) => {
    const cfg = await loadConfigFile(opts.config, componentSchemas());
    const es = cfg.sinkConfigs.elasticsearch;
    if (!es)
      throw new ConfigError(
        [{ path: "sinks.elasticsearch", message: "is required for setup elasticsearch" }],
        opts.config,
      );
    const log = createLogger();
    const client: Client = createElasticsearchClient(es as ElasticsearchSinkConfig);
    try {
      const done = await setupElasticsearch(client, { log });
      const transform = opts.transform ? await setupLatestDeviceTransform(client, { log }) : undefined;
      process.stdout.write(`${JSON.stringify(transform ? { ...done, transform } : done, null, 2)}\n`);
    } finally {
      await client.close();
    }
  });

registerReport(program);
registerSetupKibana(setup);
registerSetupSplunk(setup);
registerPackage(program);
registerAdvisories(program);

const simulate = program.command("simulate").description("run a simulated monitor on loopback");
simulate
  .command("armis")
  .description("serve a simulated Armis tenant until interrupted")
  .option("--port <n>", "port (0 = any free port)", "0")
  .option("--devices <n>", "fleet size", "3000")
  .action(async (opts: { port: string; devices: string }) => {
    const sim = await startArmisSimulator({ port: Number(opts.port), devices: Number(opts.devices) });
    process.stdout.write(`Armis simulator: ${sim.url} (secret key: ${sim.secret}); Ctrl-C stops it\n`);
    await waitForStopSignal();
    await sim.stop();
  });
registerSimulateMonitors(program);
registerSimulateCynerioAsimily(program);

registerPoll(program);
registerSimulateHospital(simulate, waitForStopSignal);
registerSimulateNozomiForescout(program);

/** Runs the command line (bin/medsoc.mjs). */
export async function main(argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
    } else if (error instanceof ConfigError) {
      printConfigError(error);
      process.exitCode = EXIT_USAGE;
    } else if (error instanceof PermanentError) {
      process.stderr.write(`medsoc: ${error.message}\n`);
      process.exitCode = EXIT_USAGE;
    } else {
      process.stderr.write(`medsoc: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  }
  // A failed command may leave sockets or servers open (a half-started worker): the error is
  // reported, so make sure the process ends rather than hanging on them.
  if (process.exitCode && process.exitCode !== 0) setTimeout(() => process.exit(), 200).unref();
}
