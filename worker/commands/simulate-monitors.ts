/**
 * `medsoc simulate armis`, `medsoc simulate claroty_xdome` and `medsoc simulate panw_iot`: one
 * monitor simulator on loopback until SIGINT/SIGTERM, printing the connector config that polls it
 * (for `medsoc poll` and manual testing). Declared in worker/cli/simulate.ts.
 */
import { startArmisSimulator } from "../../simulators/armis/server.ts";
import { startXDomeSimulator } from "../../simulators/claroty_xdome/server.ts";
import { startPanwIotSimulator } from "../../simulators/panw_iot/server.ts";

function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}

/** `medsoc simulate armis`. */
export async function simulateArmisAction(
  opts: { port: string; devices: string },
  waitForStop: () => Promise<void>,
): Promise<void> {
  const sim = await startArmisSimulator({ port: Number(opts.port), devices: Number(opts.devices) });
  process.stdout.write(`Armis simulator: ${sim.url} (secret key: ${sim.secret}); Ctrl-C stops it\n`);
  await waitForStop();
  await sim.stop();
}

/** `medsoc simulate claroty_xdome` (declared in worker/cli/simulate.ts). */
export async function simulateXDomeAction(opts: {
  port: string;
  devices: string;
  typeDrift?: boolean;
}): Promise<void> {
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
}

/** `medsoc simulate panw_iot` (declared in worker/cli/simulate.ts). */
export async function simulatePanwIotAction(opts: {
  port: string;
  devices: string;
  typeDrift?: boolean;
}): Promise<void> {
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
}
