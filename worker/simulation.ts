/**
 * The one door from medsoc's own commands to the simulators: the embedded default of `medsoc start`
 * (the simulated hospital and the response systems), `medsoc report` without a device state and
 * `medsoc playbooks run` on the simulated fleet go through here; `medsoc simulate` uses the monitor
 * definitions' simulators. No other production module imports `simulators/`
 * (`test/unit/layering.test.ts`).
 */

export { armisRecords } from "../simulators/armis/records.ts";
export { createFleet, type Fleet } from "../simulators/fleet/fleet.ts";
export { type Hospital, type HospitalOptions, startHospital } from "../simulators/hospital.ts";
export { startExtendedResponseSystems } from "../simulators/response/enforcement.ts";
export { clinicalServersOf, startResponseSystems } from "../simulators/response/index.ts";
