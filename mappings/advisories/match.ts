/**
 * The advisory index and matcher (`advisories.md` §1.3). Built once from parsed advisories and the
 * KEV catalog; every product's vendor key, product tokens and version spec are precomputed, and
 * products are bucketed by vendor key so that matching one device touches only its vendor's
 * products. Pure.
 *
 * A device matches a product when the vendor keys are equal (alias table), the model names the
 * product (model numbers are the strongest signal) and the device version is inside the product's
 * version spec. When the vendor and model match but the version question cannot be answered (no
 * device version, prose ranges, model or component qualifiers) the result is an explicit
 * {@link UnsureMatch} with a countable reason, never a match.
 */
import vendorAliases from "../data/vendor-aliases.json" with { type: "json" };
import {
  type Advisory,
  type AdvisoryProduct,
  type AdvisoryVulnerability,
  isNewerRevision,
  scoreFor,
} from "./csaf.ts";
import type { KevCatalog, KevEntry } from "./kev.ts";
import { matchVersion, parseVersionSpec, type UnsureReason, type VersionSpec } from "./versions.ts";

/** Case- and punctuation-insensitive form of a name (`Becton, Dickinson and Company (BD)` → `becton dickinson and company bd`). */
export function normalizeName(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/(?<=[a-z0-9])[-'’+](?=[a-z0-9])/g, "")
    .replace(/[^a-z0-9]+/g, " ")
    .trim();
}

const CORPORATE = /\b(inc|incorporated|ltd|limited|llc|gmbh|ag|sa|nv|plc|corp|corporation|co|company|the)\b/g;

const ALIASES: ReadonlyMap<string, string> = (() => {
  const m = new Map<string, string>();
  for (const [key, names] of Object.entries(
    (vendorAliases as { vendors: Record<string, string[]> }).vendors,
  )) {
    m.set(key, key);
    for (const name of names) m.set(normalizeName(name), key);
  }
  return m;
})();

/**
 * The canonical vendor key of a manufacturer or CSAF vendor name: the alias table's key, else the
 * normalised name without corporate suffixes (so unknown vendors still compare equal to themselves).
 */
export function vendorKey(name: string): string {
  const known = vendorMemo.get(name);
  if (known !== undefined) return known;
  const key = computeVendorKey(name);
  if (vendorMemo.size >= 10_000) vendorMemo.clear();
  vendorMemo.set(name, key);
  return key;
}

/** Vendor keys by raw name: monitors repeat a few hundred manufacturer spellings (bounded). */
const vendorMemo = new Map<string, string>();

function computeVendorKey(name: string): string {
  const n = normalizeName(name);
  const direct = ALIASES.get(n);
  if (direct !== undefined) return direct;
  const bare = n.replace(CORPORATE, " ").replace(/\s+/g, " ").trim();
  const viaBare = ALIASES.get(bare);
  if (viaBare !== undefined) return viaBare;
  // `Becton, Dickinson and Company (BD)`-style names: try the parenthesised short name.
  const paren = /\(([^)]+)\)\s*$/.exec(name);
  if (paren !== null) {
    const short = ALIASES.get(normalizeName(paren[1] as string));
    if (short !== undefined) return short;
  }
  return bare === "" ? n : bare;
}

/** Words that say nothing about which product it is. */
const STOP = new Set([
  "the",
  "a",
  "an",
  "and",
  "of",
  "for",
  "with",
  "model",
  "unit",
  "software",
  "system",
  "systems",
  "device",
  "devices",
  "version",
  "versions",
  "series",
  "pump",
  "pumps",
  "infusion",
  "module",
  "all",
]);

/** Product tokens split into alpha words and model numbers (tokens with a digit). */
export interface ProductTokens {
  words: readonly string[];
  numbers: readonly string[];
}

/**
 * Tokens of a product or model name, without stop words and without the vendor's own name (its
 * words, and short aliases such as `BD`, `GE`). Brand aliases (`Alaris`, `Medfusion`) stay: they
 * name the product line.
 */
export function productTokens(name: string, vendor = ""): ProductTokens {
  const vendorWords = new Set(vendor === "" ? [] : normalizeName(vendor).split(" "));
  const vkey = vendor === "" ? undefined : vendorKey(vendor);
  const words: string[] = [];
  const numbers: string[] = [];
  for (const t of normalizeName(name).split(" ")) {
    if (t === "" || STOP.has(t)) continue;
    if (/\d/.test(t)) numbers.push(t);
    else if (!vendorWords.has(t) && !(vkey !== undefined && t.length <= 3 && ALIASES.get(t) === vkey))
      words.push(t);
  }
  return { words, numbers };
}

/** Why a model did not name a product, or `match`. */
type ProductVerdict = "match" | "no" | "model_number_unconfirmed";

/**
 * Does the device model name this product? With model numbers on the product side, the device must
 * share one and one word (the family); without, every product word must appear in the model.
 */
export function productMatches(product: ProductTokens, device: ProductTokens): ProductVerdict {
  if (product.numbers.length > 0) {
    const sharedNumber = product.numbers.some((n) => device.numbers.includes(n));
    const sharedWord = product.words.length === 0 || product.words.some((w) => device.words.includes(w));
    if (sharedNumber && sharedWord) return "match";
    if (sharedNumber || device.numbers.length > 0) return "no";
    // Same family words, but the device gives no model number to confirm which model it is.
    return product.words.length > 0 && product.words.every((w) => device.words.includes(w))
      ? "model_number_unconfirmed"
      : "no";
  }
  if (product.words.length === 0) return "no";
  return product.words.every((w) => device.words.includes(w)) ? "match" : "no";
}

/** What the matcher reads from a device. */
export interface DeviceIdentity {
  manufacturer?: string;
  model?: string;
  /** Firmware/software version. */
  version?: string;
}

/** One affected CVE of a matched product, with the product's own score. */
export interface MatchedCve {
  cve: string;
  cwe?: string;
  /** Per-product CVSS v3 base score. */
  score?: number;
  reference?: string;
}

/** A device matched to an advisory product (confidence `exact`: vendor + model + version in range). */
export interface AdvisoryMatch {
  advisory: string;
  product: string;
  productName: string;
  cves: MatchedCve[];
  remediations: string[];
}

/** Vendor and model match, but the version question has no answer: needs review, never matched. */
export interface UnsureMatch {
  advisory: string;
  product: string;
  productName: string;
  reason: UnsureReason | "model_number_unconfirmed";
}

export interface MatchResult {
  matches: AdvisoryMatch[];
  unsure: UnsureMatch[];
}

interface IndexedProduct {
  advisory: Advisory;
  product: AdvisoryProduct;
  tokens: ProductTokens;
  spec: VersionSpec;
  cves: MatchedCve[];
  remediations: string[];
}

/** Advisory summary per CVE (for vulnerability documents from the monitors). */
export interface CveAdvisory {
  advisory: string;
  cvssMax?: number;
  cwe?: string;
}

/** The loaded advisories and KEV, ready to match. Build with {@link buildAdvisoryIndex}. */
export interface AdvisoryIndex {
  readonly advisories: ReadonlyMap<string, Advisory>;
  readonly kev: ReadonlyMap<string, KevEntry>;
  readonly kevCatalog?: Omit<KevCatalog, "entries">;
  /** CVE → advisories that list it. */
  readonly byCve: ReadonlyMap<string, readonly CveAdvisory[]>;
  /** Vendor key → products. */
  readonly byVendor: ReadonlyMap<string, readonly IndexedProduct[]>;
  /** Per-device match cache: fleets repeat the same (vendor, model, version) many times. */
  readonly cache: Map<string, MatchResult>;
}

function cvesOf(advisory: Advisory, productId: string): MatchedCve[] {
  const out: MatchedCve[] = [];
  for (const v of advisory.vulnerabilities) {
    if (v.cve === undefined || !v.affected.includes(productId)) continue;
    const m: MatchedCve = { cve: v.cve };
    if (v.cwe !== undefined) m.cwe = v.cwe.id;
    const score = scoreFor(v, productId);
    if (score !== undefined) m.score = score;
    // The canonical NVD page: advisories cite old `web.nvd.nist.gov` forms or only a CVSS calculator.
    m.reference = `https://nvd.nist.gov/vuln/detail/${v.cve}`;
    out.push(m);
  }
  return out;
}

function maxScore(vuln: AdvisoryVulnerability): number | undefined {
  let m: number | undefined;
  for (const s of vuln.scores) if (m === undefined || s.base > m) m = s.base;
  return m;
}

/** Largest number of distinct device identities kept in the match cache. */
const CACHE_LIMIT = 50_000;

/** Builds the index. Later revisions of one advisory id replace earlier ones (§1.3 step 6). */
export function buildAdvisoryIndex(advisories: readonly Advisory[], kev?: KevCatalog): AdvisoryIndex {
  const latest = new Map<string, Advisory>();
  for (const a of advisories) {
    const prev = latest.get(a.id);
    if (prev === undefined || isNewerRevision(a, prev)) latest.set(a.id, a);
  }
  const byCve = new Map<string, CveAdvisory[]>();
  const byVendor = new Map<string, IndexedProduct[]>();
  for (const a of latest.values()) {
    for (const v of a.vulnerabilities) {
      if (v.cve === undefined) continue;
      const list = byCve.get(v.cve) ?? [];
      const entry: CveAdvisory = { advisory: a.id };
      const s = maxScore(v);
      if (s !== undefined) entry.cvssMax = s;
      if (v.cwe !== undefined) entry.cwe = v.cwe.id;
      list.push(entry);
      byCve.set(v.cve, list);
    }
    for (const p of a.products) {
      const cves = cvesOf(a, p.id);
      if (cves.length === 0) continue; // fixed or not-affected products never match
      const remediations = new Set<string>();
      for (const v of a.vulnerabilities) {
        for (const r of v.remediations) if (r.products.includes(p.id)) remediations.add(r.category);
      }
      const spec: VersionSpec =
        p.version === undefined
          ? { kind: "unsure", reason: "unparsed_range", text: "" }
          : parseVersionSpec(p.version, p.versionKind === "product_version");
      const key = vendorKey(p.vendor);
      const list = byVendor.get(key) ?? [];
      list.push({
        advisory: a,
        product: p,
        tokens: productTokens(p.product, p.vendor),
        spec,
        cves,
        remediations: [...remediations].sort(),
      });
      byVendor.set(key, list);
    }
  }
  const index: AdvisoryIndex = {
    advisories: latest,
    kev: new Map((kev?.entries ?? []).map((e) => [e.cve, e])),
    byCve,
    byVendor,
    cache: new Map(),
  };
  if (kev !== undefined) {
    const { entries: _entries, ...meta } = kev;
    return { ...index, kevCatalog: meta };
  }
  return index;
}

const EMPTY: MatchResult = Object.freeze({ matches: [], unsure: [] }) as MatchResult;

/** Matches one device against every advisory of its vendor. */
export function matchDevice(index: AdvisoryIndex, device: DeviceIdentity): MatchResult {
  if (device.manufacturer === undefined || device.model === undefined) return EMPTY;
  const vkey = vendorKey(device.manufacturer);
  const products = index.byVendor.get(vkey);
  if (products === undefined) return EMPTY;
  const cacheKey = `${device.manufacturer}\u0000${device.model}\u0000${device.version ?? ""}`;
  const cached = index.cache.get(cacheKey);
  if (cached !== undefined) return cached;

  const tokens = productTokens(device.model, device.manufacturer);
  const matches: AdvisoryMatch[] = [];
  const unsure: UnsureMatch[] = [];
  for (const p of products) {
    const byModel = productMatches(p.tokens, tokens);
    if (byModel === "no") continue;
    const base = { advisory: p.advisory.id, product: p.product.id, productName: p.product.name };
    if (byModel === "model_number_unconfirmed") {
      unsure.push({ ...base, reason: byModel });
      continue;
    }
    const verdict = matchVersion(p.spec, device.version, device.model);
    if (verdict.result === "in") matches.push({ ...base, cves: p.cves, remediations: p.remediations });
    else if (verdict.result === "unsure") unsure.push({ ...base, reason: verdict.reason });
  }
  const result: MatchResult = { matches, unsure };
  if (index.cache.size >= CACHE_LIMIT) index.cache.clear();
  index.cache.set(cacheKey, result);
  return result;
}

/** `medsoc.advisories` entry: one per matched advisory, CVEs merged over its matched products. */
export interface AdvisorySummary {
  id: string;
  cves: string[];
  cvss_max?: number;
  cwes?: string[];
}

/** Summarises matches per advisory (sorted by id; CVEs sorted). */
export function summarize(matches: readonly AdvisoryMatch[]): AdvisorySummary[] {
  const byId = new Map<string, { cves: Set<string>; cwes: Set<string>; max?: number }>();
  for (const m of matches) {
    const s = byId.get(m.advisory) ?? { cves: new Set<string>(), cwes: new Set<string>() };
    for (const c of m.cves) {
      s.cves.add(c.cve);
      if (c.cwe !== undefined) s.cwes.add(c.cwe);
      if (c.score !== undefined && (s.max === undefined || c.score > s.max)) s.max = c.score;
    }
    byId.set(m.advisory, s);
  }
  return [...byId.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, s]) => {
      const out: AdvisorySummary = { id, cves: [...s.cves].sort() };
      if (s.max !== undefined) out.cvss_max = s.max;
      if (s.cwes.size > 0) out.cwes = [...s.cwes].sort();
      return out;
    });
}

/** Credential exposure an advisory's weaknesses imply (`advisories.md` §3). */
export type CredentialHint = "hard_coded" | "default" | "weak";

const CREDENTIAL_CWES: Readonly<Record<string, CredentialHint>> = {
  "CWE-798": "hard_coded", // Use of Hard-coded Credentials
  "CWE-259": "hard_coded", // Use of Hard-coded Password
  "CWE-1392": "default", // Use of Default Credentials
  "CWE-521": "weak", // Weak Password Requirements
};

/**
 * The credential hints of a device's advisories (`medsoc.advisories[].cwes`), strongest first:
 * `hard_coded` (cannot be rotated: compensating controls), then `default`, then `weak`. Each hint
 * lists the CWEs and advisories behind it.
 */
export function credentialCwesOf(
  advisories: readonly { id: string; cwes?: readonly string[] }[] | undefined,
): { hint: CredentialHint; cwes: string[]; advisories: string[] }[] {
  const order: CredentialHint[] = ["hard_coded", "default", "weak"];
  const found = new Map<CredentialHint, { cwes: Set<string>; advisories: Set<string> }>();
  for (const a of advisories ?? []) {
    for (const cwe of a.cwes ?? []) {
      const hint = CREDENTIAL_CWES[cwe];
      if (hint === undefined) continue;
      const f = found.get(hint) ?? { cwes: new Set<string>(), advisories: new Set<string>() };
      f.cwes.add(cwe);
      f.advisories.add(a.id);
      found.set(hint, f);
    }
  }
  return order
    .filter((h) => found.has(h))
    .map((h) => {
      const f = found.get(h) as { cwes: Set<string>; advisories: Set<string> };
      return { hint: h, cwes: [...f.cwes].sort(), advisories: [...f.advisories].sort() };
    });
}
