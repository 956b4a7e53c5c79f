/**
 * Version ranges of CSAF product trees (`advisories.md` §1.3 step 3). `product_version` names are
 * exact strings; `product_version_range` names are free text in a loose VERS-like syntax. This
 * module parses the forms it can read with certainty and answers `unsure` (with a countable reason)
 * for everything else: a device is never matched on a guess.
 *
 * Understood: `vers:all/*`, `vers:<scheme>/<constraints>`, `<= 9.33`, `>= 1.1 | <= 1.3.2`,
 * `<=12.1.3`, `<= U61 |<= L81` (one bound per build line), `<= 3.0 D15`, `A10 | A11` (a list of
 * exact versions), `v8.x` / `9.x` families, `model 35700BAX2` qualifiers. Refused as unsure:
 * `A10 < A11` (binary `<` is not VERS), component qualifiers (`with Wireless Battery Modules …`),
 * anything left over after the known forms.
 */

/** Why a version question could not be answered. Stable strings: they are counted. */
export type UnsureReason =
  | "unparsed_range"
  | "ambiguous_range_syntax"
  | "component_qualifier"
  | "model_qualifier_unconfirmed"
  | "device_version_unknown"
  | "incomparable_version"
  | "version_prefix_only";

/** One segment of a version: a number or a lower-case letter run. */
type Segment = number | string;

/** A parsed version: its segments (`3.0 D15` → [3, 0, "d", 15]). */
export interface Version {
  text: string;
  segments: readonly Segment[];
}

export type Op = "<" | "<=" | ">" | ">=" | "=";

export interface Constraint {
  op: Op;
  version: Version;
}

/** What a product's version text means. */
export type VersionSpec =
  | { kind: "all" }
  /** Any of `exact` versions, or inside any one of `ranges` (each range: all its constraints hold). */
  | {
      kind: "set";
      exact: readonly Version[];
      ranges: readonly (readonly Constraint[])[];
      /** `v8.x`: the device's leading segments must equal these. */
      family?: readonly Segment[];
      /** `model 35700BAX2`: the device model must name this model number. */
      model?: string;
      /** A qualifier on another component (battery module versions): never decidable from the device. */
      component?: string;
    }
  | { kind: "unsure"; reason: UnsureReason; text: string };

export type VersionVerdict =
  | { result: "in" }
  | { result: "out" }
  | { result: "unsure"; reason: UnsureReason };

const SEGMENT_RE = /(\d+)|([a-z]+)/g;

/** Splits a version into numbers and letter runs; a leading `v` before a digit is dropped. */
export function parseVersion(text: string): Version | undefined {
  const t = text
    .trim()
    .toLowerCase()
    .replace(/^v(?=\d)/, "");
  if (t === "" || !/^[0-9a-z][0-9a-z._\- ]*$/.test(t)) return undefined;
  const segments: Segment[] = [];
  for (const m of t.matchAll(SEGMENT_RE)) segments.push(m[1] !== undefined ? Number(m[1]) : (m[2] as string));
  return segments.length > 0 ? { text: text.trim(), segments } : undefined;
}

/**
 * Compares two versions: -1, 0, 1, or `undefined` when they cannot be ordered (a number against a
 * letter run at the same position, or one is a prefix of the other followed by letters: `3.0` vs
 * `3.0 D15`). Missing trailing numeric segments count as zero (`1.3` = `1.3.0`).
 */
export function compareVersions(a: Version, b: Version): -1 | 0 | 1 | undefined {
  const n = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const x = a.segments[i];
    const y = b.segments[i];
    if (x === undefined || y === undefined) {
      const rest = (x === undefined ? b : a).segments.slice(i);
      if (rest.some((s) => typeof s === "string")) return undefined;
      if (rest.every((s) => s === 0)) return 0;
      return x === undefined ? -1 : 1;
    }
    if (typeof x !== typeof y) return undefined;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

const OP_RE = /^(<=|>=|<|>|=|!=)?\s*(.+)$/;

function parseConstraint(text: string): Constraint | undefined {
  const m = OP_RE.exec(text.trim());
  if (m === null || m[1] === "!=") return undefined;
  const version = parseVersion(m[2] as string);
  if (version === undefined) return undefined;
  return { op: (m[1] as Op | undefined) ?? "=", version };
}

/**
 * Groups constraints the way advisories write them: an upper bound closes the range a preceding
 * lower bound opened (`>= 1.1 | <= 1.3.2`); a bare version is an exact version; a lone bound is a
 * range of its own (`<= U61 | <= L81`).
 */
function groupConstraints(
  constraints: readonly Constraint[],
): { exact: Version[]; ranges: Constraint[][] } | undefined {
  const exact: Version[] = [];
  const ranges: Constraint[][] = [];
  let open: Constraint | undefined;
  for (const c of constraints) {
    if (c.op === "=") {
      if (open !== undefined) return undefined;
      exact.push(c.version);
    } else if (c.op === ">=" || c.op === ">") {
      if (open !== undefined) return undefined;
      open = c;
    } else if (open !== undefined) {
      ranges.push([open, c]);
      open = undefined;
    } else {
      ranges.push([c]);
    }
  }
  if (open !== undefined) ranges.push([open]);
  return { exact, ranges };
}

const FAMILY_RE = /^\(?v?(\d+(?:\.\d+)*)\.x\)?$/i;
const MODEL_RE = /\bmodel\s+([0-9a-z][0-9a-z-]*)\s*$/i;

/** Parses the version text of a product (`product_version` exact, `product_version_range` loose). */
export function parseVersionSpec(text: string, exactOnly: boolean): VersionSpec {
  const raw = text.trim();
  if (raw === "") return { kind: "unsure", reason: "unparsed_range", text };
  if (/^vers:all\/\*$/i.test(raw) || /^all(\s+versions)?$/i.test(raw)) return { kind: "all" };
  // A `product_version` is one exact version, unless the advisory put a range or a family there
  // (`v8.x model 35700BAX2`, `A10 | A11` are filed as product_version in real advisories).
  if (exactOnly && /^v?[0-9a-z]+(?:[._-][0-9a-z]+)*$/i.test(raw) && !/\.x$/i.test(raw)) {
    const v = parseVersion(raw);
    if (v !== undefined) return { kind: "set", exact: [v], ranges: [] };
  }
  const vers = /^vers:([a-z0-9.+-]+)\/(.+)$/i.exec(raw);
  if (vers !== null) return parseConstraintList(vers[2] as string, text);
  if (/^[^<>=|]+\s<\s[^<>=|]+$/.test(raw)) return { kind: "unsure", reason: "ambiguous_range_syntax", text };

  // `v8.x model 35700BAX2`, `v6.x (with Wireless Battery Modules …)`, `9.x (…)`.
  const head = /^\(?v?\d+(?:\.\d+)*\.x\)?/i.exec(raw);
  if (head !== null) {
    const family = parseVersion((FAMILY_RE.exec(head[0]) as RegExpExecArray)[1] as string);
    if (family === undefined) return { kind: "unsure", reason: "unparsed_range", text };
    const rest = raw.slice(head[0].length).trim();
    if (rest === "") return { kind: "set", exact: [], ranges: [], family: family.segments };
    const model = MODEL_RE.exec(rest);
    if (model !== null && rest.slice(0, model.index).trim() === "") {
      return { kind: "set", exact: [], ranges: [], family: family.segments, model: model[1] as string };
    }
    if (rest.startsWith("(")) {
      return { kind: "set", exact: [], ranges: [], family: family.segments, component: rest };
    }
    return { kind: "unsure", reason: "unparsed_range", text };
  }
  return parseConstraintList(raw, text);
}

function parseConstraintList(list: string, text: string): VersionSpec {
  const parts = list.split("|").map((p) => p.trim());
  if (parts.some((p) => p === "")) return { kind: "unsure", reason: "unparsed_range", text };
  const constraints: Constraint[] = [];
  for (const p of parts) {
    const c = parseConstraint(p);
    if (c === undefined) return { kind: "unsure", reason: "unparsed_range", text };
    constraints.push(c);
  }
  const grouped = groupConstraints(constraints);
  if (grouped === undefined) return { kind: "unsure", reason: "unparsed_range", text };
  return { kind: "set", ...grouped };
}

type ClauseResult = "in" | "out" | "n/a" | "unsure";

function holds(c: Constraint, v: Version): ClauseResult {
  // A bound only speaks to versions of its own line: `U61` says nothing about `L70` or `12.1`.
  if (typeof c.version.segments[0] !== typeof v.segments[0]) return "n/a";
  if (typeof v.segments[0] === "string" && c.version.segments[0] !== v.segments[0]) return "n/a";
  const cmp = compareVersions(v, c.version);
  if (cmp === undefined) return "unsure";
  switch (c.op) {
    case "<":
      return cmp < 0 ? "in" : "out";
    case "<=":
      return cmp <= 0 ? "in" : "out";
    case ">":
      return cmp > 0 ? "in" : "out";
    case ">=":
      return cmp >= 0 ? "in" : "out";
    default:
      return cmp === 0 ? "in" : "out";
  }
}

function exactResult(want: Version, v: Version): ClauseResult {
  if (typeof want.segments[0] !== typeof v.segments[0]) return "n/a";
  const cmp = compareVersions(v, want);
  if (cmp === 0) return "in";
  // `1.6` listed, device `1.6.1`: the advisory may mean the 1.6 line; do not decide.
  const w = want.segments;
  if (v.segments.length > w.length && w.every((s, i) => v.segments[i] === s)) return "unsure";
  return cmp === undefined ? "unsure" : "out";
}

/**
 * Is the device version inside the spec? `model` is the device's model text (for `model …`
 * qualifiers). Union semantics: `in` when one clause holds; `out` when every clause that speaks to
 * the version's line says out; `unsure` otherwise.
 */
export function matchVersion(
  spec: VersionSpec,
  deviceVersion: string | undefined,
  model = "",
): VersionVerdict {
  if (spec.kind === "all") return { result: "in" };
  if (spec.kind === "unsure") return { result: "unsure", reason: spec.reason };
  if (deviceVersion === undefined) return { result: "unsure", reason: "device_version_unknown" };
  const v = parseVersion(deviceVersion);
  if (v === undefined) return { result: "unsure", reason: "incomparable_version" };
  if (spec.family !== undefined) {
    const f = spec.family;
    if (typeof v.segments[0] !== typeof f[0]) return { result: "unsure", reason: "incomparable_version" };
    if (v.segments.length < f.length) return { result: "unsure", reason: "version_prefix_only" };
    if (!f.every((s, i) => v.segments[i] === s)) return { result: "out" };
    if (spec.component !== undefined) return { result: "unsure", reason: "component_qualifier" };
    if (spec.model !== undefined) return modelQualifier(spec.model, model);
    return { result: "in" };
  }
  let applicable = 0;
  let unsure: UnsureReason | undefined;
  for (const want of spec.exact) {
    const r = exactResult(want, v);
    if (r === "in") return { result: "in" };
    if (r !== "n/a") applicable++;
    if (r === "unsure")
      unsure = compareVersions(v, want) === undefined ? "incomparable_version" : "version_prefix_only";
  }
  for (const range of spec.ranges) {
    let r: ClauseResult = "in";
    for (const c of range) {
      const h = holds(c, v);
      if (h === "out") {
        r = "out";
        break;
      }
      if (h === "unsure" || h === "n/a") r = h;
    }
    if (r === "in") return { result: "in" };
    if (r !== "n/a") applicable++;
    if (r === "unsure") unsure ??= "incomparable_version";
  }
  if (unsure !== undefined) return { result: "unsure", reason: unsure };
  return applicable > 0 ? { result: "out" } : { result: "unsure", reason: "incomparable_version" };
}

/** Model tokens: `Sigma Spectrum 35700BAX2` → ["sigma", "spectrum", "35700bax2"]. */
function modelTokens(model: string): string[] {
  return model
    .toLowerCase()
    .split(/[^0-9a-z]+/)
    .filter((t) => t !== "");
}

function modelQualifier(wanted: string, model: string): VersionVerdict {
  const w = wanted.toLowerCase();
  const tokens = modelTokens(model);
  if (tokens.includes(w)) return { result: "in" };
  // Another full model number of the same line (35700BAX vs 35700BAX2) is a different product.
  const sibling = tokens.some(
    (t) => t !== w && /\d/.test(t) && /[a-z]/.test(t) && (t.startsWith(w) || w.startsWith(t)),
  );
  if (sibling) return { result: "out" };
  return { result: "unsure", reason: "model_qualifier_unconfirmed" };
}
