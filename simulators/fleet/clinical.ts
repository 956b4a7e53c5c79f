/**
 * Clinical rules of the simulated hospital: per device class, the FDA class, PHI, the equipment
 * class, the consequence of failure, how often a device is in use, battery and the clinical servers
 * it must keep reaching; per model, the firmware lines its advisories name.
 */
import type { DeviceClass, ModelSpec, OsSpec } from "./catalogue.ts";

/** Joint Commission consequence of failure. */
export type ConsequenceOfFailure = "Life Support" | "High" | "Medium" | "Low";

export interface ClinicalSpec {
  fdaClass: 1 | 2 | 3 | null;
  phi: boolean;
  equipmentClass: string | null;
  consequenceOfFailure: ConsequenceOfFailure;
  /** Share of devices in use at any moment (0 for devices that are never "in use"). */
  inUseRate: number;
  battery: boolean;
  /** Last octets of the clinical servers (pump server, drug library, central station, PACS). */
  servers: number[];
}

export const CLINICAL: Record<DeviceClass, ClinicalSpec> = {
  infusion_pump: {
    fdaClass: 2,
    phi: true,
    equipmentClass: "Infusion Device",
    consequenceOfFailure: "Life Support",
    inUseRate: 0.6,
    battery: true,
    servers: [10, 11],
  },
  patient_monitor: {
    fdaClass: 2,
    phi: true,
    equipmentClass: "Patient Monitoring",
    consequenceOfFailure: "High",
    inUseRate: 0.7,
    battery: true,
    servers: [20],
  },
  imaging: {
    fdaClass: 2,
    phi: true,
    equipmentClass: "Imaging",
    consequenceOfFailure: "Medium",
    inUseRate: 0,
    battery: false,
    servers: [30],
  },
  lab_analyzer: {
    fdaClass: 1,
    phi: true,
    equipmentClass: "Laboratory",
    consequenceOfFailure: "Medium",
    inUseRate: 0,
    battery: false,
    servers: [40],
  },
  nurse_call: {
    fdaClass: 1,
    phi: false,
    equipmentClass: "Communication",
    consequenceOfFailure: "High",
    inUseRate: 0,
    battery: false,
    servers: [50],
  },
  medication_dispensing: {
    fdaClass: 2,
    phi: true,
    equipmentClass: "Medication Management",
    consequenceOfFailure: "Medium",
    inUseRate: 0,
    battery: false,
    servers: [60],
  },
  clinical_workstation: {
    fdaClass: null,
    phi: true,
    equipmentClass: null,
    consequenceOfFailure: "Medium",
    inUseRate: 0,
    battery: false,
    servers: [],
  },
  building_iot: {
    fdaClass: null,
    phi: false,
    equipmentClass: null,
    consequenceOfFailure: "Low",
    inUseRate: 0,
    battery: false,
    servers: [],
  },
  it: {
    fdaClass: null,
    phi: false,
    equipmentClass: null,
    consequenceOfFailure: "Low",
    inUseRate: 0,
    battery: false,
    servers: [],
  },
};

/**
 * Firmware lines of the models whose advisories (`reference/data/advisories/csaf/`) give product
 * version ranges the advisory matcher can decide. `affected`: versions inside a range of the model's
 * product tree (a vulnerable device runs one of them); `fixed`: the vendor's fixed release, outside
 * every range (a not-vulnerable device runs it).
 * - Alaris 8015 PCU: ICSMA-17-017-02 (9.7, ≤9.33, ≤9.5) and ICSMA-23-194-01 (≤12.1.3); BD's fix is
 *   PCU 12.3.1 (Alaris System 12.3).
 * - Medfusion 4000: ICSMA-17-250-02A (1.1, 1.5, 1.6); Smiths Medical's fix is 1.6.1.
 * - Sigma Spectrum 35700: ICSMA-20-170-04/22-251-01 (pump 6.x, 8.x, 9.x); no pump release outside
 *   those ranges is named (the fixes are battery-module firmware), so the fixed version `10.00.00` is
 *   synthetic.
 */
const FIRMWARE: Readonly<Record<string, { affected: readonly string[]; fixed: string }>> = {
  "Alaris 8015 PC Unit": { affected: ["9.7", "9.19.3", "9.33", "12.1.3"], fixed: "12.3.1" },
  "Medfusion 4000": { affected: ["1.1", "1.5", "1.6"], fixed: "1.6.1" },
  "Sigma Spectrum 35700": { affected: ["8.00.01", "6.02.00"], fixed: "10.00.00" },
};

/** The firmware version of a device of `model` (see {@link FIRMWARE}). */
export function firmwareOf(model: ModelSpec, os: OsSpec, vulnerable: boolean, h: number): string {
  const line = FIRMWARE[model.model];
  if (line === undefined) return os.version;
  return vulnerable ? (line.affected[h % line.affected.length] as string) : line.fixed;
}
