/**
 * PANW IoT Security field table for the `panw_iot.<stream>.*` namespace (keys already snake_case).
 */
import type { MappingContext } from "../types.ts";
import { fieldTable, vendorObject } from "../vendor-fields.ts";

export const PANW_IOT_OBSERVER_VENDOR = "Palo Alto Networks";
export const PANW_IOT_OBSERVER_PRODUCT = "IoT Security";

export const PANW_IOT_FIELDS = fieldTable({
  date: "date",
  detected_date: "date",
  last_activity: "date",
  first_seen_date: "date",
  risk_score: "num",
  cvss: "num",
  vlan: "id",
});

/** The record for `panw_iot.<stream>.*`, without the `copied` fields unless asked to keep them. */
export function panwVendor(
  r: Readonly<Record<string, unknown>>,
  ctx: MappingContext,
  copied: readonly string[],
): Record<string, unknown> | undefined {
  if (ctx.preserveDuplicateVendorFields === true || copied.length === 0)
    return vendorObject(r, PANW_IOT_FIELDS);
  const rest: Record<string, unknown> = { ...r };
  for (const key of copied) delete rest[key];
  return vendorObject(rest, PANW_IOT_FIELDS);
}
