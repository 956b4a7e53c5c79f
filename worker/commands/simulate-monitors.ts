/**
 * `medsoc simulate claroty_xdome` and `medsoc simulate panw_iot`: one monitor simulator on loopback
 * until SIGINT/SIGTERM, printing the connector config that polls it (for `medsoc poll` and manual
 * testing). Registered under the existing `simulate` command.
 */
import type { Command } from "commander";
import { startXDomeSimulator } from "../../simulators/claroty_xdome/server.ts";
import { startPanwIotSimulator } from "../../simulators/panw_iot/server.ts";

function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}

/** Adds the xDome and PANW IoT Security simulators to `program`'s `simulate` command. */
export function registerSimulateMonitors(program: Command): void {
  const simulate =
    program.commands.find((c) => c.name() === "simulate") ??
    program.command("simulate").description("run a simulated monitor on loopback");
  simulate
    .command("claroty_xdome")
    .description("serve a simulated Claroty xDome tenant until interrupted")
    .option("--port <n>", "port (0 = any free port)", "0")
    .option("--devices <n>", "fleet size", "3000")
    .option("--type-drift", "serve drifted types in every third record")
    .action(async (opts: { port: string; devices: string; typeDrift?: boolean }) => {
      const sim = await startXDomeSimulator({
        port: Number(opts.port),
        devices: Number(opts.devices),
        failures: { typeDrift: opts.typeDrift === true },
      });
      process.stdout.write(
        `Claroty xDome simulator: ${sim.url}; Ctrl-C stops it\nconfig: ${JSON.stringify({ baseUrl: sim.url, apiToken: sim.token })}\n`,
      );
      await untilStopped();
      await sim.stop();
    });
  simulate
    .command("panw_iot")
    .description("serve a simulated Palo Alto Networks IoT Security tenant until interrupted")
    .option("--port <n>", "port (0 = any free port)", "0")
    .option("--devices <n>", "fleet size", "3000")
    .option("--type-drift", "serve drifted types in every third record")
    .action(async (opts: { port: string; devices: string; typeDrift?: boolean }) => {
      const sim = await startPanwIotSimulator({
        port: Number(opts.port),
        devices: Number(opts.devices),
        failures: { typeDrift: opts.typeDrift === true },
      });
      const config = {
        baseUrl: sim.url,
        customerId: sim.customerId,
        keyId: sim.keyId,
        accessKey: sim.accessKey,
      };
      process.stdout.write(
        `PANW IoT Security simulator: ${sim.url}; Ctrl-C stops it\nconfig: ${JSON.stringify(config)}\n`,
      );
      await untilStopped();
      await sim.stop();
    });
}
