/**
 * The outside systems of the playbook bench (ISE, PAN-OS, Vault, device manager, ServiceNow,
 * PagerDuty, chat simulators) in their own process: in a deployment they are other machines, so
 * their CPU is not on medsoc's event loop. Rebuilds the same fleet from its seed, starts the
 * simulators and sends their `playbooks.systems` settings over IPC; a `stop` message stops them.
 */
import { createFleet } from "../simulators/fleet/fleet.ts";
import { startResponseSystems } from "../simulators/response/index.ts";

const [size, seed] = process.argv.slice(2).map(Number);
const sims = await startResponseSystems({
  fleet: createFleet({ size: size as number, seed: seed as number }),
});
process.on("message", async (m: unknown) => {
  if (m === "stop") {
    await sims.stop();
    process.send?.({ stopped: true }, () => process.exit(0));
  }
});
process.on("disconnect", () => process.exit(0));
process.send?.({ systems: sims.systemsConfig() });
