/**
 * `medsoc simulate cynerio` and `medsoc simulate asimily`: serve one simulated monitor on loopback
 * and print the `sources[]` entry that polls it (for `medsoc start --config` or `medsoc poll`).
 */
import { startAsimilySimulator } from "../../simulators/asimily/server.ts";
import { startCynerioSimulator } from "../../simulators/cynerio/server.ts";

function waitForStop(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}

/** `medsoc simulate cynerio` (declared in worker/cli/simulate.ts). */
export async function simulateCynerioAction(opts: { port: string; devices: string }): Promise<void> {
  const sim = await startCynerioSimulator({ port: Number(opts.port), devices: Number(opts.devices) });
  process.stdout.write(
    `Cynerio simulator: ${sim.url}; Ctrl-C stops it\n` +
      `sources:\n  - type: cynerio\n    config:\n      baseUrl: ${sim.url}\n      tokenUrl: ${sim.tokenUrl}\n` +
      `      clientId: ${sim.clientId}\n      clientSecret: ${sim.clientSecret}\n`,
  );
  await waitForStop();
  await sim.stop();
}

/** `medsoc simulate asimily` (declared in worker/cli/simulate.ts). */
export async function simulateAsimilyAction(opts: { port: string; devices: string }): Promise<void> {
  const sim = await startAsimilySimulator({ port: Number(opts.port), devices: Number(opts.devices) });
  process.stdout.write(
    `Asimily simulator: ${sim.url}; Ctrl-C stops it\n` +
      `sources:\n  - type: asimily\n    config:\n      baseUrl: ${sim.url}\n      username: ${sim.username}\n` +
      `      password: ${sim.password}\n`,
  );
  await waitForStop();
  await sim.stop();
}
