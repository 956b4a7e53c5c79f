/**
 * Clinical criticality (`medsoc.device.criticality`): how much harm the device's failure or
 * containment could do to a patient. Inputs: the class, the FDA class, the equipment class, the
 * Joint Commission consequence of failure, the vendor's business impact, and configured ward/unit
 * rules (a medical device in an ICU, NICU or operating room is raised one level).
 */
import { type DeviceClass, MEDICAL_CLASSES } from "./classify.ts";

export type Criticality = "life_sustaining" | "high" | "medium" | "low";

export const CRITICALITY_ORDER: readonly Criticality[] = ["low", "medium", "high", "life_sustaining"];

export interface CriticalityInput {
  deviceClass: DeviceClass;
  /** `medsoc.clinical.fda_class` (1–3). */
  fdaClass?: number;
  /** `medsoc.clinical.equipment_class` ("Infusion Device", "Life Support"). */
  equipmentClass?: string;
  /** `medsoc.clinical.consequence_of_failure` ("Life Support", "High", "Medium", "Low"). */
  consequenceOfFailure?: string;
  /** `medsoc.device.business_impact` (Armis `businessImpact`: Critical/High/Medium/Low). */
  businessImpact?: string;
  /** `medsoc.location.ward`. */
  ward?: string;
}

export interface CriticalityRules {
  /**
   * Wards/units whose medical devices are raised one level (matched case-insensitively as a whole
   * word of the ward name: "ICU" matches "ICU", "Main ICU", "ICU-3").
   * @defaultValue ["ICU", "NICU", "PICU", "CCU", "OR", "ED"]
   */
  criticalWards: readonly string[];
}

export const DEFAULT_CRITICAL_WARDS: readonly string[] = ["ICU", "NICU", "PICU", "CCU", "OR", "ED"];

const CLASS_BASE: Record<DeviceClass, Criticality> = {
  infusion_pump: "life_sustaining",
  ventilator: "life_sustaining",
  patient_monitor: "high",
  nurse_call: "high",
  imaging: "medium",
  lab_analyzer: "medium",
  medication_dispensing: "medium",
  clinical_workstation: "medium",
  medical_other: "medium",
  building_iot: "low",
  it: "low",
  unknown: "low",
};

const rank = (c: Criticality) => CRITICALITY_ORDER.indexOf(c);
const atLeast = (a: Criticality, b: Criticality): Criticality => (rank(a) >= rank(b) ? a : b);

function consequenceLevel(v: string | undefined): Criticality | undefined {
  if (v === undefined) return undefined;
  const s = v.toLowerCase();
  if (s.includes("life")) return "life_sustaining";
  if (s.startsWith("high") || s.startsWith("critical")) return "high";
  if (s.startsWith("med")) return "medium";
  if (s.startsWith("low")) return "low";
  return undefined;
}

/** Criticality with the reasons that raised it, most decisive last. */
export function criticalityOf(
  input: CriticalityInput,
  rules: CriticalityRules = { criticalWards: DEFAULT_CRITICAL_WARDS },
): { level: Criticality; reasons: string[] } {
  let level = CLASS_BASE[input.deviceClass];
  const reasons = [`class ${input.deviceClass}`];
  const raise = (to: Criticality | undefined, why: string) => {
    if (to !== undefined && rank(to) > rank(level)) {
      level = to;
      reasons.push(why);
    }
  };
  raise(consequenceLevel(input.consequenceOfFailure), `consequence of failure ${input.consequenceOfFailure}`);
  if (input.equipmentClass !== undefined && /life\s*support/i.test(input.equipmentClass))
    raise("life_sustaining", `equipment class ${input.equipmentClass}`);
  if (input.fdaClass === 3) raise("life_sustaining", "FDA class III");
  else if (input.fdaClass === 2) raise("medium", "FDA class II");
  const impact = input.businessImpact?.toLowerCase();
  if (impact === "critical") raise("high", "business impact Critical");
  else if (impact === "high") raise("medium", "business impact High");
  if (input.ward !== undefined && MEDICAL_CLASSES.has(input.deviceClass)) {
    const words = new Set(input.ward.toUpperCase().split(/[^A-Z0-9]+/));
    const hit = rules.criticalWards.find((w) => words.has(w.toUpperCase()));
    if (hit !== undefined && level !== "life_sustaining") {
      const next = CRITICALITY_ORDER[rank(level) + 1] as Criticality;
      raise(atLeast(next, level), `ward ${input.ward}`);
    }
  }
  return { level, reasons };
}
