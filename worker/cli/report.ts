/** Declares `medsoc report`; the work is in worker/commands/report.ts, loaded when run. */
import { type Command, CommanderError, Option } from "commander";
import type { ReportFormat } from "../commands/report.ts";

export function registerReport(program: Command): void {
  program
    .command("report")
    .description(
      "posture report over the device state (no --config/--state: runs the simulated hospital into a memory state)",
    )
    .addOption(
      new Option("--format <format>", "output format").choices(["text", "json", "html"]).default("text"),
    )
    .option("--out <file>", "write the report to a file instead of stdout")
    .option(
      "-c, --config <file>",
      "medsoc.yaml of a deployment (queue.driver: bullmq; its Redis device state)",
    )
    .option("--state <file>", "a device-state snapshot (out/device-state.ndjson from `medsoc start`)")
    .addOption(
      new Option("--devices <n>", "simulated fleet size (embedded default only)").argParser((v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1)
          throw new CommanderError(2, "medsoc.devices", "--devices must be a positive integer");
        return n;
      }),
    )
    .action(
      async (opts: {
        format: ReportFormat;
        out?: string;
        config?: string;
        state?: string;
        devices?: number;
      }) => (await import("../commands/report.ts")).reportAction(opts),
    );
}
