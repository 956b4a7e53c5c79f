/**
 * End-of-life operating systems (`medsoc.device.os_eol` + `os_eol_reason`) from the table in
 * `mappings/data/os-eol.json`, matched on `host.os.{name,family,version,full}`. Pure; the table's
 * regular expressions are compiled once at load.
 */
import table from "../data/os-eol.json" with { type: "json" };

export interface OsFields {
  name?: string;
  family?: string;
  version?: string;
  full?: string;
}

export interface EolVerdict {
  /** True: out of support; false: a known OS line that is still supported (as far as the table knows). */
  eol: boolean;
  /** The OS line (`windows`, `linux`, …). */
  os: string;
  /** Rule id, when a rule matched. */
  rule?: string;
  reason?: string;
}

interface RawRule {
  os: string;
  id: string;
  pattern?: string;
  version_below?: string;
  reason: string;
}

interface Rule {
  os: string;
  id: string;
  pattern?: RegExp;
  below?: number[];
  reason: string;
}

const FAMILIES = (table.families as { os: string; pattern: string }[]).map((f) => ({
  os: f.os,
  re: new RegExp(f.pattern, "i"),
}));

const RULES: readonly Rule[] = (table.rules as RawRule[]).map((r) => {
  const rule: Rule = { os: r.os, id: r.id, reason: r.reason };
  if (r.pattern !== undefined) rule.pattern = new RegExp(r.pattern, "i");
  if (r.version_below !== undefined) rule.below = r.version_below.split(".").map(Number);
  return rule;
});

const DOTTED = /(?<![\d.])(\d+)(?:\.(\d+))?(?:\.(\d+))?/;

function numericVersion(text: string | undefined): { text: string; parts: number[] } | undefined {
  if (text === undefined) return undefined;
  const m = DOTTED.exec(text);
  if (m === null) return undefined;
  return { text: m[0], parts: [m[1], m[2], m[3]].filter((x) => x !== undefined).map(Number) };
}

function lessThan(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x < y;
  }
  return false;
}

/** Verdicts by OS text: a fleet has a few dozen distinct OS strings (bounded, cleared when full). */
const memo = new Map<string, EolVerdict | undefined>();
const MEMO_LIMIT = 10_000;

/** The EOL verdict for an OS, or `undefined` when the OS is unknown to the table (or absent). */
export function osEol(os: OsFields | undefined): EolVerdict | undefined {
  if (os === undefined) return undefined;
  const key = `${os.name}\u0000${os.family}\u0000${os.version}\u0000${os.full}`;
  if (memo.has(key)) return memo.get(key);
  const verdict = computeOsEol(os);
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, verdict);
  return verdict;
}

function computeOsEol(os: OsFields): EolVerdict | undefined {
  const text = [os.name ?? os.family, os.version, os.full]
    .filter((x): x is string => typeof x === "string" && x !== "")
    .join(" ")
    .toLowerCase()
    .replace(/^microsoft /, "");
  if (text === "") return undefined;
  const family = FAMILIES.find((f) => f.re.test(text));
  if (family === undefined) return undefined;
  for (const rule of RULES) {
    if (rule.os !== family.os) continue;
    if (rule.pattern?.test(text)) {
      return { eol: true, os: family.os, rule: rule.id, reason: rule.reason };
    }
    if (rule.below !== undefined) {
      const v = numericVersion(os.version) ?? numericVersion(text);
      if (v !== undefined && lessThan(v.parts, rule.below)) {
        return { eol: true, os: family.os, rule: rule.id, reason: rule.reason.replace("{version}", v.text) };
      }
    }
  }
  return { eol: false, os: family.os };
}
