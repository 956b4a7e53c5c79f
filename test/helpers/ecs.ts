/**
 * ECS validation for tests: every field a document carries outside the custom namespaces must exist
 * in the official field list (`ecs_flat-v9.4.0.yml`, loaded once) and hold a value of its type;
 * `event.kind`, `event.category`, `event.type` and `event.outcome` must use allowed values, and each
 * `event.type` must be expected by one of the document's categories.
 */
import { existsSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { VENDOR_NAMESPACES } from "../../monitors/index.ts";

/** The shared reference data folder (`../shared/reference/data` from the repository root). */
export const REFERENCE_DATA_DIR = resolve(
  process.env.MEDSOC_REFERENCE_DIR ??
    resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "shared", "reference", "data"),
);

/**
 * A path inside the reference data that a test cannot do without: returned when it exists, otherwise
 * an error that says where the data was expected and how to point at it (tests fail, never skip).
 */
export function referencePath(relative: string, dir: string = REFERENCE_DATA_DIR): string {
  const path = resolve(dir, relative);
  if (!existsSync(path))
    throw new Error(
      `reference data missing: ${path} does not exist. The tests expect the shared reference data at ` +
        "../shared/reference/data beside the checkout; point at another copy with " +
        "MEDSOC_REFERENCE_DIR=/path/to/reference/data (see docs/contributing.md, Tests).",
    );
  return path;
}

/** The ECS field list medsoc validates against. */
export const ECS_FLAT_PATH = resolve(REFERENCE_DATA_DIR, "ecs", "ecs_flat-v9.4.0.yml");

/** Namespaces that are not ECS: medsoc's own and the vendor namespaces. */
export const DEFAULT_CUSTOM_NAMESPACES: readonly string[] = ["medsoc", ...VENDOR_NAMESPACES];

/**
 * `event.type` values allowed with any category. ECS 9.2 added `device` ("events related to device
 * objects", example `event.category:host AND event.type:change AND event.type:device`) without adding
 * it to the host category's expected types (elastic.md §2.1).
 */
export const ALWAYS_EXPECTED_EVENT_TYPES: readonly string[] = ["device"];

/** One field of the ECS field list (the parts the validator uses). */
export interface EcsField {
  type: string;
  normalize: readonly string[];
  allowedValues?: ReadonlySet<string>;
  /** For `event.category` values: the `event.type` values expected with it. */
  expectedTypes?: ReadonlyMap<string, ReadonlySet<string>>;
}

/** One problem found in a document. */
export interface EcsProblem {
  field: string;
  message: string;
}

export interface ValidateOptions {
  /** Top-level namespaces skipped by the validator. @defaultValue {@link DEFAULT_CUSTOM_NAMESPACES} */
  customNamespaces?: readonly string[];
}

interface RawField {
  type?: string;
  normalize?: string[];
  allowed_values?: Array<{ name: string; expected_event_types?: string[] }>;
}

let cache: ReadonlyMap<string, EcsField> | undefined;

/** The ECS field list, flat name → field (parsed once per process). */
export function loadEcsFields(path = ECS_FLAT_PATH): ReadonlyMap<string, EcsField> {
  if (cache !== undefined && path === ECS_FLAT_PATH) return cache;
  const raw = parse(readFileSync(referencePath(path), "utf8")) as Record<string, RawField>;
  const fields = new Map<string, EcsField>();
  for (const [name, f] of Object.entries(raw)) {
    const field: EcsField = { type: f.type ?? "keyword", normalize: f.normalize ?? [] };
    if (f.allowed_values !== undefined) {
      field.allowedValues = new Set(f.allowed_values.map((v) => v.name));
      if (name === "event.category") {
        field.expectedTypes = new Map(f.allowed_values.map((v) => [v.name, new Set(v.expected_event_types)]));
      }
    }
    fields.set(name, field);
  }
  if (path === ECS_FLAT_PATH) cache = fields;
  return fields;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const STRING_TYPES = new Set(["keyword", "constant_keyword", "wildcard", "match_only_text", "text"]);
const NUMBER_TYPES = new Set([
  "long",
  "integer",
  "short",
  "byte",
  "float",
  "half_float",
  "scaled_float",
  "double",
]);
const INTEGER_TYPES = new Set(["long", "integer", "short", "byte"]);
const OBJECT_TYPES = new Set(["object", "flattened", "nested"]);
const ENUM_FIELDS = ["event.kind", "event.category", "event.type", "event.outcome"];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Why `value` does not fit ECS type `type`, or undefined when it does. */
function typeProblem(type: string, value: unknown): string | undefined {
  if (STRING_TYPES.has(type)) return typeof value === "string" ? undefined : `expected a string (${type})`;
  if (NUMBER_TYPES.has(type)) {
    if (typeof value !== "number" || !Number.isFinite(value)) return `expected a number (${type})`;
    if (INTEGER_TYPES.has(type) && !Number.isInteger(value)) return `expected an integer (${type})`;
    return undefined;
  }
  switch (type) {
    case "date":
      return typeof value === "string" && ISO_DATE.test(value) && !Number.isNaN(Date.parse(value))
        ? undefined
        : "expected an ISO-8601 date string";
    case "ip":
      return typeof value === "string" && isIP(value) !== 0 ? undefined : "expected an IP address";
    case "boolean":
      return typeof value === "boolean" ? undefined : "expected a boolean";
    case "geo_point":
      return isPlainObject(value) || typeof value === "string" ? undefined : "expected a geo_point";
    default:
      if (OBJECT_TYPES.has(type)) return isPlainObject(value) ? undefined : `expected an object (${type})`;
      return undefined; // types the list may gain later: accept rather than guess
  }
}

/**
 * Validates an ECS document. Returns every problem found (empty when the document is valid):
 * unknown field names, values of the wrong type, values outside `allowed_values`, `event.type`
 * values no category expects, and empty values (`null`, `""`, `[]`, `{}`) that medsoc never emits.
 */
export function validateEcs(doc: unknown, options: ValidateOptions = {}): EcsProblem[] {
  const fields = loadEcsFields();
  const custom = new Set(options.customNamespaces ?? DEFAULT_CUSTOM_NAMESPACES);
  const problems: EcsProblem[] = [];
  if (!isPlainObject(doc)) return [{ field: "", message: "document is not an object" }];
  const values = new Map<string, unknown[]>();

  const checkLeaf = (path: string, value: unknown): void => {
    const field = fields.get(path);
    if (field === undefined) {
      problems.push({ field: path, message: "not an ECS field" });
      return;
    }
    const problem = typeProblem(field.type, value);
    if (problem !== undefined)
      problems.push({ field: path, message: `${problem}, got ${JSON.stringify(value)}` });
    const list = values.get(path);
    if (list === undefined) values.set(path, [value]);
    else list.push(value);
  };

  const walk = (path: string, value: unknown): void => {
    if (value === null || value === undefined || value === "") {
      problems.push({ field: path, message: "empty value (null or empty string)" });
      return;
    }
    const field = fields.get(path);
    if (Array.isArray(value)) {
      if (value.length === 0) problems.push({ field: path, message: "empty array" });
      for (const item of value) walk(path, item);
      return;
    }
    if (isPlainObject(value)) {
      if (Object.keys(value).length === 0) {
        problems.push({ field: path, message: "empty object" });
        return;
      }
      if (field !== undefined && OBJECT_TYPES.has(field.type)) return; // object-typed ECS field
      if (field?.type === "geo_point") {
        checkLeaf(path, value); // {lat, lon}
        return;
      }
      for (const [key, child] of Object.entries(value)) walk(path === "" ? key : `${path}.${key}`, child);
      return;
    }
    checkLeaf(path, value);
  };

  for (const [key, value] of Object.entries(doc)) {
    if (custom.has(key)) continue;
    walk(key, value);
  }

  for (const name of ENUM_FIELDS) {
    const allowed = fields.get(name)?.allowedValues;
    for (const v of values.get(name) ?? []) {
      if (allowed !== undefined && !allowed.has(String(v))) {
        problems.push({ field: name, message: `value ${JSON.stringify(v)} is not allowed` });
      }
    }
  }
  const categories = (values.get("event.category") ?? []).map(String);
  const expected = fields.get("event.category")?.expectedTypes;
  if (categories.length > 0 && expected !== undefined) {
    for (const t of (values.get("event.type") ?? []).map(String)) {
      if (ALWAYS_EXPECTED_EVENT_TYPES.includes(t)) continue;
      if (!categories.some((c) => expected.get(c)?.has(t))) {
        problems.push({
          field: "event.type",
          message: `"${t}" is not expected with event.category ${categories.join(",")}`,
        });
      }
    }
  }
  if (!("@timestamp" in doc)) problems.push({ field: "@timestamp", message: "required field missing" });
  return problems;
}

/** Formats problems for an assertion message. */
export function formatProblems(problems: readonly EcsProblem[]): string {
  return problems.map((p) => `${p.field}: ${p.message}`).join("\n");
}
