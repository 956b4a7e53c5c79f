import type { Mapper } from "../types.ts";
import { mapAsimilyAnomaly } from "./anomaly.ts";
import { mapAsimilyAsset } from "./asset.ts";
import { mapAsimilyCve } from "./cve.ts";

export { mapAsimilyAnomaly, mapAsimilyAsset, mapAsimilyCve };

/** Asimily streams → their mappings. */
export const asimilyMappings = {
  asset: mapAsimilyAsset,
  anomaly: mapAsimilyAnomaly,
  cve: mapAsimilyCve,
} as const satisfies Readonly<Record<string, Mapper>>;
