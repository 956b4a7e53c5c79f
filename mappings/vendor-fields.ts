/**
 * The vendor record kept under `<vendor>.<stream>.*` (DESIGN.md, Mapping contract): keys in
 * snake_case at every depth, empty and placeholder values removed, and the fields a vendor table
 * names coerced to one type (ids to strings, numbers, booleans, timestamps to UTC ms, scalars that
 * are sometimes arrays to arrays), so the vendor namespace keeps one mapping in Elasticsearch.
 */
import { MAX_RECORD_DEPTH } from "../core/json.ts";
import { MappingError } from "./errors.ts";
import { bool, isPlaceholder, num, setOwn, str, strList, timestamp, trimmed } from "./values.ts";

/** How one vendor field is coerced. */
export type FieldKind = "id" | "num" | "bool" | "date" | "list";

/** One entry of a vendor field table. */
export interface FieldSpec {
  /** Output key; defaults to the snake_case form of the vendor key. */
  readonly name?: string;
  /** Coercion; the default keeps the JSON type and recurses into objects and arrays. */
  readonly kind?: FieldKind;
}

/** Vendor key (as the vendor spells it, at any depth) → its spec. */
export type FieldTable = ReadonlyMap<string, FieldSpec>;

/**
 * Deeper records are refused rather than risk the stack on hostile input. Objects and arrays both
 * count as a level (`{"a":[[1]]}` is 3 deep).
 */
export const MAX_DEPTH = MAX_RECORD_DEPTH;

const SNAKE_CACHE = new Map<string, string>();
const SNAKE_CACHE_LIMIT = 10_000;

function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}
function isLowerOrDigit(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
}

/**
 * `camelCase` → `camel_case`, `statusChangeTime` → `status_change_time`, `cvssScoreV4` →
 * `cvss_score_v4`, `HTTPServer` → `http_server`. Results are cached (bounded).
 */
export function snakeCase(key: string): string {
  const cached = SNAKE_CACHE.get(key);
  if (cached !== undefined) return cached;
  let out = "";
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (isUpper(c)) {
      const prev = i > 0 ? key.charCodeAt(i - 1) : 0;
      const next = i + 1 < key.length ? key.charCodeAt(i + 1) : 0;
      if (i > 0 && (isLowerOrDigit(prev) || (isUpper(prev) && next >= 97 && next <= 122))) out += "_";
      out += String.fromCharCode(c + 32);
    } else if (c === 32 || c === 45 || c === 46) {
      out += "_"; // space, dash and dot would create odd or nested field names
    } else {
      out += key[i];
    }
  }
  if (SNAKE_CACHE.size < SNAKE_CACHE_LIMIT) SNAKE_CACHE.set(key, out);
  return out;
}

/**
 * Generic value: strings without placeholders, numbers, booleans, objects and arrays recursively
 * (nested keys looked up in `table`); undefined when nothing is left.
 */
export function plain(v: unknown, table: FieldTable, depth = 1): unknown {
  switch (typeof v) {
    case "string": {
      const s = trimmed(v);
      return isPlaceholder(s) ? undefined : s;
    }
    case "number":
      return Number.isFinite(v) ? v : undefined;
    case "boolean":
      return v;
    case "object":
      if (v === null) return undefined;
      if (Array.isArray(v)) return list(v, table, depth + 1);
      return vendorObject(v as Record<string, unknown>, table, depth + 1);
    default:
      return undefined;
  }
}

function tooDeep(): MappingError {
  return new MappingError(
    "invalid_record",
    `record nested deeper than ${MAX_DEPTH} levels (arrays and objects count)`,
  );
}

/** `depth` is the level of the array itself. */
function list(items: readonly unknown[], table: FieldTable, depth: number): unknown[] | undefined {
  if (depth > MAX_DEPTH) throw tooDeep();
  let out: unknown[] | undefined;
  for (const item of items) {
    const x = plain(item, table, depth);
    if (x === undefined) continue;
    if (out === undefined) out = [x];
    else out.push(x);
  }
  return out;
}

/** Applies a scalar coercion to a value or to each element of an array. */
export function each(v: unknown, f: (x: unknown) => unknown): unknown {
  if (!Array.isArray(v)) return f(v);
  let out: unknown[] | undefined;
  for (const item of v) {
    const x = f(item);
    if (x === undefined) continue;
    if (out === undefined) out = [x];
    else out.push(x);
  }
  return out;
}

/** Converts one vendor value as `kind` says (see {@link FieldKind}); undefined when nothing is left. */
export function coerce(v: unknown, kind: FieldKind | undefined, table: FieldTable, depth = 1): unknown {
  switch (kind) {
    case "id":
      return each(v, str);
    case "num":
      return each(v, num);
    case "bool":
      return each(v, bool);
    case "date":
      return each(v, timestamp);
    case "list": {
      if (Array.isArray(v)) return list(v, table, depth + 1);
      const x = plain(v, table, depth);
      return x === undefined ? undefined : [x];
    }
    default:
      return plain(v, table, depth);
  }
}

/**
 * Converts one vendor object for the vendor namespace; undefined when nothing is left.
 * Throws {@link MappingError} (`invalid_record`) beyond {@link MAX_DEPTH} levels of nesting.
 */
export function vendorObject(
  obj: Readonly<Record<string, unknown>>,
  table: FieldTable,
  depth = 0,
): Record<string, unknown> | undefined {
  if (depth > MAX_DEPTH) throw tooDeep();
  const out: Record<string, unknown> = {};
  let empty = true;
  // Own keys only, set with setOwn: a vendor "__proto__" key is data, never a prototype.
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === null || v === undefined || v === "") continue;
    const spec = table.get(key);
    // Nested objects and arrays come back undefined when nothing is left in them.
    const x = coerce(v, spec?.kind, table, depth);
    if (x === undefined) continue;
    setOwn(out, spec?.name ?? snakeCase(key), x);
    empty = false;
  }
  return empty ? undefined : out;
}

/**
 * Adds the fields of `obj` that `known` does not list to `out` (generic conversion). Vendors add
 * fields over time; nothing they send is dropped from the vendor namespace.
 */
export function addUnknownFields(
  obj: Readonly<Record<string, unknown>>,
  out: Record<string, unknown>,
  known: ReadonlySet<string>,
  table: FieldTable,
): void {
  for (const key of Object.keys(obj)) {
    if (known.has(key)) continue;
    const v = obj[key];
    if (v === null || v === undefined || v === "") continue;
    const spec = table.get(key);
    const x = coerce(v, spec?.kind, table, 1);
    if (x !== undefined) setOwn(out, spec?.name ?? snakeCase(key), x);
  }
}

/** True when the object has no own enumerable key. */
export function isEmptyObject(o: object): boolean {
  return Object.keys(o).length === 0;
}

/** Builds a field table from a compact literal. */
export function fieldTable(entries: Readonly<Record<string, FieldSpec | FieldKind>>): FieldTable {
  const map = new Map<string, FieldSpec>();
  for (const [key, spec] of Object.entries(entries)) {
    map.set(key, typeof spec === "string" ? { kind: spec } : spec);
  }
  return map;
}

/** A compiled converter of one object shape (see {@link compileObject}). */
export type ObjectConverter = (
  r: Readonly<Record<string, unknown>>,
  omit?: number,
) => Record<string, unknown> | undefined;

/**
 * A converter of one known field's value: `omit` is the bit set the object's converter got (for
 * nested objects that drop fields too), `r` the whole record; undefined when nothing is left.
 */
export type ValueConverter = (v: unknown, omit: number, r: Readonly<Record<string, unknown>>) => unknown;

/** One known field of an object shape. */
export interface SchemaField {
  /** The key as the vendor spells it. */
  readonly key: string;
  /**
   * How the value is converted: a {@link FieldKind}; `"ids"` (an id or a list of ids → a
   * deduplicated string array, `strList`); an {@link ObjectConverter} (a nested object, or an
   * array of them, each converted by it; other values generically); or a {@link ValueConverter}
   * given as `{ convert }`. @defaultValue the table's kind for the key (generic when it has none)
   */
  readonly kind?: FieldKind | "ids" | ObjectConverter | { readonly convert: ValueConverter };
  /** Output key. @defaultValue the table's name for the key, else its snake_case form */
  readonly name?: string;
  /** The bit of `omit` that leaves this field out (not converted, not added). @defaultValue none */
  readonly omit?: number;
}

interface CompiledField {
  readonly key: string;
  readonly name: string;
  readonly omit: number;
  readonly convert: ValueConverter;
}

function isRecord(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A nested object converted by `convert`, an array of them, or anything else generically. */
export function nestedObjects(v: unknown, convert: ObjectConverter, table: FieldTable): unknown {
  if (isRecord(v)) return convert(v);
  if (!Array.isArray(v)) return plain(v, table);
  let out: unknown[] | undefined;
  for (const item of v) {
    const x = isRecord(item) ? convert(item) : plain(item, table);
    if (x === undefined) continue;
    if (out === undefined) out = [x];
    else out.push(x);
  }
  return out;
}

function valueConverter(kind: SchemaField["kind"], table: FieldTable): ValueConverter {
  if (typeof kind === "function") return (v) => nestedObjects(v, kind, table);
  if (typeof kind === "object") return kind.convert;
  switch (kind) {
    case "ids":
      return (v) => strList(v);
    case "id":
      return (v) => each(v, str);
    case "num":
      return (v) => each(v, num);
    case "bool":
      return (v) => each(v, bool);
    case "date":
      return (v) => each(v, timestamp);
    case "list":
      return (v) => coerce(v, "list", table);
    default:
      return (v) => plain(v, table);
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * Compiles the converter of one object shape from its known fields, once: the known fields in the
 * order given (each converted as its {@link SchemaField} says, skipped when its `omit` bit is set),
 * then every other own key generically ({@link addUnknownFields}), so nothing the vendor adds is
 * dropped. Undefined when nothing is left.
 *
 * The converter is generated as straight-line code (one `if` per field, reading and writing each
 * key by name) rather than a loop over the fields: V8 gives every named access its own inline
 * cache and keeps the output in fast mode, where a loop's computed `o[key] = x` turns an object of
 * more than 16 keys into a dictionary (slower to build and to serialise). That was the reason for
 * the hand-unrolled Armis converter this replaces; the mapping benchmark measures it. Only names from
 * the schema (checked to be plain identifiers) enter the code; record keys and values never do.
 */
export function compileObject(
  fields: ReadonlyArray<string | SchemaField>,
  table: FieldTable,
): ObjectConverter {
  const compiled: CompiledField[] = fields.map((f) => {
    const field = typeof f === "string" ? { key: f } : f;
    const spec = table.get(field.key);
    const name = field.name ?? spec?.name ?? snakeCase(field.key);
    if (!IDENTIFIER.test(field.key) || !IDENTIFIER.test(name) || name === "__proto__")
      throw new Error(
        `schema field ${JSON.stringify(field.key)} → ${JSON.stringify(name)}: not a plain identifier`,
      );
    return {
      key: field.key,
      name,
      omit: field.omit ?? 0,
      convert: valueConverter(field.kind ?? spec?.kind, table),
    };
  });
  const known: ReadonlySet<string> = new Set(compiled.map((f) => f.key));
  let body = "const o = {};\nlet x;\n";
  compiled.forEach((f, i) => {
    const step = `x = r.${f.key};\nif (x !== undefined) {\n  x = c[${i}](x, omit, r);\n  if (x !== undefined) o.${f.name} = x;\n}\n`;
    body += f.omit === 0 ? step : `if ((omit & ${f.omit}) === 0) {\n${step}}\n`;
  });
  body += "addUnknown(r, o, known, table);\nreturn isEmpty(o) ? undefined : o;";
  const make = new Function(
    "c",
    "addUnknown",
    "known",
    "table",
    "isEmpty",
    `return (r, omit = 0) => {\n${body}\n};`,
  );
  return make(
    compiled.map((f) => f.convert),
    addUnknownFields,
    known,
    table,
    isEmptyObject,
  ) as ObjectConverter;
}
