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
 * Fast path: `JSON.parse` (not recursive in V8, so deep text is safe to parse), then one walk over
 * the result that stops at the depth limit and notices numbers at or beyond 2^53; only then is the
 * text parsed again by the slower lossless-json parser. Ordinary vendor JSON costs `JSON.parse` plus
 * a walk of its containers.
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

/** 2^53: from here on, not every integer is exact as a double. */
const UNSAFE = 9007199254740992;

const FINE = 0;
const HAS_UNSAFE_NUMBER = 1;
const TOO_DEEP = 2;

function unsafeNumber(x: number): boolean {
  return (x >= UNSAFE || x <= -UNSAFE) && Number.isFinite(x);
}

/**
 * One walk over a parsed object or array: {@link TOO_DEEP} past `depthLeft` levels (the recursion
 * stops there, so it is safe on any input), else {@link HAS_UNSAFE_NUMBER} when a number is at or
 * beyond 2^53 in magnitude (the text may have held an integer `JSON.parse` rounded), else
 * {@link FINE}.
 */
function inspect(v: object, depthLeft: number): number {
  if (depthLeft <= 0) return TOO_DEEP;
  let found = FINE;
  if (Array.isArray(v)) {
    for (const x of v) {
      if (typeof x === "number") {
        if (unsafeNumber(x)) found = HAS_UNSAFE_NUMBER;
      } else if (x !== null && typeof x === "object") {
        const r = inspect(x, depthLeft - 1);
        if (r === TOO_DEEP) return r;
        if (r === HAS_UNSAFE_NUMBER) found = r;
      }
    }
    return found;
  }
  for (const key in v) {
    const x = (v as Record<string, unknown>)[key];
    if (typeof x === "number") {
      if (unsafeNumber(x)) found = HAS_UNSAFE_NUMBER;
    } else if (x !== null && typeof x === "object") {
      const r = inspect(x, depthLeft - 1);
      if (r === TOO_DEEP) return r;
      if (r === HAS_UNSAFE_NUMBER) found = r;
    }
  }
  return found;
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
  let value: unknown;
  try {
    // V8's JSON.parse is not recursive: deep text cannot overflow the stack here.
    value = JSON.parse(text);
  } catch (error) {
    throw new JsonInputError("syntax", (error as Error).message, { cause: error });
  }
  const verdict =
    value !== null && typeof value === "object"
      ? inspect(value, maxDepth)
      : typeof value === "number" && unsafeNumber(value)
        ? HAS_UNSAFE_NUMBER
        : FINE;
  if (verdict === TOO_DEEP)
    throw new JsonInputError(
      "too_deep",
      `JSON nested deeper than ${maxDepth} levels (arrays and objects count)`,
    );
  if (verdict === FINE) return value;
  // Some number is at or past 2^53: parse again keeping unsafe integers as digit strings.
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
