import type { Mapper } from "../types.ts";
import { mapArmisAlert } from "./alert.ts";
import { mapArmisDevice } from "./device.ts";
import { mapArmisVulnerability } from "./vulnerability.ts";

export { mapArmisAlert, mapArmisDevice, mapArmisVulnerability };

/** Armis streams → their mappings. */
export const armisMappings = {
  device: mapArmisDevice,
  alert: mapArmisAlert,
  vulnerability: mapArmisVulnerability,
} as const satisfies Readonly<Record<string, Mapper>>;
