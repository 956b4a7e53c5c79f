import type { Mapper } from "../types.ts";
import { mapNozomiAlert } from "./alert.ts";
import { mapNozomiAsset } from "./asset.ts";
import { mapNozomiNodeCve } from "./node-cve.ts";

export { mapNozomiAlert, mapNozomiAsset, mapNozomiNodeCve };

/** Nozomi streams → their mappings. */
export const nozomiMappings = {
  asset: mapNozomiAsset,
  alert: mapNozomiAlert,
  node_cve: mapNozomiNodeCve,
} as const satisfies Readonly<Record<string, Mapper>>;
