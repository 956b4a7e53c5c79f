/**
 * IBM QRadar Log Event Extended Format (LEEF):
 * - 1.0: `LEEF:1.0|Vendor|Product|Version|EventID|k=v<TAB>k=v…`
 * - 2.0: `LEEF:2.0|Vendor|Product|Version|EventID|DelimiterCharacter|k=v<D>k=v…`, the delimiter as
 *   one character or in hex (`x5E`, `0x5E`); when the field is absent or empty the delimiter is a tab.
 *
 * Escaping: `\|` and `\\` in the header; in values `\=`, `\\`, `\n`, `\r`, `\t` and a backslash
 * before the delimiter. A pair is split at its first unescaped `=`; a piece without `=` (a value
 * that contained the delimiter unescaped) is glued back to the previous value instead of dropped.
 */
import { setOwn } from "../../core/json.ts";
import { splitHeader } from "./cef.ts";

export interface LeefHeader {
  /** `1.0` or `2.0`. */
  version: string;
  vendor: string;
  product: string;
  productVersion: string;
  eventId: string;
  /** The attribute delimiter actually used (a tab unless LEEF 2.0 named another). */
  delimiter: string;
}

export interface LeefEvent {
  header: LeefHeader;
  extensions: Record<string, string>;
}

export class LeefParseError extends Error {}

const HEX_DELIMITER = /^0?[xX]([0-9A-Fa-f]{2,4})$/;

function decodeDelimiter(field: string): string | null {
  if (field.length === 1) return field;
  const hex = HEX_DELIMITER.exec(field);
  if (hex) return String.fromCodePoint(Number.parseInt(hex[1] as string, 16));
  return null;
}

function unescapeValue(raw: string, delimiter: string): string {
  if (!raw.includes("\\")) return raw;
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (ch !== "\\" || i === raw.length - 1) {
      out += ch;
      continue;
    }
    const next = raw[i + 1] as string;
    i++;
    if (next === "n") out += "\n";
    else if (next === "r") out += "\r";
    else if (next === "t") out += "\t";
    else if (next === "=" || next === "\\" || next === "|" || next === delimiter) out += next;
    else out += `\\${next}`;
  }
  return out;
}

/** Splits at unescaped occurrences of `delimiter`, keeping escapes for {@link unescapeValue}. */
function splitUnescaped(text: string, delimiter: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "\\") {
      i++;
      continue;
    }
    if (text.startsWith(delimiter, i)) {
      out.push(text.slice(start, i));
      start = i + delimiter.length;
      i = start - 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

function firstUnescaped(text: string, ch: string): number {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === ch) return i;
  }
  return -1;
}

/** Parses LEEF attributes with the given delimiter. */
export function parseLeefAttributes(text: string, delimiter: string): Record<string, string> {
  const out: Record<string, string> = {};
  let lastKey: string | undefined;
  let lastRaw = "";
  for (const piece of splitUnescaped(text, delimiter)) {
    const eq = firstUnescaped(piece, "=");
    const key = eq > 0 ? piece.slice(0, eq).trim() : "";
    if (key === "" || /\s/.test(key)) {
      if (lastKey !== undefined) {
        lastRaw += delimiter + piece;
        setOwn(out, lastKey, unescapeValue(lastRaw.replace(/[\r\n]+$/, ""), delimiter));
      }
      continue;
    }
    lastKey = key;
    lastRaw = piece.slice(eq + 1);
    setOwn(out, key, unescapeValue(lastRaw.replace(/[\r\n]+$/, ""), delimiter));
  }
  return out;
}

/** Parses a LEEF event (the text starting at `LEEF:`). */
export function parseLeef(text: string): LeefEvent {
  const m = /^LEEF:([12]\.0)\|/.exec(text);
  if (!m) throw new LeefParseError("not a LEEF event (expected LEEF:1.0| or LEEF:2.0|)");
  const version = m[1] as string;
  const split = splitHeader(text, 5);
  if (!split) throw new LeefParseError(`LEEF ${version} header has fewer than 5 '|'-separated fields`);
  const [, vendor, product, productVersion, eventId] = split.fields as [
    string,
    string,
    string,
    string,
    string,
  ];
  let delimiter = "\t";
  let rest = split.rest;
  if (version === "2.0") {
    // The optional delimiter field: one character or hex, up to the next '|'. A '|' delimiter
    // itself shows up as an empty field followed by another '|'.
    const bar = rest.indexOf("|");
    if (bar !== -1) {
      const field = rest.slice(0, bar);
      if (field === "" && rest[1] === "|") {
        delimiter = "|";
        rest = rest.slice(2);
      } else if (field === "") rest = rest.slice(1);
      else {
        const decoded = decodeDelimiter(field);
        if (decoded !== null) {
          delimiter = decoded;
          rest = rest.slice(bar + 1);
        } else if (!field.includes("=")) {
          throw new LeefParseError(`LEEF 2.0 delimiter field "${field}" is neither one character nor hex`);
        }
      }
    }
  }
  return {
    header: { version, vendor, product, productVersion, eventId, delimiter },
    extensions: parseLeefAttributes(rest, delimiter),
  };
}
