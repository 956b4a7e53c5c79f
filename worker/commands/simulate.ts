/**
 * `medsoc simulate <id>` for every registered monitor (`monitors/index.ts`) and `medsoc simulate
 * hospital`: one simulated monitor (or all of them over one fleet) on loopback until SIGINT/SIGTERM,
 * printing the `sources[]` entry that polls it (for `medsoc start --config` or `medsoc poll`).
 */
import type { Command } from "commander";
import { stringify } from "yaml";
import { monitors } from "../../monitors/index.ts";
import type { MonitorDefinition } from "../../monitors/types.ts";
import { registerSimulateHospital } from "./simulate-hospital.ts";

/** What `simulate <id>` prints: a first line for humans, then the `sources:` YAML that polls the simulator. */
export function simulatorBanner(
  monitor: MonitorDefinition,
  url: string,
  sourceConfig: Record<string, unknown>,
): string {
  return `${monitor.name} simulator: ${url}; Ctrl-C stops it\n${stringify({ sources: [{ type: monitor.id, config: sourceConfig }] })}`;
}

function registerMonitor(
  simulate: Command,
  monitor: MonitorDefinition,
  waitForStop: () => Promise<void>,
): void {
  const cmd = simulate
    .command(monitor.id)
    .description(monitor.simulator.description)
    .option("--port <n>", "port (0 = any free port)", "0")
    .option("--devices <n>", "fleet size", "3000");
  if (monitor.simulator.typeDrift) cmd.option("--type-drift", "serve drifted types in every third record");
  cmd.action(async (opts: { port: string; devices: string; typeDrift?: boolean }) => {
    const simulator = await monitor.simulator.load();
    const sim = await simulator.start({
      port: Number(opts.port),
      devices: Number(opts.devices),
      typeDrift: opts.typeDrift === true,
    });
    process.stdout.write(simulatorBanner(monitor, sim.url, sim.sourceConfig));
    await waitForStop();
    await sim.stop();
  });
}

/** Adds `medsoc simulate` with one subcommand per monitor and `hospital`. */
export function registerSimulate(program: Command, waitForStop: () => Promise<void>): Command {
  const simulate = program.command("simulate").description("run a simulated monitor on loopback");
  for (const monitor of monitors) registerMonitor(simulate, monitor, waitForStop);
  registerSimulateHospital(simulate, waitForStop);
  return simulate;
}
