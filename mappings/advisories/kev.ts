/**
 * CISA Known Exploited Vulnerabilities catalog (`advisories.md` §2). Validated with zod against the
 * catalog's published schema (`known_exploited_vulnerabilities_schema.json`, draft-07: required
 * top-level and item fields, CVE and CWE patterns, dates). Only what enrichment needs is kept.
 */
import { z } from "zod";

const DATE = /^\d{4}-\d{2}-\d{2}$/;

const kevItem = z.object({
  cveID: z.string().regex(/^CVE-[0-9]{4}-[0-9]{4,19}$/),
  vendorProject: z.string(),
  product: z.string(),
  vulnerabilityName: z.string(),
  dateAdded: z.string().regex(DATE),
  shortDescription: z.string(),
  requiredAction: z.string(),
  dueDate: z.string().regex(DATE),
  knownRansomwareCampaignUse: z.string().optional(),
  notes: z.string().optional(),
  cwes: z.array(z.string().regex(/^CWE-[0-9]+$/)).optional(),
});

const kevCatalog = z.object({
  title: z.string().optional(),
  catalogVersion: z.string(),
  dateReleased: z.iso.datetime({ offset: true }),
  count: z.number().int().nonnegative(),
  vulnerabilities: z.array(kevItem),
});

/** One KEV entry as medsoc keeps it. */
export interface KevEntry {
  cve: string;
  vendor: string;
  product: string;
  dateAdded: string;
  /** May precede `dateAdded` (§4 trap 8): never compute "days overdue" from it alone. */
  dueDate: string;
  ransomware: boolean;
}

export interface KevCatalog {
  catalogVersion: string;
  dateReleased: string;
  /** The catalog's own `count`: the full catalog's size, even in a subset file (§4 trap 9). */
  declaredCount: number;
  entries: KevEntry[];
}

/** True for a document that looks like a KEV catalog (not necessarily a valid one). */
export function looksLikeKev(doc: unknown): boolean {
  return typeof doc === "object" && doc !== null && "catalogVersion" in doc && "vulnerabilities" in doc;
}

/** Validates and compacts a KEV catalog; throws an Error listing every problem with its path. */
export function parseKev(doc: unknown): KevCatalog {
  const parsed = kevCatalog.safeParse(doc);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 10).map((i) => `${i.path.join(".") || "$"}: ${i.message}`);
    throw new Error(`invalid KEV catalog: ${problems.join("; ")}`);
  }
  const c = parsed.data;
  return {
    catalogVersion: c.catalogVersion,
    dateReleased: c.dateReleased,
    declaredCount: c.count,
    entries: c.vulnerabilities.map((v) => ({
      cve: v.cveID,
      vendor: v.vendorProject,
      product: v.product,
      dateAdded: v.dateAdded,
      dueDate: v.dueDate,
      ransomware: v.knownRansomwareCampaignUse === "Known",
    })),
  };
}
