/**
 * `medsoc simulate nozomi` and `medsoc simulate forescout`: a simulated Nozomi Guardian or
 * Forescout Enterprise Manager on loopback until interrupted, printing the connector config that
 * polls it (for `medsoc start --config` or `medsoc poll`).
 */
import { startForescoutSimulator } from "../../simulators/forescout/server.ts";
import { startNozomiSimulator } from "../../simulators/nozomi/server.ts";

function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}

/** `medsoc simulate nozomi` (declared in worker/cli/simulate.ts). */
export async function simulateNozomiAction(opts: { port: string; devices: string }): Promise<void> {
  const sim = await startNozomiSimulator({ port: Number(opts.port), devices: Number(opts.devices) });
  const config = {
    baseUrl: sim.url,
    auth: { type: "sign_in", keyName: sim.keyName, keyToken: sim.keyToken },
  };
  process.stdout.write(`Nozomi simulator: ${sim.url}; config: ${JSON.stringify(config)}; Ctrl-C stops it\n`);
  await untilStopped();
  await sim.stop();
}

/** `medsoc simulate forescout` (declared in worker/cli/simulate.ts). */
export async function simulateForescoutAction(opts: { port: string; devices: string }): Promise<void> {
  const sim = await startForescoutSimulator({ port: Number(opts.port), devices: Number(opts.devices) });
  const config = { baseUrl: sim.url, username: sim.username, password: sim.password };
  process.stdout.write(
    `Forescout simulator: ${sim.url}; config: ${JSON.stringify(config)}; Ctrl-C stops it\n`,
  );
  await untilStopped();
  await sim.stop();
}
