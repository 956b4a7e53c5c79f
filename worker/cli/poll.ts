/** Declares `medsoc poll`; the work is in worker/commands/poll.ts, loaded when run. */
import type { Command } from "commander";
import { PermanentError } from "../../core/errors.ts";

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new PermanentError(`${name} must be a positive integer`);
    return n;
  };
}

export function registerPoll(program: Command): void {
  program
    .command("poll")
    .description("fetch one stream from a live API until exhausted; raw records as NDJSON on stdout")
    .requiredOption("--source <name>", "source name or type from the config (e.g. armis)")
    .requiredOption("--stream <name>", "stream name (e.g. device)")
    .option(
      "-c, --config <file>",
      "medsoc.yaml with the source (default: $MEDSOC_CONFIG, then ./medsoc.yaml)",
    )
    .option("--cursor-file <file>", "start from the cursor saved here and save the new one after each page")
    .option(
      "--page-size <n>",
      "records per request (default: the connector's pageSize)",
      positiveInt("--page-size"),
    )
    .action(
      async (opts: {
        source: string;
        stream: string;
        config?: string;
        cursorFile?: string;
        pageSize?: number;
      }) => (await import("../commands/poll.ts")).pollAction(opts),
    );
}
