/** `medsoc start` (declared in worker/cli.ts): runs the workers and prints the summary. */
import { CommanderError } from "commander";
import { createLogger } from "../../core/log.ts";
import { formatSummary, runStart } from "../run.ts";

export interface StartCommandOptions {
  config?: string;
  once?: boolean;
  workersOnly?: boolean;
  devices?: number;
  out: string;
}

export async function startAction(
  opts: StartCommandOptions,
  waitForStop: () => Promise<void>,
): Promise<void> {
  if (opts.workersOnly && (opts.once || !opts.config))
    throw new CommanderError(
      2,
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
    stopSignal: opts.once ? undefined : waitForStop(),
  });
  process.stdout.write(formatSummary(summary));
  // A backfill that could not collect a stream must not look like a success to a script.
  if (opts.once && (summary.failedPolls > 0 || summary.failedPushes > 0)) process.exitCode = 1;
}
