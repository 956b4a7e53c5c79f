import type { Mapper } from "../types.ts";
import { mapForescoutHost } from "./host.ts";

export { forescoutHostView, mapForescoutHost } from "./host.ts";

/** Forescout streams → their mappings. */
export const forescoutMappings = {
  host: mapForescoutHost,
} as const satisfies Readonly<Record<string, Mapper>>;
