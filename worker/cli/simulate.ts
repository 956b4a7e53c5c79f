/**
 * Declares `medsoc simulate <monitor>`; the simulators are loaded when the command runs
 * (worker/commands/simulate-*.ts).
 */
import type { Command } from "commander";
import { HOSPITAL_MONITOR_IDS } from "../../simulators/hospital-monitors.ts";

type SimOpts = { port: string; devices: string };

/** One monitor simulator command: `--port`, `--devices` (and `--type-drift`). */
function monitor(
  simulate: Command,
  name: string,
  description: string,
  run: (opts: SimOpts & { typeDrift?: boolean }) => Promise<void>,
  typeDrift = false,
): void {
  const cmd = simulate
    .command(name)
    .description(description)
    .option("--port <n>", "port (0 = any free port)", "0")
    .option("--devices <n>", "fleet size", "3000");
  if (typeDrift) cmd.option("--type-drift", "serve drifted types in every third record");
  cmd.action(run);
}

export function registerSimulate(program: Command, waitForStop: () => Promise<void>): void {
  const simulate = program.command("simulate").description("run a simulated monitor on loopback");
  const monitors = () => import("../commands/simulate-monitors.ts");
  const pairs = () => import("../commands/simulate-cynerio-asimily.ts");
  const ot = () => import("../commands/simulate-nozomi-forescout.ts");
  monitor(simulate, "armis", "serve a simulated Armis tenant until interrupted", async (o) =>
    (await monitors()).simulateArmisAction(o, waitForStop),
  );
  monitor(
    simulate,
    "claroty_xdome",
    "serve a simulated Claroty xDome tenant until interrupted",
    async (o) => (await monitors()).simulateXDomeAction(o),
    true,
  );
  monitor(
    simulate,
    "panw_iot",
    "serve a simulated Palo Alto Networks IoT Security tenant until interrupted",
    async (o) => (await monitors()).simulatePanwIotAction(o),
    true,
  );
  monitor(
    simulate,
    "cynerio",
    "serve a simulated Cynerio account (OAuth token endpoint and asset API) until interrupted",
    async (o) => (await pairs()).simulateCynerioAction(o),
  );
  monitor(simulate, "asimily", "serve a simulated Asimily Insight portal until interrupted", async (o) =>
    (await pairs()).simulateAsimilyAction(o),
  );
  simulate
    .command("hospital")
    .description("serve every monitor simulator over one fleet and print a ready-to-use medsoc.yaml")
    .option("--devices <n>", "fleet size", "3000")
    .option("--seed <n>", "fleet seed (same seed, same fleet)", "1")
    .option("--monitors <list>", `comma-separated subset of: ${HOSPITAL_MONITOR_IDS.join(", ")}`)
    .action(async (opts: { devices: string; seed: string; monitors?: string }) =>
      (await import("../commands/simulate-hospital.ts")).simulateHospitalAction(opts, waitForStop),
    );
  monitor(simulate, "nozomi", "serve a simulated Nozomi Guardian until interrupted", async (o) =>
    (await ot()).simulateNozomiAction(o),
  );
  monitor(
    simulate,
    "forescout",
    "serve a simulated Forescout eyeSight Web API until interrupted",
    async (o) => (await ot()).simulateForescoutAction(o),
  );
}
