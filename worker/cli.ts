/**
 * The command line. Every command is declared here or in worker/cli/ (arguments, options, help), and
 * its implementation (worker/commands/) is imported only when that command runs: `medsoc start`
 * does not load the report renderer, the package builders or the CSAF validator, and `--help` loads
 * none of them.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { ConfigError, PermanentError } from "../core/errors.ts";
import { registerAdvisories } from "./cli/advisories.ts";
import { registerPackage } from "./cli/package.ts";
import { registerPlaybookCommands } from "./cli/playbooks.ts";
import { registerPoll } from "./cli/poll.ts";
import { registerReport } from "./cli/report.ts";
import { registerSetup, registerSetupSiems } from "./cli/setup.ts";
import { registerSimulate } from "./commands/simulate.ts";
import type { StartCommandOptions } from "./commands/start.ts";

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
  .action(async (opts: StartCommandOptions) =>
    (await import("./commands/start.ts")).startAction(opts, waitForStopSignal),
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
    }) => (await import("./commands/normalize.ts")).normalizeAction(opts),
  );

program
  .command("validate-config")
  .description("check a medsoc.yaml and list every problem with its path (exit 2 when invalid)")
  .argument("<file>")
  .action(async (file: string) => (await import("./commands/deployment.ts")).validateConfigAction(file));

const deadLetters = program
  .command("dead-letters")
  .description("print the dead-letter queue (records and jobs given up on, each with its reason) as NDJSON")
  .requiredOption("-c, --config <file>", "medsoc.yaml of the deployment (queue.driver: bullmq)")
  .option("--limit <n>", "print the newest n entries, oldest first", "100")
  .option("--count", "print only the number of entries")
  .action(async (opts: { config: string; limit: string; count?: boolean }) =>
    (await import("./commands/deployment.ts")).deadLettersAction(opts),
  );

deadLetters
  .command("replay")
  .description(
    "put dead letters back into the pipeline after their cause is fixed (idempotent: replaying twice enqueues nothing new)",
  )
  // `-c` is the parent's option too (commander hands it to `dead-letters`), hence optsWithGlobals.
  .option("-c, --config <file>", "medsoc.yaml of the deployment (queue.driver: bullmq)")
  .option("--queue <name>", "only entries of this queue (sink-elasticsearch, sink-splunk, raw, poll)")
  .option("--dry-run", "print what would be replayed, change nothing")
  .action(async (_opts: unknown, command: Command) =>
    (await import("./commands/deployment.ts")).deadLettersReplayAction(command),
  );

registerPlaybookCommands(program);
const setup = registerSetup(program);
registerReport(program);
registerSetupSiems(setup);
registerPackage(program);
registerAdvisories(program);
registerSimulate(program, waitForStopSignal);
registerPoll(program);

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
