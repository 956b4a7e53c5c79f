/**
 * What one mapped document says about one device: its identifiers, its facts (inventory fields)
 * and its exposure (a finding, an alert, a credential observation). Pure.
 */
import { at, firstString, number, strings } from "../../mappings/enrich/fields.ts";
import type { EcsDocument } from "../../mappings/types.ts";

/**
 * Fields tracked per source in {@link DeviceState.facts}. MACs and IPs live in the identifiers;
 * criticality and PHI are derived again from the merged facts (see derive.ts).
 */
export const FACT_FIELDS: readonly string[] = [
  "host.name",
  "host.type",
  "host.os.family",
  "host.os.name",
  "host.os.version",
  "host.os.full",
  "host.risk.static_score",
  "device.manufacturer",
  "device.model.name",
  "device.model.identifier",
  "device.serial_number",
  "medsoc.device.vendor_category",
  "medsoc.device.vendor_type",
  "medsoc.device.firmware_version",
  "medsoc.device.business_impact",
  "medsoc.device.class",
  "medsoc.device.os_eol",
  "medsoc.clinical.fda_class",
  "medsoc.clinical.phi",
  "medsoc.clinical.equipment_class",
  "medsoc.clinical.consequence_of_failure",
  "medsoc.clinical.battery_level",
  "medsoc.clinical.utilization_rate",
  "medsoc.clinical.in_use",
  "medsoc.location.site",
  "medsoc.location.ward",
  "medsoc.location.vlan",
];

/** Fields on which two sources disagreeing is recorded as a conflict. */
export const CONFLICT_FIELDS: ReadonlySet<string> = new Set([
  "device.manufacturer",
  "device.model.name",
  "device.serial_number",
  "medsoc.device.class",
  "host.os.family",
]);

export interface Identifiers {
  macs: string[];
  serials: string[];
  /** `site|ip|hostname` triples. */
  ipHosts: string[];
  /** `source|vendor id`. */
  vendorIds: string[];
}

export interface Observation {
  doc: EcsDocument;
  source: string;
  seenAt: string;
  ids: Identifiers;
  ips: string[];
  hostnames: string[];
  site?: string;
  /** The vendor's own id (`host.id`) for {@link DeviceState.identifiers.vendorIds}. */
  vendorId?: string;
  /** Inventory facts, present when the document describes the device (not only names it). */
  facts?: Record<string, unknown>;
  vulnerabilities?: Record<
    string,
    { cvss?: number; kev?: boolean; cwes?: string[]; advisory?: string; cves?: string[] }
  >;
  alert?: { id: string; severity: number; title?: string };
  credentialsObserved?: string[];
  credentialFingerprints?: string[];
}

const JUNK_MACS = new Set(["00-00-00-00-00-00", "FF-FF-FF-FF-FF-FF"]);

/** Normalises a MAC to `AA-BB-CC-DD-EE-FF`, or undefined. */
export function normaliseMac(v: string): string | undefined {
  const hex = v.replace(/[^0-9a-fA-F]/g, "").toUpperCase();
  if (hex.length !== 12) return undefined;
  const mac = hex.match(/../g)?.join("-");
  return mac === undefined || JUNK_MACS.has(mac) ? undefined : mac;
}

function collectFacts(doc: EcsDocument): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const field of FACT_FIELDS) {
    const v = at(doc, field);
    if (v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0)) continue;
    out[field] = v;
    n++;
  }
  return n > 0 ? out : undefined;
}

/**
 * The observations of one document: one for a document about one device; one per named device
 * (vendor ids only) for an alert that names several; none for a document that names no device.
 */
export function observe(doc: EcsDocument): Observation[] {
  if (doc.event.kind === "pipeline_error") return [];
  const source = doc.medsoc.source;
  const seenAt = doc["@timestamp"];
  const hostIds = strings(doc, "host.id");
  const macs = [...new Set(strings(doc, "host.mac").flatMap((m) => normaliseMac(m) ?? []))];
  const serial = firstString(doc, "device.serial_number");
  const ips = strings(doc, "host.ip");
  const hostnames = strings(doc, "host.name").map((h) => h.toLowerCase());
  const site = firstString(doc, "medsoc.location.site");
  const kind = doc.event.kind;

  const exposure: Partial<Observation> = {};
  const cve = firstString(doc, "vulnerability.id");
  const vulns: NonNullable<Observation["vulnerabilities"]> = {};
  if (
    cve !== undefined &&
    (at(doc, "event.category") as unknown[] | undefined)?.includes?.("vulnerability")
  ) {
    const entry: { cvss?: number; kev?: boolean } = {};
    const cvss = number(doc, "vulnerability.score.base");
    if (cvss !== undefined) entry.cvss = cvss;
    if (at(doc, "medsoc.vulnerability.known_exploited") === true) entry.kev = true;
    vulns[cve] = entry;
  }
  const advisories = (doc.medsoc as { advisories?: unknown }).advisories;
  if (Array.isArray(advisories))
    for (const a of advisories) {
      const id = firstString(a, "id");
      if (id === undefined) continue;
      const entry: { cvss?: number; cwes?: string[]; advisory: string; cves?: string[]; kev?: boolean } = {
        advisory: id,
      };
      const cvss = number(a, "cvss_max");
      if (cvss !== undefined) entry.cvss = cvss;
      const cwes = strings(a, "cwes");
      if (cwes.length > 0) entry.cwes = cwes;
      const cves = strings(a, "cves");
      if (cves.length > 0) entry.cves = cves;
      if (at(a, "known_exploited") === true) entry.kev = true;
      vulns[id] = entry;
    }
  if (Object.keys(vulns).length > 0) exposure.vulnerabilities = vulns;
  if (kind === "alert")
    exposure.alert = {
      id: doc.medsoc.doc_id,
      severity: number(doc, "event.severity") ?? 0,
      title: firstString(doc, "rule.name") ?? firstString(doc, "message"),
    };
  const observed = strings(doc, "medsoc.credential.observed");
  if (observed.length > 0) exposure.credentialsObserved = observed;
  const fingerprints = strings(doc, "medsoc.credential.fingerprint");
  if (fingerprints.length > 0) exposure.credentialFingerprints = fingerprints;

  // An alert naming several devices by vendor id only: one exposure-only observation per device.
  if (hostIds.length > 1 && macs.length === 0 && serial === undefined) {
    return hostIds.map((id) => ({
      doc,
      source,
      seenAt,
      ids: { macs: [], serials: [], ipHosts: [], vendorIds: [`${source}|${id}`] },
      ips: [],
      hostnames: [],
      vendorId: id,
      ...exposure,
    }));
  }
  const vendorId = hostIds[0] ?? firstString(doc, "device.id");
  const ipHosts: string[] = [];
  for (const ip of ips) for (const h of hostnames) ipHosts.push(`${site ?? ""}|${ip}|${h}`);
  const ids: Identifiers = {
    macs,
    serials: serial === undefined ? [] : [serial.toUpperCase()],
    ipHosts,
    vendorIds: vendorId === undefined ? [] : [`${source}|${vendorId}`],
  };
  if (ids.macs.length + ids.serials.length + ids.ipHosts.length + ids.vendorIds.length === 0) return [];
  const obs: Observation = { doc, source, seenAt, ids, ips, hostnames, ...exposure };
  if (site !== undefined) obs.site = site;
  if (vendorId !== undefined) obs.vendorId = vendorId;
  // Alerts and findings carry device fields too (xDome alerts): those are facts; a bare reference is not.
  const facts = collectFacts(doc);
  if (facts !== undefined && (kind === "asset" || macs.length > 0 || serial !== undefined)) obs.facts = facts;
  return [obs];
}
