/**
 * `medsoc simulate cynerio` and `medsoc simulate asimily`: serve one simulated monitor on loopback
 * and print the `sources[]` entry that polls it (for `medsoc start --config` or `medsoc poll`).
 */
import type { Command } from "commander";
import { startAsimilySimulator } from "../../simulators/asimily/server.ts";
import { startCynerioSimulator } from "../../simulators/cynerio/server.ts";

function waitForStop(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}

/** Adds the `cynerio` and `asimily` subcommands to the existing `simulate` command of `program`. */
export function registerSimulateCynerioAsimily(program: Command): void {
  const simulate = program.commands.find((c) => c.name() === "simulate");
  if (!simulate) throw new Error("registering simulate subcommands: no simulate command");
  simulate
    .command("cynerio")
    .description("serve a simulated Cynerio account (OAuth token endpoint and asset API) until interrupted")
    .option("--port <n>", "port (0 = any free port)", "0")
    .option("--devices <n>", "fleet size", "3000")
    .action(async (opts: { port: string; devices: string }) => {
      const sim = await startCynerioSimulator({ port: Number(opts.port), devices: Number(opts.devices) });
      process.stdout.write(
        `Cynerio simulator: ${sim.url}; Ctrl-C stops it\n` +
          `sources:\n  - type: cynerio\n    config:\n      baseUrl: ${sim.url}\n      tokenUrl: ${sim.tokenUrl}\n` +
          `      clientId: ${sim.clientId}\n      clientSecret: ${sim.clientSecret}\n`,
      );
      await waitForStop();
      await sim.stop();
    });
  simulate
    .command("asimily")
    .description("serve a simulated Asimily Insight portal until interrupted")
    .option("--port <n>", "port (0 = any free port)", "0")
    .option("--devices <n>", "fleet size", "3000")
    .action(async (opts: { port: string; devices: string }) => {
      const sim = await startAsimilySimulator({ port: Number(opts.port), devices: Number(opts.devices) });
      process.stdout.write(
        `Asimily simulator: ${sim.url}; Ctrl-C stops it\n` +
          `sources:\n  - type: asimily\n    config:\n      baseUrl: ${sim.url}\n      username: ${sim.username}\n` +
          `      password: ${sim.password}\n`,
      );
      await waitForStop();
      await sim.stop();
    });
}
