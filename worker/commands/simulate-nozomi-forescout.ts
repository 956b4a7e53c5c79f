/**
 * `medsoc simulate nozomi` and `medsoc simulate forescout`: a simulated Nozomi Guardian or
 * Forescout Enterprise Manager on loopback until interrupted, printing the connector config that
 * polls it (for `medsoc start --config` or `medsoc poll`).
 */
import type { Command } from "commander";
import { startForescoutSimulator } from "../../simulators/forescout/server.ts";
import { startNozomiSimulator } from "../../simulators/nozomi/server.ts";

function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}

/** Adds the `nozomi` and `forescout` subcommands to `program`'s `simulate` command. */
export function registerSimulateNozomiForescout(program: Command): void {
  const simulate =
    program.commands.find((c) => c.name() === "simulate") ??
    program.command("simulate").description("run a simulated monitor on loopback");
  simulate
    .command("nozomi")
    .description("serve a simulated Nozomi Guardian until interrupted")
    .option("--port <n>", "port (0 = any free port)", "0")
    .option("--devices <n>", "fleet size", "3000")
    .action(async (opts: { port: string; devices: string }) => {
      const sim = await startNozomiSimulator({ port: Number(opts.port), devices: Number(opts.devices) });
      const config = {
        baseUrl: sim.url,
        auth: { type: "sign_in", keyName: sim.keyName, keyToken: sim.keyToken },
      };
      process.stdout.write(
        `Nozomi simulator: ${sim.url}; config: ${JSON.stringify(config)}; Ctrl-C stops it\n`,
      );
      await untilStopped();
      await sim.stop();
    });
  simulate
    .command("forescout")
    .description("serve a simulated Forescout eyeSight Web API until interrupted")
    .option("--port <n>", "port (0 = any free port)", "0")
    .option("--devices <n>", "fleet size", "3000")
    .action(async (opts: { port: string; devices: string }) => {
      const sim = await startForescoutSimulator({ port: Number(opts.port), devices: Number(opts.devices) });
      const config = { baseUrl: sim.url, username: sim.username, password: sim.password };
      process.stdout.write(
        `Forescout simulator: ${sim.url}; config: ${JSON.stringify(config)}; Ctrl-C stops it\n`,
      );
      await untilStopped();
      await sim.stop();
    });
}
