/**
 * Device classification: one taxonomy (`medsoc.device.class`) from every vendor's
 * category/type/model vocabulary. The vendor values live in one data file,
 * `mappings/data/device-classes.json`; this module only normalises and looks up.
 */
import table from "../data/device-classes.json" with { type: "json" };

/** A class of the medsoc taxonomy. */
export type DeviceClass =
  | "infusion_pump"
  | "patient_monitor"
  | "ventilator"
  | "imaging"
  | "lab_analyzer"
  | "nurse_call"
  | "medication_dispensing"
  | "clinical_workstation"
  | "medical_other"
  | "building_iot"
  | "it"
  | "unknown";

export const DEVICE_CLASSES: readonly DeviceClass[] = table.classes as DeviceClass[];

/** What the classifier reads (the mapping contract fields). */
export interface ClassifyInput {
  /** `medsoc.device.vendor_type`: the most specific vendor type. */
  vendorType?: string;
  /** `medsoc.device.vendor_category`. */
  vendorCategory?: string;
  /** `host.type`. */
  hostType?: string;
  /** `device.model.name`. */
  model?: string;
  /** `device.manufacturer`. */
  manufacturer?: string;
}

export interface Classification {
  class: DeviceClass;
  /** Which input decided: `vendor_type`, `model`, `vendor_category`, `host_type`, or `none`. */
  by: "vendor_type" | "model" | "vendor_category" | "host_type" | "none";
}

const TYPES = new Map(Object.entries(table.types as Record<string, DeviceClass>));
const CATEGORIES = new Map(Object.entries(table.categories as Record<string, DeviceClass>));
const MODELS = (table.models as { match: string; class: DeviceClass }[]).map((m) => ({
  match: m.match.toLowerCase(),
  class: m.class,
}));

for (const c of [...TYPES.values(), ...CATEGORIES.values(), ...MODELS.map((m) => m.class)])
  if (!DEVICE_CLASSES.includes(c)) throw new Error(`device-classes.json: class "${c}" is not in "classes"`);

/** Lower-case, every run of non-alphanumerics one space (`INFUSION_PUMP` → `infusion pump`). */
export function normaliseVendorValue(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, " ")
    .trim();
}

function lookup(map: ReadonlyMap<string, DeviceClass>, raw: string | undefined): DeviceClass | undefined {
  if (raw === undefined) return undefined;
  // Forescout-style paths ("Medical Devices/Infusion Pumps"): the most specific segment first.
  const segments = raw.includes("/") ? raw.split("/").reverse() : [raw];
  for (const segment of segments) {
    const key = normaliseVendorValue(segment);
    if (key === "") continue;
    const hit = map.get(key) ?? (key.endsWith("s") ? map.get(key.slice(0, -1)) : undefined);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** Classifies a device: vendor type, then model hints, then vendor category, then `host.type`. */
export function classifyDevice(input: ClassifyInput): Classification {
  const byType = lookup(TYPES, input.vendorType);
  // A generic medical type ("Medical Device") yields to a model hint that names the kind.
  if (byType !== undefined && byType !== "medical_other") return { class: byType, by: "vendor_type" };
  const text = `${input.manufacturer ?? ""} ${input.model ?? ""}`.toLowerCase();
  if (text.trim() !== "")
    for (const m of MODELS) if (text.includes(m.match)) return { class: m.class, by: "model" };
  if (byType !== undefined) return { class: byType, by: "vendor_type" };
  const byHostType = lookup(TYPES, input.hostType);
  if (byHostType !== undefined && byHostType !== "medical_other")
    return { class: byHostType, by: "host_type" };
  const byCategory = lookup(CATEGORIES, input.vendorCategory) ?? lookup(CATEGORIES, input.hostType);
  if (byCategory !== undefined) return { class: byCategory, by: "vendor_category" };
  if (byHostType !== undefined) return { class: byHostType, by: "host_type" };
  return { class: "unknown", by: "none" };
}

/**
 * Classes that handle PHI when no monitor says (`medsoc.clinical.phi` wins): a safety rule the
 * document enricher and the device state both apply, so it is defined once, here.
 */
export const PHI_CLASSES: ReadonlySet<DeviceClass> = new Set<DeviceClass>([
  "infusion_pump",
  "patient_monitor",
  "ventilator",
  "imaging",
  "lab_analyzer",
  "medication_dispensing",
  "clinical_workstation",
]);

/** Classes that are medical devices (for "IoMT" shares in the report). */
export const MEDICAL_CLASSES: ReadonlySet<DeviceClass> = new Set<DeviceClass>([
  "infusion_pump",
  "patient_monitor",
  "ventilator",
  "imaging",
  "lab_analyzer",
  "nurse_call",
  "medication_dispensing",
  "medical_other",
]);
