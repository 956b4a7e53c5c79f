import type { Mapper } from "../types.ts";
import { mapCynerioAsset } from "./asset.ts";
import { mapCynerioEvent } from "./event.ts";

export { mapCynerioAsset, mapCynerioEvent };

/** Cynerio streams → their mappings (`event` records arrive by push). */
export const cynerioMappings = {
  asset: mapCynerioAsset,
  event: mapCynerioEvent,
} as const satisfies Readonly<Record<string, Mapper>>;
