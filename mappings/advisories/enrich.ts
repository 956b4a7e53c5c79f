/**
 * The advisory, KEV and EOL-OS enricher, and the vulnerability findings a device's advisory matches
 * produce. Pure: the advisory index comes in the mapping context (`context.advisories`, loaded once at
 * startup from the local store) or, without one, is the shipped snapshot.
 *
 * Writes, on documents that describe a device (`device.manufacturer` + `device.model.name`):
 * - `medsoc.advisories[]` `{id, cves[], cvss_max, cwes[]}`: advisories whose product tree names the
 *   device's vendor, model and a version range holding its firmware version (confidence `exact`);
 * - `medsoc.advisory_review[]` `{id, product, reason}`: vendor and model match but the version could
 *   not be decided (prose range, no device version, model or component qualifier): needs a human,
 *   never counted as a match;
 * on documents with `host.os.*`: `medsoc.device.os_eol` and `medsoc.device.os_eol_reason`;
 * on vulnerability documents (`event.category: vulnerability`, `vulnerability.id` a CVE):
 * `medsoc.vulnerability.known_exploited` (+ `medsoc.vulnerability.kev`) from the KEV catalog and
 * `medsoc.advisories[]` when the CVE belongs to a known advisory.
 *
 * The device version is `medsoc.device.firmware_version`, else `host.os.version` when the OS is not a
 * general-purpose one the EOL table knows (an embedded firmware line such as `Embedded 9.33`).
 */
import { dataStreamFields, datasetOf, EVENT_MODULE } from "../stream.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { docId } from "../values.ts";
import { type OsFields, osEol } from "./eol.ts";
import {
  type AdvisoryIndex,
  type DeviceIdentity,
  type MatchResult,
  matchDevice,
  summarize,
} from "./match.ts";
import { defaultAdvisoryIndex } from "./store.ts";

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

function indexOf(context: MappingContext): AdvisoryIndex {
  return context.advisories ?? defaultAdvisoryIndex();
}

function medsocDevice(doc: EcsDocument): Obj {
  const d = doc.medsoc.device;
  if (isObj(d)) return d;
  const created: Obj = {};
  doc.medsoc.device = created;
  return created;
}

function osOf(doc: EcsDocument): OsFields | undefined {
  const host = isObj(doc.host) ? doc.host : undefined;
  return host !== undefined && isObj(host.os) ? (host.os as OsFields) : undefined;
}

function isVulnerabilityDoc(doc: EcsDocument): boolean {
  const c = doc.event.category;
  return Array.isArray(c) ? c.includes("vulnerability") : c === "vulnerability";
}

/** What the matcher reads from a device document, and whether the OS is general-purpose. */
export function deviceIdentityOf(
  doc: EcsDocument,
  eol = osOf(doc) !== undefined ? osEol(osOf(doc)) : undefined,
): DeviceIdentity & { generalOs: boolean } {
  const device = isObj(doc.device) ? doc.device : undefined;
  const model = device !== undefined && isObj(device.model) ? str(device.model.name) : undefined;
  const host = isObj(doc.host) ? doc.host : undefined;
  const os = host !== undefined && isObj(host.os) ? host.os : undefined;
  const md = isObj(doc.medsoc.device) ? doc.medsoc.device : undefined;
  const firmware = md !== undefined ? str(md.firmware_version) : undefined;
  const version = firmware ?? (eol === undefined && os !== undefined ? str(os.version) : undefined);
  const out: DeviceIdentity & { generalOs: boolean } = { generalOs: eol !== undefined };
  const manufacturer = device !== undefined ? str(device.manufacturer) : undefined;
  if (manufacturer !== undefined) out.manufacturer = manufacturer;
  if (model !== undefined) out.model = model;
  if (version !== undefined) out.version = version;
  return out;
}

function enrichVulnerability(doc: EcsDocument, index: AdvisoryIndex): void {
  const v = isObj(doc.vulnerability) ? doc.vulnerability : undefined;
  const id = v !== undefined ? str(v.id) : undefined;
  if (id === undefined) return;
  const cve = id.trim().toUpperCase();
  if (!cve.startsWith("CVE-")) return;
  const kev = index.kev.get(cve);
  const mv: Obj = isObj(doc.medsoc.vulnerability) ? doc.medsoc.vulnerability : {};
  // The catalog decides; a monitor's own flag (Armis `cisaDueDate`, xDome `is_known_exploited`) is
  // kept when the loaded catalog (possibly a subset) does not list the CVE.
  mv.known_exploited = kev !== undefined || mv.known_exploited === true;
  if (kev !== undefined) {
    mv.kev = {
      date_added: kev.dateAdded,
      due_date: kev.dueDate,
      ransomware: kev.ransomware,
      catalog_version: index.kevCatalog?.catalogVersion,
    };
  }
  doc.medsoc.vulnerability = mv;
  const advisories = index.byCve.get(cve);
  if (advisories !== undefined) {
    doc.medsoc.advisories = advisories.map((a) => {
      const out: Obj = { id: a.advisory, cves: [cve] };
      if (a.cvssMax !== undefined) out.cvss_max = a.cvssMax;
      if (a.cwe !== undefined) out.cwes = [a.cwe];
      return out;
    });
  }
}

/** The enricher (one entry of `ENRICHERS`). */
export function enrichAdvisories(doc: EcsDocument, context: MappingContext): void {
  if (doc.event.kind === "pipeline_error") return;
  const index = indexOf(context);
  const os = osOf(doc);
  const eol = os !== undefined ? osEol(os) : undefined;
  if (eol !== undefined) {
    const md = medsocDevice(doc);
    md.os_eol = eol.eol;
    if (eol.reason !== undefined) md.os_eol_reason = eol.reason;
  }
  if (isVulnerabilityDoc(doc)) {
    enrichVulnerability(doc, index);
    return;
  }
  const identity = deviceIdentityOf(doc, eol);
  if (identity.manufacturer === undefined || identity.model === undefined) return;
  const result = matchDevice(index, identity);
  if (result.matches.length > 0) doc.medsoc.advisories = summarize(result.matches);
  if (result.unsure.length > 0) {
    doc.medsoc.advisory_review = result.unsure.map((u) => ({
      id: u.advisory,
      product: u.productName,
      reason: u.reason,
    }));
  }
}

const severityOf = (score: number): string =>
  score >= 9 ? "Critical" : score >= 7 ? "High" : score >= 4 ? "Medium" : score > 0 ? "Low" : "None";

/**
 * The vulnerability findings of a device document: one ECS document per (device, advisory, CVE), with
 * the CVSS of the matched product (the highest when several products of one advisory match), the
 * advisory id and release date, and the remediation categories for that product. Linked to the device
 * by `host.*`/`device.*`; `medsoc.doc_id` hashes source, device, advisory, CVE and the id of the
 * document it was derived from (`medsoc.derived_from`), so re-delivering that record re-writes the
 * same findings and a second record of the device (another relation row, a later snapshot) gets its own. Empty for documents that are not devices or match nothing.
 */
export function advisoryFindings(doc: EcsDocument, context: MappingContext): EcsDocument[] {
  if (doc.event.kind === "pipeline_error" || isVulnerabilityDoc(doc)) return [];
  const identity = deviceIdentityOf(doc);
  if (identity.manufacturer === undefined || identity.model === undefined) return [];
  const index = indexOf(context);
  const result: MatchResult = matchDevice(index, identity);
  if (result.matches.length === 0) return [];
  const host = isObj(doc.host) ? doc.host : undefined;
  const device = isObj(doc.device) ? doc.device : undefined;
  const deviceRef =
    (host !== undefined ? str(host.id) : undefined) ??
    (device !== undefined ? str(device.id) : undefined) ??
    (host !== undefined && Array.isArray(host.mac) ? str(host.mac[0]) : undefined) ??
    doc.medsoc.doc_id;

  const best = new Map<
    string,
    {
      advisory: string;
      cve: string;
      score?: number;
      cwe?: string;
      reference?: string;
      products: string[];
      remediations: Set<string>;
    }
  >();
  for (const m of result.matches) {
    for (const c of m.cves) {
      const key = `${m.advisory}|${c.cve}`;
      const prev = best.get(key);
      if (prev === undefined) {
        best.set(key, {
          advisory: m.advisory,
          cve: c.cve,
          score: c.score,
          cwe: c.cwe,
          reference: c.reference,
          products: [m.productName],
          remediations: new Set(m.remediations),
        });
      } else {
        prev.products.push(m.productName);
        for (const r of m.remediations) prev.remediations.add(r);
        if (c.score !== undefined && (prev.score === undefined || c.score > prev.score)) prev.score = c.score;
      }
    }
  }

  const out: EcsDocument[] = [];
  for (const f of best.values()) {
    const advisory = index.advisories.get(f.advisory);
    const kev = index.kev.get(f.cve);
    const vulnerability: Obj = {
      id: f.cve,
      enumeration: "CVE",
      classification: "CVSS",
      report_id: f.advisory,
      scanner: { vendor: "medsoc" },
    };
    if (f.score !== undefined) {
      vulnerability.score = { base: f.score };
      vulnerability.severity = severityOf(f.score);
    }
    vulnerability.reference = f.reference ?? `https://nvd.nist.gov/vuln/detail/${f.cve}`;
    const vuln = advisory?.vulnerabilities.find((v) => v.cve === f.cve);
    const description = [advisory?.title, vuln?.cwe?.name]
      .filter((x) => x !== undefined && x !== "")
      .join(": ");
    if (description !== "") vulnerability.description = description;
    const finding: EcsDocument = {
      "@timestamp": doc["@timestamp"],
      ecs: doc.ecs,
      data_stream: dataStreamFields("vulnerability", context.namespace),
      event: {
        kind: "event",
        category: ["vulnerability"],
        type: ["info"],
        dataset: datasetOf("vulnerability"),
        module: EVENT_MODULE,
        ingested: context.ingestedAt,
      },
      vulnerability,
      medsoc: {
        // The record it was derived from is part of its identity: one finding from two records of
        // the same device gets two ids (two facts), the same record delivered twice the same id.
        doc_id: docId("advisory", doc.medsoc.source, deviceRef, f.advisory, f.cve, doc.medsoc.doc_id),
        source: doc.medsoc.source,
        stream: "vulnerability",
        advisory: {
          id: f.advisory,
          products: f.products,
          remediations: [...f.remediations].sort(),
          ...(advisory !== undefined ? { release_date: advisory.currentReleaseDate, url: advisory.url } : {}),
        },
        vulnerability: { known_exploited: kev !== undefined },
        derived_from: doc.medsoc.doc_id,
        ...(f.cwe !== undefined ? { cwes: [f.cwe] } : {}),
      },
    };
    if (doc.ecs === undefined) delete finding.ecs;
    if (host !== undefined) {
      const h: Obj = {};
      for (const k of ["id", "name", "mac", "ip", "type"]) if (host[k] !== undefined) h[k] = host[k];
      finding.host = h;
    }
    if (device !== undefined) finding.device = device;
    if (isObj(doc.observer)) finding.observer = doc.observer;
    out.push(finding);
  }
  return out;
}
