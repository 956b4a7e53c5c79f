/**
 * medsoc's document enrichers (issue 4): device class, clinical criticality, PHI, credential
 * exposure and the per-document risk score. Pure: they read the mapping contract fields
 * (COMMON field contract: `medsoc.device.vendor_category`/`vendor_type`, `host.type`,
 * `device.model.name`, `device.manufacturer`, `medsoc.clinical.*`, `medsoc.location.*`,
 * `medsoc.credential.*`) and write below `medsoc`.
 *
 * The per-document score sees only what one document says. The device state
 * (worker/device-state) merges every document of a device and scores the device as a whole
 * (vulnerabilities from findings, alerts, the fleet view of credentials) with the same functions.
 */
import type { EcsDocument, MappingContext } from "../types.ts";
import { classifyDevice, type DeviceClass, PHI_CLASSES } from "./classify.ts";
import { credentialExposure } from "./credentials.ts";
import { criticalityOf } from "./criticality.ts";
import { boolean, firstString, medsocObject, number, strings } from "./fields.ts";
import { DEFAULT_ENRICHMENT } from "./options.ts";
import { olderThanWindows10 } from "./os.ts";
import { type RiskInput, riskScore } from "./risk.ts";

export { classifyDevice, DEVICE_CLASSES, type DeviceClass, MEDICAL_CLASSES } from "./classify.ts";
export { CREDENTIAL_CWES, credentialCwesOf, credentialExposure } from "./credentials.ts";
export { type Criticality, criticalityOf } from "./criticality.ts";
export { DEFAULT_ENRICHMENT, type EnrichmentOptions } from "./options.ts";
export { olderThanWindows10 } from "./os.ts";
export { CRITICAL_RISK_SCORE, RISK_WEIGHTS, riskScore } from "./risk.ts";

/** The class inputs of a document, or undefined when it describes no device. */
function classInputs(doc: EcsDocument) {
  const input = {
    vendorType: firstString(doc, "medsoc.device.vendor_type"),
    vendorCategory: firstString(doc, "medsoc.device.vendor_category"),
    hostType: firstString(doc, "host.type"),
    model: firstString(doc, "device.model.name") ?? firstString(doc, "device.model.identifier"),
    manufacturer: firstString(doc, "device.manufacturer"),
  };
  return Object.values(input).some((v) => v !== undefined) ? input : undefined;
}

/** CWE ids listed by the advisories matched onto the document (`medsoc.advisories[].cwes`). */
export function advisoryCwes(doc: unknown): string[] {
  const advisories = (doc as { medsoc?: { advisories?: unknown } }).medsoc?.advisories;
  if (!Array.isArray(advisories)) return [];
  const out: string[] = [];
  for (const a of advisories) if (a && typeof a === "object") out.push(...strings(a, "cwes"));
  return out;
}

/** `medsoc.device.{class, criticality, phi, credentials}` for documents that describe a device. */
export function enrichDevice(doc: EcsDocument, context: MappingContext): void {
  if (doc.event.kind === "pipeline_error") return;
  const options = context.enrichment ?? DEFAULT_ENRICHMENT;
  const inputs = classInputs(doc);
  const observed = strings(doc, "medsoc.credential.observed");
  const cwes = advisoryCwes(doc);
  if (inputs === undefined && observed.length === 0 && cwes.length === 0) return;
  const device = medsocObject(doc, "device");
  if (inputs !== undefined) {
    const cls = (device.class as DeviceClass | undefined) ?? classifyDevice(inputs).class;
    device.class = cls;
    device.criticality = criticalityOf(
      {
        deviceClass: cls,
        fdaClass: number(doc, "medsoc.clinical.fda_class"),
        equipmentClass: firstString(doc, "medsoc.clinical.equipment_class"),
        consequenceOfFailure: firstString(doc, "medsoc.clinical.consequence_of_failure"),
        businessImpact: firstString(doc, "medsoc.device.business_impact"),
        ward: firstString(doc, "medsoc.location.ward"),
      },
      { criticalWards: options.criticalWards },
    ).level;
    device.phi = boolean(doc, "medsoc.clinical.phi") ?? PHI_CLASSES.has(cls);
  }
  device.credentials = credentialExposure({ observed, cwes }).value;
}

/** The risk inputs one document carries. Exported for the device state. */
export function docRiskInput(doc: EcsDocument): RiskInput {
  const input: RiskInput = {};
  const vendorRisk = number(doc, "host.risk.static_score");
  if (vendorRisk !== undefined) input.vendorRisk = vendorRisk;
  const cve = firstString(doc, "vulnerability.id");
  const base = number(doc, "vulnerability.score.base");
  if (cve !== undefined && base !== undefined) input.maxCvss = { score: base, id: cve };
  const advisories = (doc.medsoc as { advisories?: unknown }).advisories;
  if (Array.isArray(advisories))
    for (const a of advisories) {
      const score = number(a, "cvss_max");
      const id = firstString(a, "id");
      if (score !== undefined && id !== undefined && score > (input.maxCvss?.score ?? -1))
        input.maxCvss = { score, id };
    }
  if (input.maxCvss !== undefined)
    input.vulnerabilities = Math.max(1, Array.isArray(advisories) ? advisories.length : 1);
  if (boolean(doc, "medsoc.vulnerability.known_exploited") === true) input.knownExploited = cve ?? "a CVE";
  const criticality = firstString(doc, "medsoc.device.criticality");
  if (criticality !== undefined) input.criticality = criticality as RiskInput["criticality"];
  const os = {
    family: firstString(doc, "host.os.family"),
    name: firstString(doc, "host.os.name"),
    version: firstString(doc, "host.os.version"),
    full: firstString(doc, "host.os.full"),
  };
  if (boolean(doc, "medsoc.device.os_eol") === true || olderThanWindows10(os))
    input.osEol = [os.name ?? os.family, os.version].filter(Boolean).join(" ") || "the OS";
  const credentials = firstString(doc, "medsoc.device.credentials");
  if (credentials !== undefined) input.credentials = credentials as RiskInput["credentials"];
  if (doc.event.kind === "alert")
    input.alerts = { count: 1, maxSeverity: number(doc, "event.severity") ?? 0 };
  return input;
}

/** `medsoc.risk.{score, factors}` from what the document alone says (run after every other enricher). */
export function enrichRisk(doc: EcsDocument): void {
  if (doc.event.kind === "pipeline_error") return;
  doc.medsoc.risk = riskScore(docRiskInput(doc));
}
