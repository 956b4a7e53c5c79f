/**
 * CSAF 2.0 advisory → compact {@link Advisory} (`advisories.md` §1). Pure. The structure is checked
 * against the CSAF schema and mandatory tests by `validate.ts` before a document is imported; this
 * parser still refuses what it cannot read ({@link AdvisoryParseError}) instead of guessing.
 *
 * Walks the product tree (vendor → product_name → product_version / product_version_range branches,
 * top-level `full_product_names`, `relationships`) and the vulnerabilities (CVE, CWE, per-product
 * CVSS v3 base scores, `product_status`, remediations, references). Scores and statuses are kept per
 * product (ICSMA-23-194-01 scores one CVE 6.7 for five products and 3.0 for a sixth).
 */

/** A product of an advisory's product tree, with what the matcher compares. */
export interface AdvisoryProduct {
  /** `CSAFPID-0001`: local to the advisory. */
  id: string;
  /** Vendor branch name as written (`Becton, Dickinson and Company (BD)`); empty when the tree has none. */
  vendor: string;
  /** `product_name` branch name, or the full product name when there is no branch. */
  product: string;
  /** The product's display name (`Alaris 8015 PC unit: Version 9.7`). */
  name: string;
  /** Version branch name (`<= 9.33`); absent when the tree gives none. */
  version?: string;
  /** `product_version` (exact) or `product_version_range` (loose range). */
  versionKind?: "product_version" | "product_version_range";
  /** `installed_on` & co.: the platform product id this component runs on. */
  platform?: string;
  /** CPE from the product identification helper, when given. */
  cpe?: string;
}

export interface AdvisoryScore {
  products: string[];
  base: number;
  severity?: string;
  vector?: string;
}

export interface AdvisoryRemediation {
  category: string;
  details: string;
  products: string[];
  url?: string;
}

export interface AdvisoryVulnerability {
  /** CVE id; absent for vulnerabilities without one (kept for completeness, never matched by CVE). */
  cve?: string;
  cwe?: { id: string; name: string };
  title?: string;
  /** `known_affected`, `first_affected`, `last_affected` product ids. */
  affected: string[];
  /** `fixed`, `first_fixed` product ids. */
  fixed: string[];
  scores: AdvisoryScore[];
  remediations: AdvisoryRemediation[];
  /** Reference URLs (NVD first when present). */
  references: string[];
}

export interface Advisory {
  /** `tracking.id`, upper-case (`ICSMA-17-250-02A`). */
  id: string;
  /** `tracking.version` as written (`2`, `1.0.0`). */
  version: string;
  title: string;
  publisher: string;
  initialReleaseDate?: string;
  currentReleaseDate: string;
  /** The human page (`references[category=self]`), else the first reference. */
  url?: string;
  products: AdvisoryProduct[];
  vulnerabilities: AdvisoryVulnerability[];
  /** Data-quality warnings found while parsing (`advisories.md` §4). Stable prefixes. */
  warnings: string[];
}

/** A document the parser cannot read; `path` says where. */
export class AdvisoryParseError extends Error {
  override name = "AdvisoryParseError";
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

type Obj = Readonly<Record<string, unknown>>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function obj(v: unknown, path: string): Obj {
  if (!isObj(v)) throw new AdvisoryParseError(path, "must be an object");
  return v;
}

function str(v: unknown, path: string): string {
  if (typeof v !== "string" || v.trim() === "")
    throw new AdvisoryParseError(path, "must be a non-empty string");
  return v;
}

const optStr = (v: unknown): string | undefined => (typeof v === "string" && v.trim() !== "" ? v : undefined);

function arr(v: unknown, path: string): readonly unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new AdvisoryParseError(path, "must be an array");
  return v;
}

const ids = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string" && x !== "") : [];

/** True for a CSAF document (any version): has `document.csaf_version`. */
export function looksLikeCsaf(doc: unknown): boolean {
  return isObj(doc) && isObj(doc.document) && typeof doc.document.csaf_version === "string";
}

interface BranchPath {
  vendor: string;
  product?: string;
}

function walkBranches(
  branches: readonly unknown[],
  path: string,
  at: BranchPath,
  out: AdvisoryProduct[],
): void {
  branches.forEach((b, i) => {
    const p = `${path}[${i}]`;
    const branch = obj(b, p);
    const category = str(branch.category, `${p}.category`);
    const name = str(branch.name, `${p}.name`);
    const here: BranchPath = { ...at };
    if (category === "vendor") here.vendor = name;
    else if (category === "product_name" || category === "product_family") here.product = name;
    if (branch.product !== undefined) {
      const product = obj(branch.product, `${p}.product`);
      const id = str(product.product_id, `${p}.product.product_id`);
      const display = str(product.name, `${p}.product.name`);
      const item: AdvisoryProduct = {
        id,
        vendor: here.vendor,
        product: here.product ?? display,
        name: display,
      };
      if (category === "product_version" || category === "product_version_range") {
        item.version = name;
        item.versionKind = category;
      } else if (category === "product_name") {
        item.product = name;
      }
      const cpe = isObj(product.product_identification_helper)
        ? optStr(product.product_identification_helper.cpe)
        : undefined;
      if (cpe !== undefined) item.cpe = cpe;
      out.push(item);
    }
    if (branch.branches !== undefined)
      walkBranches(arr(branch.branches, `${p}.branches`), `${p}.branches`, here, out);
  });
}

function compareTrackingVersion(a: string, b: string): number {
  const pa = a.split(/[.+-]/).map((x) => Number.parseInt(x, 10));
  const pb = b.split(/[.+-]/).map((x) => Number.parseInt(x, 10));
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (Number.isNaN(x) || Number.isNaN(y)) return a.localeCompare(b);
    if (x !== y) return x - y;
  }
  return 0;
}

/** Orders two revisions of one advisory: by `tracking.version`, then `current_release_date`. */
export function isNewerRevision(a: Advisory, b: Advisory): boolean {
  const byVersion = compareTrackingVersion(a.version, b.version);
  if (byVersion !== 0) return byVersion > 0;
  return a.currentReleaseDate > b.currentReleaseDate;
}

/** Parses one CSAF 2.0 document. Throws {@link AdvisoryParseError} naming the offending path. */
export function parseCsaf(input: unknown): Advisory {
  const root = obj(input, "$");
  const document = obj(root.document, "document");
  const csafVersion = str(document.csaf_version, "document.csaf_version");
  if (csafVersion !== "2.0")
    throw new AdvisoryParseError("document.csaf_version", `unsupported version ${csafVersion}`);
  const tracking = obj(document.tracking, "document.tracking");
  const id = str(tracking.id, "document.tracking.id").trim().toUpperCase();
  const version = str(tracking.version, "document.tracking.version");
  const currentReleaseDate = str(tracking.current_release_date, "document.tracking.current_release_date");
  const title = str(document.title, "document.title");
  const publisher = str(obj(document.publisher, "document.publisher").name, "document.publisher.name");
  const warnings: string[] = [];

  let url: string | undefined;
  for (const r of arr(document.references, "document.references")) {
    if (!isObj(r)) continue;
    const u = optStr(r.url);
    if (u === undefined) continue;
    if (r.category === "self" && (url === undefined || /cisa\.gov\/news-events/.test(u))) url = u;
  }

  const products: AdvisoryProduct[] = [];
  if (root.product_tree !== undefined) {
    const tree = obj(root.product_tree, "product_tree");
    walkBranches(
      arr(tree.branches, "product_tree.branches"),
      "product_tree.branches",
      { vendor: "" },
      products,
    );
    arr(tree.full_product_names, "product_tree.full_product_names").forEach((f, i) => {
      const p = `product_tree.full_product_names[${i}]`;
      const fp = obj(f, p);
      const name = str(fp.name, `${p}.name`);
      products.push({ id: str(fp.product_id, `${p}.product_id`), vendor: "", product: name, name });
    });
    const byId = new Map(products.map((p) => [p.id, p]));
    arr(tree.relationships, "product_tree.relationships").forEach((r, i) => {
      const p = `product_tree.relationships[${i}]`;
      const rel = obj(r, p);
      const fp = obj(rel.full_product_name, `${p}.full_product_name`);
      const component = byId.get(str(rel.product_reference, `${p}.product_reference`));
      const platform = str(rel.relates_to_product_reference, `${p}.relates_to_product_reference`);
      const name = str(fp.name, `${p}.full_product_name.name`);
      const item: AdvisoryProduct = {
        id: str(fp.product_id, `${p}.full_product_name.product_id`),
        vendor: component?.vendor ?? "",
        product: component?.product ?? name,
        name,
        platform,
      };
      if (component?.version !== undefined) {
        item.version = component.version;
        item.versionKind = component.versionKind;
      }
      products.push(item);
    });
    // Products named only by a full name inherit the vendor when the tree has exactly one.
    const vendors = new Set(products.map((p) => p.vendor).filter((v) => v !== ""));
    if (vendors.size === 1) {
      const only = [...vendors][0] as string;
      for (const p of products) if (p.vendor === "") p.vendor = only;
    }
  }
  const known = new Set(products.map((p) => p.id));

  const vulnerabilities: AdvisoryVulnerability[] = [];
  arr(root.vulnerabilities, "vulnerabilities").forEach((v, i) => {
    const p = `vulnerabilities[${i}]`;
    const vuln = obj(v, p);
    const status = isObj(vuln.product_status) ? vuln.product_status : {};
    const item: AdvisoryVulnerability = {
      affected: [...ids(status.known_affected), ...ids(status.first_affected), ...ids(status.last_affected)],
      fixed: [...ids(status.fixed), ...ids(status.first_fixed)],
      scores: [],
      remediations: [],
      references: [],
    };
    const cve = optStr(vuln.cve);
    if (cve !== undefined) item.cve = cve.trim().toUpperCase();
    if (isObj(vuln.cwe))
      item.cwe = { id: str(vuln.cwe.id, `${p}.cwe.id`), name: optStr(vuln.cwe.name) ?? "" };
    const vt = optStr(vuln.title);
    if (vt !== undefined) item.title = vt;
    arr(vuln.scores, `${p}.scores`).forEach((s, j) => {
      const score = obj(s, `${p}.scores[${j}]`);
      const cvss = isObj(score.cvss_v3) ? score.cvss_v3 : undefined;
      if (cvss === undefined || typeof cvss.baseScore !== "number") return;
      const entry: AdvisoryScore = { products: ids(score.products), base: cvss.baseScore };
      const sev = optStr(cvss.baseSeverity);
      if (sev !== undefined) entry.severity = sev;
      const vec = optStr(cvss.vectorString);
      if (vec !== undefined) entry.vector = vec;
      item.scores.push(entry);
    });
    arr(vuln.remediations, `${p}.remediations`).forEach((r, j) => {
      const rem = obj(r, `${p}.remediations[${j}]`);
      const entry: AdvisoryRemediation = {
        category: str(rem.category, `${p}.remediations[${j}].category`),
        details: optStr(rem.details) ?? "",
        products: ids(rem.product_ids),
      };
      const u = optStr(rem.url);
      if (u !== undefined) entry.url = u;
      item.remediations.push(entry);
    });
    for (const r of arr(vuln.references, `${p}.references`)) {
      const u = isObj(r) ? optStr(r.url) : undefined;
      if (u !== undefined) item.references.push(u);
    }
    item.references.sort((a, b) => Number(b.includes("nvd.nist.gov")) - Number(a.includes("nvd.nist.gov")));
    for (const pid of [...item.affected, ...item.fixed]) {
      if (!known.has(pid)) throw new AdvisoryParseError(`${p}.product_status`, `unknown product id ${pid}`);
    }
    vulnerabilities.push(item);
  });

  // Trap 1 (§4): every CVE of the advisory carries the same CVSS vector.
  const vectors = new Set(vulnerabilities.flatMap((v) => v.scores.map((s) => s.vector ?? "")));
  if (vulnerabilities.length >= 3 && vectors.size === 1 && !vectors.has("")) {
    warnings.push(
      `uniform_cvss_vector: all ${vulnerabilities.length} vulnerabilities share ${[...vectors][0]}`,
    );
  }
  // Trap 2: more score entries than vulnerabilities (per-product scores).
  const scoreCount = vulnerabilities.reduce((n, v) => n + v.scores.length, 0);
  if (scoreCount > vulnerabilities.length) {
    warnings.push(`per_product_scores: ${scoreCount} scores for ${vulnerabilities.length} vulnerabilities`);
  }
  // Trap 5: older titles embed the id.
  if (title.toUpperCase().startsWith(id)) warnings.push("title_embeds_id");
  if (products.length === 0) warnings.push("no_products");

  const advisory: Advisory = {
    id,
    version,
    title,
    publisher,
    currentReleaseDate,
    url,
    products,
    vulnerabilities,
    warnings,
  };
  const initial = optStr(tracking.initial_release_date);
  if (initial !== undefined) advisory.initialReleaseDate = initial;
  if (url === undefined) delete advisory.url;
  return advisory;
}

/**
 * The CVSS v3 base score of `cve`-vulnerability `v` for product `productId`: the score entry that
 * lists the product, never another product's score.
 */
export function scoreFor(v: AdvisoryVulnerability, productId: string): number | undefined {
  let best: number | undefined;
  for (const s of v.scores)
    if (s.products.includes(productId) && (best === undefined || s.base > best)) best = s.base;
  return best;
}
