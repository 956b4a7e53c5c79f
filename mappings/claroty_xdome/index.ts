import type { Mapper } from "../types.ts";
import { mapXDomeAlert } from "./alert.ts";
import { mapXDomeDevice } from "./device.ts";
import { mapXDomeEvent } from "./event.ts";
import { mapXDomeVulnerability } from "./vulnerability.ts";

export { mapXDomeAlert, mapXDomeDevice, mapXDomeEvent, mapXDomeVulnerability };

/** Claroty xDome streams → their mappings. */
export const xdomeMappings = {
  device: mapXDomeDevice,
  alert: mapXDomeAlert,
  vulnerability: mapXDomeVulnerability,
  event: mapXDomeEvent,
} as const satisfies Readonly<Record<string, Mapper>>;
