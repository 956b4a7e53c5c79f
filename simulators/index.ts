/** The simulated hospital: monitor APIs on loopback over a deterministic fleet. */
export {
  type ArmisFailures,
  type ArmisSimulator,
  type ArmisSimulatorOptions,
  type ArmisSimulatorStats,
  startArmisSimulator,
} from "./armis/server.ts";
export {
  createFleet,
  DEFAULT_START_MS,
  type DeviceClass,
  type DeviceProfile,
  Fleet,
  type FleetOptions,
  isoMicros,
  PERIOD,
  STEP_US,
  TIE_GROUP,
} from "./fleet.ts";
