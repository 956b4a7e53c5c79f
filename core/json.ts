/**
 * Parsing of JSON that comes from outside (vendor API responses, push bodies, `normalize` input):
 *
 * - **Depth**: objects and arrays both count. Text nested deeper than `maxDepth` is refused with a
 *   {@link JsonInputError} before it is parsed, so nothing downstream (mappings, `JSON.stringify` of
 *   a queue job, which is recursive) can run out of stack on it.
 * - **Exact integers**: an integer literal beyond 2^53 (`123456789012345678901234567890`) becomes
 *   the string of its digits instead of a rounded double (`1.2345678901234568e+29`), so two devices
 *   whose ids differ in the 17th digit stay two devices. Non-integer numbers stay numbers (they are
 *   measurements, where a double is what the vendor meant).
 * - **Prototype keys**: `JSON.parse` and lossless-json both create `__proto__` as an own property;
 *   copying it on is the mappings' concern (`mappings/values.ts` `setOwn`).
 *
 * Fast path: one scan of the text (string contents skipped with `indexOf`) finds the depth and
 * whether any number literal has 16 or more digits; only then does the slower lossless-json parser
 * run. Ordinary vendor JSON goes to `JSON.parse`.
 */
import { isInteger, isSafeNumber, parse as losslessParse } from "lossless-json";
import { PermanentError } from "./errors.ts";

/**
 * Deepest nesting below a vendor record (the record itself not counted; arrays and objects count):
 * mappings refuse deeper records (`mappings/vendor-fields.ts`), receivers answer 400.
 */
export const MAX_RECORD_DEPTH = 32;

/** Default {@link JsonParseOptions.maxDepth}: vendor records nest a handful of levels. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

/** Options of {@link parseJson}. */
export interface JsonParseOptions {
  /**
   * Deepest accepted nesting, counting objects and arrays alike (`[]` and `{}` are depth 1).
   * @defaultValue 64
   */
  maxDepth?: number;
}

/** JSON that cannot be accepted (malformed or too deep); the message says why. */
export class JsonInputError extends PermanentError {
  /** `syntax` or `too_deep`. */
  readonly kind: "syntax" | "too_deep";
  constructor(kind: JsonInputError["kind"], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

/** The shape of a JSON text found by {@link scanJson}. */
export interface JsonShape {
  /** Deepest nesting seen (stops counting past the limit it was given). */
  depth: number;
  /** True when some number literal has 16 or more digits in a row (it may exceed 2^53). */
  longNumber: boolean;
}

/** 2^53 has 16 digits: every integer with 15 digits or fewer is exact as a double. */
const LONG_DIGIT_RUN = 16;

/**
 * Depth and long-number scan of a JSON text, without parsing it. Characters inside strings are
 * skipped, so a digit run or bracket inside a string counts for nothing. Returns as soon as the
 * depth passes `limit`.
 */
export function scanJson(text: string, limit: number = Number.POSITIVE_INFINITY): JsonShape {
  const n = text.length;
  let depth = 0;
  let max = 0;
  let digits = 0;
  let longNumber = false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits >= LONG_DIGIT_RUN) longNumber = true;
      continue;
    }
    digits = 0;
    if (c === 34) {
      // Skip the string: find the closing quote that is not escaped.
      let j = text.indexOf('"', i + 1);
      while (j !== -1) {
        let backslashes = 0;
        for (let k = j - 1; text.charCodeAt(k) === 92; k--) backslashes++;
        if (backslashes % 2 === 0) break;
        j = text.indexOf('"', j + 1);
      }
      if (j === -1) break; // unterminated: the parser reports it
      i = j;
    } else if (c === 91 || c === 123) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return { depth: max, longNumber };
      }
    } else if (c === 93 || c === 125) {
      depth--;
    }
  }
  return { depth: max, longNumber };
}

/** lossless-json number parser: unsafe integers as their digit string, everything else a number. */
function exactNumber(value: string): number | string {
  if (isSafeNumber(value)) return Number(value);
  return isInteger(value) ? value : Number(value);
}

function lastValue({ newValue }: { newValue: unknown }): unknown {
  return newValue;
}

/**
 * Parses JSON from outside (see the module comment). Throws {@link JsonInputError} with the reason
 * for malformed text or nesting deeper than `maxDepth`. A repeated key keeps its last value on both
 * paths, as `JSON.parse` does.
 */
export function parseJson(text: string, options: JsonParseOptions = {}): unknown {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  const shape = scanJson(text, maxDepth);
  if (shape.depth > maxDepth)
    throw new JsonInputError(
      "too_deep",
      `JSON nested deeper than ${maxDepth} levels (arrays and objects count)`,
    );
  if (!shape.longNumber) {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new JsonInputError("syntax", (error as Error).message, { cause: error });
    }
  }
  try {
    return losslessParse(text, null, { parseNumber: exactNumber, onDuplicateKey: lastValue });
  } catch (error) {
    throw new JsonInputError("syntax", (error as Error).message, { cause: error });
  }
}

/**
 * True when `value` nests more than `maxDepth` levels below itself (objects and arrays count; a
 * scalar is depth 0, `[]` and `{}` depth 1). Recursion stops at the limit, so it is safe on any
 * input, and only containers are visited: cheap enough for every record.
 */
export function exceedsDepth(value: unknown, maxDepth: number): boolean {
  if (value === null || typeof value !== "object") return false;
  if (maxDepth <= 0) return true;
  if (Array.isArray(value)) {
    for (const x of value)
      if (x !== null && typeof x === "object" && exceedsDepth(x, maxDepth - 1)) return true;
    return false;
  }
  for (const key in value) {
    const x = (value as Record<string, unknown>)[key];
    if (x !== null && typeof x === "object" && exceedsDepth(x, maxDepth - 1)) return true;
  }
  return false;
}

/**
 * Sets `key` on `o` as an own data property. Plain assignment of `"__proto__"` (a key any vendor
 * record can carry: `JSON.parse` makes it an own property) would replace `o`'s prototype instead, and
 * a later `for…in` would copy the vendor's object in as inherited fields. Every copy of vendor keys
 * goes through here (or through `mappings/values.ts` `ownCopy`).
 */
export function setOwn(o: Record<string, unknown>, key: string, v: unknown): void {
  if (key === "__proto__")
    Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
  else o[key] = v;
}

/**
 * `table[key]` when `key` is an own property of `table`: a lookup with a vendor-supplied key must not
 * find `Object.prototype` members (`constructor`, `__proto__`, `toString`).
 */
export function ownValue<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
