/**
 * The device-level view of a merged {@link DeviceState}: class, criticality, PHI, credential
 * exposure (with the fleet view), outdated OS and the risk score with its factors. Pure: the
 * fleet view comes in as a function (fingerprint → devices carrying it).
 */

import type { DeviceState } from "../../mappings/device-state.ts";
import { classifyDevice, type DeviceClass, PHI_CLASSES } from "../../mappings/enrich/classify.ts";
import { type CredentialExposure, credentialExposure } from "../../mappings/enrich/credentials.ts";
import { type Criticality, criticalityOf } from "../../mappings/enrich/criticality.ts";
import { DEFAULT_ENRICHMENT, type EnrichmentOptions } from "../../mappings/enrich/options.ts";
import { olderThanWindows10 } from "../../mappings/enrich/os.ts";
import { type RiskScore, riskScore } from "../../mappings/enrich/risk.ts";

export interface DerivedDevice {
  key: string;
  class: DeviceClass;
  criticality: Criticality;
  phi: boolean;
  credentials: CredentialExposure;
  credentialReasons: string[];
  /** Windows older than 10 (XP, 7, CE, Embedded, Server 2008/2012). */
  olderThanWindows10: boolean;
  /** Past end of life: `medsoc.device.os_eol` from the EOL table, or Windows older than 10. */
  osEol: boolean;
  os?: string;
  /** CVE ids and advisory ids the device is exposed to. */
  cves: string[];
  advisories: string[];
  knownExploited: string[];
  risk: RiskScore;
  manufacturer?: string;
  model?: string;
  name?: string;
  site?: string;
  ward?: string;
  sources: string[];
}

/** The freshest value of a field across sources. */
export function current(state: DeviceState, field: string): unknown {
  return state.facts[field]?.[0]?.value;
}

const first = (v: unknown): unknown => (Array.isArray(v) ? v[0] : v);
const asString = (v: unknown): string | undefined => {
  const x = first(v);
  return typeof x === "string" && x !== "" ? x : typeof x === "number" ? String(x) : undefined;
};
const asNumber = (v: unknown): number | undefined => {
  const x = first(v);
  if (typeof x === "number" && Number.isFinite(x)) return x;
  if (typeof x === "string" && x.trim() !== "" && Number.isFinite(Number(x))) return Number(x);
  return undefined;
};

/** The class most sources agree on, ignoring `unknown` (the freshest on a tie). */
function classOf(state: DeviceState): DeviceClass {
  const votes = new Map<string, number>();
  for (const f of state.facts["medsoc.device.class"] ?? [])
    if (typeof f.value === "string" && f.value !== "unknown")
      votes.set(f.value, (votes.get(f.value) ?? 0) + 1);
  let best: string | undefined;
  for (const [c, n] of votes) if (best === undefined || n > (votes.get(best) ?? 0)) best = c;
  if (best !== undefined) return best as DeviceClass;
  return classifyDevice({
    vendorType: asString(current(state, "medsoc.device.vendor_type")),
    vendorCategory: asString(current(state, "medsoc.device.vendor_category")),
    hostType: asString(current(state, "host.type")),
    model: asString(current(state, "device.model.name")),
    manufacturer: asString(current(state, "device.manufacturer")),
  }).class;
}

/** Derives the device view. `fingerprintDevices(fp)` tells how many devices carry a fingerprint. */
export function deriveDevice(
  state: DeviceState,
  fingerprintDevices: (fingerprint: string) => number = () => 1,
  options: EnrichmentOptions = DEFAULT_ENRICHMENT,
): DerivedDevice {
  const cls = classOf(state);
  const crit = criticalityOf(
    {
      deviceClass: cls,
      fdaClass: asNumber(current(state, "medsoc.clinical.fda_class")),
      equipmentClass: asString(current(state, "medsoc.clinical.equipment_class")),
      consequenceOfFailure: asString(current(state, "medsoc.clinical.consequence_of_failure")),
      businessImpact: asString(current(state, "medsoc.device.business_impact")),
      ward: asString(current(state, "medsoc.location.ward")),
    },
    { criticalWards: options.criticalWards },
  ).level;
  const exposure = state.exposure;
  const vulns = exposure?.vulnerabilities ?? {};
  const cves = new Set<string>();
  const advisories: string[] = [];
  const kev = new Set<string>();
  const cwes: string[] = [];
  let maxCvss: { score: number; id: string } | undefined;
  for (const [id, v] of Object.entries(vulns)) {
    if (v.advisory !== undefined) {
      advisories.push(v.advisory);
      for (const c of v.cves ?? []) cves.add(c);
    } else cves.add(id);
    if (v.kev) kev.add(id);
    if (v.cwes) cwes.push(...v.cwes);
    if (v.cvss !== undefined && (maxCvss === undefined || v.cvss > maxCvss.score))
      maxCvss = { score: v.cvss, id };
  }
  let sharing = 0;
  for (const fp of exposure?.credentialFingerprints ?? [])
    sharing = Math.max(sharing, fingerprintDevices(fp));
  const cred = credentialExposure({
    observed: exposure?.credentialsObserved ?? [],
    cwes,
    fingerprintDevices: sharing > 0 ? sharing : undefined,
    sharedThreshold: options.sharedCredentialThreshold,
  });
  const os = {
    family: asString(current(state, "host.os.family")),
    name: asString(current(state, "host.os.name")),
    version: asString(current(state, "host.os.version")),
    full: asString(current(state, "host.os.full")),
  };
  const oldWindows = olderThanWindows10(os);
  const osEol = oldWindows || (state.facts["medsoc.device.os_eol"] ?? []).some((f) => f.value === true);
  const osLabel = os.full ?? ([os.name ?? os.family, os.version].filter(Boolean).join(" ") || undefined);
  // Monitors weigh risk differently: their mean is the consensus (one outlier does not decide).
  let riskSum = 0;
  let riskN = 0;
  for (const f of state.facts["host.risk.static_score"] ?? []) {
    const n = asNumber(f.value);
    if (n !== undefined) {
      riskSum += n;
      riskN++;
    }
  }
  const vendorRisk = riskN > 0 ? Math.round((riskSum / riskN) * 10) / 10 : undefined;
  let maxSeverity = 0;
  for (const a of Object.values(exposure?.alerts ?? {})) maxSeverity = Math.max(maxSeverity, a.severity);
  const risk = riskScore({
    vendorRisk,
    maxCvss,
    vulnerabilities: Math.max(cves.size, advisories.length),
    knownExploited: kev.size > 0 ? [...kev].sort()[0] : undefined,
    criticality: crit,
    osEol: osEol ? (osLabel ?? "the OS") : undefined,
    credentials: cred.value,
    alerts: exposure && exposure.alertCount > 0 ? { count: exposure.alertCount, maxSeverity } : undefined,
  });
  const phiFact = current(state, "medsoc.clinical.phi");
  const derived: DerivedDevice = {
    key: state.key,
    class: cls,
    criticality: crit,
    phi: phiFact === true || (phiFact === undefined && PHI_CLASSES.has(cls)),
    credentials: cred.value,
    credentialReasons: cred.reasons,
    olderThanWindows10: oldWindows,
    osEol,
    cves: [...cves].sort(),
    advisories: advisories.sort(),
    knownExploited: [...kev].sort(),
    risk,
    sources: Object.keys(state.identifiers.vendorIds).sort(),
  };
  if (osLabel !== undefined) derived.os = osLabel;
  const manufacturer = asString(current(state, "device.manufacturer"));
  if (manufacturer !== undefined) derived.manufacturer = manufacturer;
  const model =
    asString(current(state, "device.model.name")) ?? asString(current(state, "device.model.identifier"));
  if (model !== undefined) derived.model = model;
  const name = state.identifiers.hostnames[0];
  if (name !== undefined) derived.name = name;
  if (state.identifiers.site !== undefined) derived.site = state.identifiers.site;
  const ward = asString(current(state, "medsoc.location.ward"));
  if (ward !== undefined) derived.ward = ward;
  return derived;
}
