/**
 * The monitors of the simulated hospital, in start order: the keys of `HOSPITAL_MONITORS`
 * (simulators/hospital.ts checks it against this list). Apart so the CLI can name them in its help
 * without loading the simulators.
 */
export const HOSPITAL_MONITOR_IDS = [
  "armis",
  "claroty_xdome",
  "panw_iot",
  "nozomi",
  "forescout",
  "cynerio",
  "asimily",
] as const;

export type HospitalMonitorId = (typeof HOSPITAL_MONITOR_IDS)[number];
