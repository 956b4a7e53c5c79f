import type { Mapper } from "../types.ts";
import { mapPanwIotAlert } from "./alert.ts";
import { mapPanwIotDevice } from "./device.ts";
import { mapPanwIotVulnerability } from "./vulnerability.ts";

export { mapPanwIotAlert, mapPanwIotDevice, mapPanwIotVulnerability };

/** PANW IoT Security streams → their mappings. */
export const panwIotMappings = {
  device: mapPanwIotDevice,
  alert: mapPanwIotAlert,
  vulnerability: mapPanwIotVulnerability,
} as const satisfies Readonly<Record<string, Mapper>>;
