/**
 * ArcSight Common Event Format (CEF):
 * `CEF:Version|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|Extension`.
 *
 * Escaping (CEF implementation standard): in the header `\|` and `\\`; in extension values `\=`,
 * `\\`, `\n` and `\r` (a literal newline inside a value is kept as is). Keys carry no spaces; values
 * may, so a value runs until the space before the next `key=`. An unescaped `=` that is not preceded
 * by a space and a key (`request=https://h/?a=b`, common in real feeds) stays in the value.
 */
import { ownValue, setOwn } from "../../core/json.ts";

/** The seven CEF header fields, unescaped. */
export interface CefHeader {
  /** `0` or `1`. */
  version: string;
  deviceVendor: string;
  deviceProduct: string;
  deviceVersion: string;
  deviceEventClassId: string;
  name: string;
  /** As sent: `0`-`10` or `Low`/`Medium`/`High`/`Very-High`/`Unknown`. */
  severity: string;
}

export interface CefEvent {
  header: CefHeader;
  /** Extension key → unescaped value (a repeated key keeps its last value). */
  extensions: Record<string, string>;
  /**
   * Custom fields by their label: `cs1Label=Zone cs1=ICU` gives `{ Zone: "ICU" }` (cs, cn, cfp,
   * c6a, flexString, flexNumber, deviceCustomDate, …).
   */
  customLabels: Record<string, string>;
}

/** The text does not hold a CEF event; the message says why. */
export class CefParseError extends Error {}

const HEADER_FIELDS = 7;

/** Splits `text` at unescaped `|` into at most `count` fields plus the rest; unescapes `\|` and `\\`. */
export function splitHeader(text: string, count: number): { fields: string[]; rest: string } | null {
  const fields: string[] = [];
  let current = "";
  let i = 0;
  while (i < text.length && fields.length < count) {
    const ch = text[i] as string;
    if (ch === "\\" && (text[i + 1] === "|" || text[i + 1] === "\\")) {
      current += text[i + 1];
      i += 2;
      continue;
    }
    if (ch === "|") {
      fields.push(current);
      current = "";
      i++;
      continue;
    }
    current += ch;
    i++;
  }
  if (fields.length < count) return null;
  return { fields, rest: text.slice(i) };
}

const KEY_CHAR = /[A-Za-z0-9_.\-[\]]/;

function unescapeValue(raw: string): string {
  if (!raw.includes("\\")) return raw;
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (ch !== "\\" || i === raw.length - 1) {
      out += ch;
      continue;
    }
    const next = raw[i + 1];
    i++;
    if (next === "n") out += "\n";
    else if (next === "r") out += "\r";
    else if (next === "=" || next === "\\" || next === "|") out += next;
    else out += `\\${next}`; // not a CEF escape: keep both characters
  }
  return out;
}

/** Parses CEF extension text into key → value. */
export function parseCefExtension(text: string): Record<string, string> {
  // Positions of pair starts: an unescaped '=' preceded by a key that starts the text or follows whitespace.
  const pairs: { keyStart: number; eq: number }[] = [];
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (escaped) {
      escaped = false;
      continue;
    }
    if (ch === "\\") {
      escaped = true;
      continue;
    }
    if (ch !== "=") continue;
    let k = i;
    while (k > 0 && KEY_CHAR.test(text[k - 1] as string)) k--;
    if (k === i) continue;
    if (k > 0 && !/\s/.test(text[k - 1] as string)) continue;
    const prev = pairs[pairs.length - 1];
    if (prev && k <= prev.eq) continue;
    pairs.push({ keyStart: k, eq: i });
  }
  const out: Record<string, string> = {};
  for (let j = 0; j < pairs.length; j++) {
    const { keyStart, eq } = pairs[j] as { keyStart: number; eq: number };
    const end = j + 1 < pairs.length ? (pairs[j + 1] as { keyStart: number }).keyStart : text.length;
    // The whitespace before the next key separates pairs; trailing blanks of the last value are noise.
    // Escaped newlines (`\n`) are unescaped after this, so they survive.
    setOwn(out, text.slice(keyStart, eq), unescapeValue(text.slice(eq + 1, end).replace(/\s+$/, "")));
  }
  return out;
}

const LABELLED =
  /^(cs|cn|cfp|c6a|flexString|flexNumber|flexDate|deviceCustomDate|deviceCustomNumber|deviceCustomString)(\d+)$/;

/** Parses a CEF event (the text starting at `CEF:`). */
export function parseCef(text: string): CefEvent {
  if (!/^CEF:\d+\|/.test(text)) throw new CefParseError("not a CEF event (expected CEF:<version>|…)");
  const split = splitHeader(text, HEADER_FIELDS);
  if (!split) throw new CefParseError(`CEF header has fewer than ${HEADER_FIELDS + 1} '|'-separated fields`);
  const [v, deviceVendor, deviceProduct, deviceVersion, deviceEventClassId, name, severity] =
    split.fields as [string, string, string, string, string, string, string];
  const extensions = parseCefExtension(split.rest);
  const customLabels: Record<string, string> = {};
  for (const [key, value] of Object.entries(extensions)) {
    const m = LABELLED.exec(key);
    const label = m ? ownValue(extensions, `${key}Label`) : undefined;
    if (label) setOwn(customLabels, label, value);
  }
  return {
    header: {
      version: v.slice("CEF:".length),
      deviceVendor,
      deviceProduct,
      deviceVersion,
      deviceEventClassId,
      name,
      severity,
    },
    extensions,
    customLabels,
  };
}
