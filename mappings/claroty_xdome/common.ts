import type { EcsDocument, MappingContext } from "../types.ts";
import { vendorObject } from "../vendor-fields.ts";
import { type DeviceParts, normaliseClinicalVendorFields } from "./clinical.ts";
import { XDOME_FIELDS } from "./fields.ts";

/**
 * The record for `claroty_xdome.<stream>.*`: every field, coerced by {@link XDOME_FIELDS}, the
 * clinical fields normalised, and (unless `preserveDuplicateVendorFields`) without `copied`, the
 * fields whose value an ECS field now holds unchanged.
 */
export function xdomeVendor(
  r: Readonly<Record<string, unknown>>,
  ctx: MappingContext,
  copied: readonly string[],
  prefix: "" | "device_",
): Record<string, unknown> | undefined {
  let source: Readonly<Record<string, unknown>> = r;
  if (ctx.preserveDuplicateVendorFields !== true && copied.length > 0) {
    const rest: Record<string, unknown> = { ...r };
    for (const key of copied) delete rest[key];
    source = rest;
  }
  const o = vendorObject(source, XDOME_FIELDS);
  if (o !== undefined) normaliseClinicalVendorFields(r, o, prefix);
  return o;
}

/** `event.severity` from xDome's risk labels (`Very Low` … `Critical`). */
export function riskSeverity(label: unknown): number | undefined {
  if (typeof label !== "string") return undefined;
  switch (label.trim().toLowerCase()) {
    case "very low":
    case "low":
      return 21;
    case "medium":
      return 47;
    case "high":
      return 73;
    case "critical":
      return 99;
    default:
      return undefined;
  }
}

/** Adds the device's `host.*`, `device.*`, `related.*` and `observer.ingress.*` to a document. */
export function addDeviceParts(doc: EcsDocument, parts: DeviceParts): void {
  if (parts.host) doc.host = parts.host;
  if (parts.device) doc.device = parts.device;
  if (parts.related) doc.related = parts.related;
  if (parts.ingress) (doc.observer as Record<string, unknown>).ingress = parts.ingress;
}
