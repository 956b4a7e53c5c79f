/**
 * `medsoc simulate hospital [--devices N] [--monitors a,b] [--seed S]`: starts every monitor
 * simulator of the simulated hospital (`simulators/hospital.ts` HOSPITAL_MONITORS) over one fleet
 * and prints a ready-to-use medsoc.yaml on stdout (memory queue, one `sources[]` entry per
 * monitor), so `medsoc poll --config that.yaml …` and `medsoc start --config that.yaml` work
 * against it. Runs until SIGINT/SIGTERM. The last line printed is `# ready`.
 */
import { stringify } from "yaml";
import { PermanentError } from "../../core/errors.ts";
import { HOSPITAL_MONITORS, type Hospital, startHospital } from "../../simulators/hospital.ts";

/** The medsoc.yaml that polls every monitor of a running hospital. */
export function hospitalConfigYaml(hospital: Hospital): string {
  const config = {
    queue: { driver: "memory" },
    sources: hospital.monitors.map((m) => ({ type: m.source, config: m.sourceConfig })),
    sinks: { file: { dir: "out" } },
  };
  const monitors = hospital.monitors.map((m) => `${m.source} ${m.url}`).join(", ");
  return `# medsoc simulated hospital: ${hospital.fleet.size} devices; monitors: ${monitors}\n# Ctrl-C stops the simulators. Save this as medsoc.yaml, then e.g.:\n#   medsoc poll --config medsoc.yaml --source ${hospital.monitors[0]?.source ?? "armis"} --stream device\n${stringify(config)}# ready\n`;
}

/** `medsoc simulate hospital` (declared in worker/cli/simulate.ts). */
export async function simulateHospitalAction(
  opts: { devices: string; seed: string; monitors?: string },
  waitForStop: () => Promise<void>,
): Promise<void> {
  const devices = Number(opts.devices);
  const seed = Number(opts.seed);
  if (!Number.isInteger(devices) || devices < 1)
    throw new PermanentError("--devices must be a positive integer");
  if (!Number.isInteger(seed)) throw new PermanentError("--seed must be an integer");
  const monitors = opts.monitors
    ?.split(",")
    .map((m) => m.trim())
    .filter(Boolean);
  for (const m of monitors ?? [])
    if (!HOSPITAL_MONITORS[m])
      throw new PermanentError(
        `unknown monitor "${m}" (known: ${Object.keys(HOSPITAL_MONITORS).join(", ")})`,
      );
  const hospital = await startHospital({ devices, seed, monitors });
  process.stdout.write(hospitalConfigYaml(hospital));
  await waitForStop();
  await hospital.stop();
}
