/** The simulated hospital: monitor APIs on loopback over a deterministic fleet. */

export {
  type ArmisFailures,
  type ArmisSimulator,
  type ArmisSimulatorOptions,
  type ArmisSimulatorStats,
  startArmisSimulator,
} from "./armis/server.ts";
export {
  type AsimilyFailures,
  type AsimilySimulator,
  type AsimilySimulatorOptions,
  type AsimilySimulatorStats,
  asimilyAnomaly,
  asimilyAsset,
  startAsimilySimulator,
} from "./asimily/server.ts";
export {
  startXDomeSimulator,
  type XDomeFailures,
  type XDomeSimulator,
  type XDomeSimulatorOptions,
} from "./claroty_xdome/server.ts";

export {
  CYNERIO_CEF_PRODUCT,
  CYNERIO_CEF_VENDOR,
  type CynerioPushOptions,
  cefHeader,
  cefValue,
  cynerioCef,
  cynerioEvents,
  cynerioSyslogLine,
  pushCynerioEvents,
} from "./cynerio/push.ts";
export {
  CYNERIO_DEFAULT_PASSWORD_EXPOSURE_TITLE,
  CYNERIO_DEFAULT_PASSWORD_TITLE,
  cynerioAsset,
  cynerioDefaultPasswordEvent,
  cynerioEvent,
  cynerioEventOf,
} from "./cynerio/records.ts";
export {
  type CynerioFailures,
  type CynerioSimulator,
  type CynerioSimulatorOptions,
  type CynerioSimulatorStats,
  startCynerioSimulator,
} from "./cynerio/server.ts";
export {
  type AlertFacts,
  type AlertKind,
  CRITICAL_SHARE,
  type CredentialFacts,
  type CredentialKind,
  createFleet,
  DEFAULT_START_MS,
  type DeviceClass,
  type DeviceFacts,
  type DeviceProfile,
  Fleet,
  type FleetOptions,
  isoMicros,
  PERIOD,
  STEP_US,
  TIE_GROUP,
} from "./fleet.ts";
export {
  type ForescoutFailures,
  type ForescoutPushOptions,
  type ForescoutSimulator,
  type ForescoutSimulatorOptions,
  type ForescoutSimulatorStats,
  forescoutHostId,
  forescoutPushedHost,
  pushForescoutHosts,
  startForescoutSimulator,
} from "./forescout/server.ts";
export {
  HOSPITAL_MONITORS,
  type Hospital,
  type HospitalMonitor,
  type HospitalOptions,
  startHospital,
} from "./hospital.ts";
export type { MonitorFailures, MonitorSimulatorStats } from "./monitor-faults.ts";
export {
  type NozomiFailures,
  type NozomiSimulator,
  type NozomiSimulatorOptions,
  type NozomiSimulatorStats,
  startNozomiSimulator,
} from "./nozomi/server.ts";
export {
  type PanwIotFailures,
  type PanwIotSimulator,
  type PanwIotSimulatorOptions,
  startPanwIotSimulator,
} from "./panw_iot/server.ts";
