/** Small readers over a mapped document (dotted paths, first value of a list). */

const PATHS = new Map<string, string[]>();

/** The value at a dotted path of a nested document, or undefined. */
export function at(doc: unknown, path: string): unknown {
  let parts = PATHS.get(path);
  if (parts === undefined) {
    parts = path.split(".");
    if (PATHS.size < 10_000) PATHS.set(path, parts);
  }
  let cur: unknown = doc;
  for (const part of parts) {
    if (typeof cur !== "object" || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** The first string at a path (a string, or the first string of a list). */
export function firstString(doc: unknown, path: string): string | undefined {
  const v = at(doc, path);
  if (typeof v === "string") return v.trim() === "" ? undefined : v;
  if (Array.isArray(v)) for (const x of v) if (typeof x === "string" && x.trim() !== "") return x;
  return undefined;
}

/** Every string at a path. */
export function strings(doc: unknown, path: string): string[] {
  const v = at(doc, path);
  if (typeof v === "string") return v.trim() === "" ? [] : [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string" && x.trim() !== "");
  return [];
}

/** A finite number at a path (numeric strings accepted). */
export function number(doc: unknown, path: string): number | undefined {
  const v = at(doc, path);
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v === "string" && v.trim() !== "") {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** A boolean at a path (`true`/`false`, `"yes"`/`"no"`, 1/0). */
export function boolean(doc: unknown, path: string): boolean | undefined {
  const v = at(doc, path);
  if (typeof v === "boolean") return v;
  if (v === 1 || v === "1" || v === "true" || v === "yes" || v === "Yes" || v === "True") return true;
  if (v === 0 || v === "0" || v === "false" || v === "no" || v === "No" || v === "False") return false;
  return undefined;
}

/** The `medsoc.<name>` object of a document, created when missing. */
export function medsocObject(
  doc: { medsoc: Record<string, unknown> },
  name: string,
): Record<string, unknown> {
  const existing = doc.medsoc[name];
  if (typeof existing === "object" && existing !== null && !Array.isArray(existing))
    return existing as Record<string, unknown>;
  const created: Record<string, unknown> = {};
  doc.medsoc[name] = created;
  return created;
}
