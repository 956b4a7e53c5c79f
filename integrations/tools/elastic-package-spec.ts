/**
 * Validates an Elastic integration package folder against elastic/package-spec, offline: the
 * `*.spec.yml` files are JSON Schema written as YAML (`{spec, versions: [{before, patch}]}`); patches
 * whose `before` is newer than the package's `format_version` are applied (RFC 6902); file schemas
 * are compiled with ajv (relative `$ref`s resolved between spec files); folder specs (`contents`,
 * `name`/`pattern`, `required`, `additionalContents`, `forbiddenPatterns`) are walked here.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import jsonPatch from "fast-json-patch";
import { parse } from "yaml";

const BASE = "https://package-spec.invalid/";

interface SpecFile {
  spec: Record<string, unknown>;
  versions?: { before: string; patch: jsonPatch.Operation[] }[];
}

interface ContentSpec {
  type: "file" | "folder";
  name?: string;
  pattern?: string;
  required?: boolean;
  additionalContents?: boolean;
  forbiddenPatterns?: string[];
  contents?: ContentSpec[];
  contentMediaType?: string;
  $ref?: string;
  visibility?: string;
}

/** One problem, with the package-relative path it is about. */
export interface SpecProblem {
  path: string;
  message: string;
}

function semverLess(a: string, b: string): boolean {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) < (pb[i] ?? 0);
  return false;
}

function walkFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...walkFiles(full));
    else out.push(full);
  }
  return out;
}

/** Loads every spec file of `<specRoot>/integration`, patched for `formatVersion`. */
export class PackageSpec {
  readonly #specs = new Map<string, Record<string, unknown>>();
  readonly #ajv: Ajv;
  readonly #compiled = new Map<string, ValidateFunction>();

  constructor(specRoot: string, formatVersion: string) {
    this.#ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    this.#ajv.addFormat("relative-path", true);
    this.#ajv.addFormat("data-stream-name", /^([a-z0-9]{2}|[a-z0-9][a-z0-9_]+[a-z0-9])$/);
    for (const file of walkFiles(join(specRoot, "integration")).filter((f) => f.endsWith(".yml"))) {
      const rel = relative(specRoot, file).split(sep).join("/");
      const doc = parse(readFileSync(file, "utf8")) as SpecFile;
      let spec = structuredClone(doc.spec ?? {});
      for (const v of doc.versions ?? [])
        if (semverLess(formatVersion, v.before))
          spec = jsonPatch.applyPatch(spec, v.patch, false, false).newDocument;
      this.#specs.set(rel, spec);
      if (!rel.endsWith("/spec.yml") || rel.endsWith("_dev/spec.yml"))
        this.#ajv.addSchema({ ...spec, $id: BASE + rel });
    }
  }

  /** The (patched) spec of a file, by its path relative to the spec root. */
  spec(rel: string): Record<string, unknown> {
    const s = this.#specs.get(rel);
    if (!s) throw new Error(`package-spec: no ${rel}`);
    return s;
  }

  /** Validates data against the schema file `rel` (e.g. `integration/manifest.spec.yml`). */
  validate(rel: string, data: unknown): string[] {
    let fn = this.#compiled.get(rel);
    if (!fn) {
      fn = this.#ajv.getSchema(BASE + rel);
      if (!fn) throw new Error(`package-spec: schema ${rel} is not loaded`);
      this.#compiled.set(rel, fn);
    }
    return fn(data)
      ? []
      : (fn.errors ?? []).map(
          (e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`,
        );
  }

  /** Validates a package folder: layout and every file that has a schema. */
  validatePackage(packageDir: string): SpecProblem[] {
    // The name only expands {PACKAGE_NAME} patterns; an unreadable manifest is reported by the walk.
    let manifest: { name?: string } = {};
    try {
      manifest = (parse(readFileSync(join(packageDir, "manifest.yml"), "utf8")) ?? {}) as { name?: string };
    } catch {}
    const problems: SpecProblem[] = [];
    const root = this.spec("integration/spec.yml") as unknown as ContentSpec;
    this.#walk(packageDir, "", root, "integration/spec.yml", manifest.name ?? "", problems);
    return problems;
  }

  #walk(
    dir: string,
    relDir: string,
    folder: ContentSpec,
    specPath: string,
    pkg: string,
    problems: SpecProblem[],
  ) {
    const entries = existsSync(dir) ? readdirSync(dir) : [];
    const contents = folder.contents ?? [];
    const matched = new Set<ContentSpec>();
    for (const entry of entries) {
      const full = join(dir, entry);
      const rel = relDir ? `${relDir}/${entry}` : entry;
      const isDir = statSync(full).isDirectory();
      const item = contents.find((c) => {
        if (c.type !== (isDir ? "folder" : "file")) return false;
        if (c.name !== undefined) return c.name === entry;
        if (c.pattern !== undefined)
          return new RegExp(c.pattern.replaceAll("{PACKAGE_NAME}", pkg)).test(entry);
        return false;
      });
      if (!item) {
        if (folder.additionalContents !== true)
          problems.push({
            path: rel,
            message: `not allowed here (${isDir ? "folder" : "file"} matches nothing in ${specPath})`,
          });
        continue;
      }
      matched.add(item);
      for (const f of item.forbiddenPatterns ?? [])
        if (new RegExp(f).test(entry))
          problems.push({ path: rel, message: `name matches the forbidden pattern ${f}` });
      const refBase = specPath.slice(0, specPath.lastIndexOf("/") + 1);
      if (isDir) {
        if (item.$ref) {
          const target = resolveRel(refBase, item.$ref);
          const sub = { ...(this.spec(target) as unknown as ContentSpec) };
          this.#walk(full, rel, sub, target, pkg, problems);
        } else if (item.contents) this.#walk(full, rel, item, specPath, pkg, problems);
        continue;
      }
      const text = readFileSync(full, "utf8");
      let data: unknown;
      try {
        if (item.contentMediaType?.startsWith("application/x-yaml")) {
          if (item.contentMediaType.includes("require-document-dashes=true") && !text.startsWith("---"))
            problems.push({ path: rel, message: "YAML document must start with ---" });
          data = parse(text);
        } else if (item.contentMediaType === "application/json") data = JSON.parse(text);
      } catch (error) {
        problems.push({ path: rel, message: `cannot be parsed: ${(error as Error).message}` });
        continue;
      }
      if (item.$ref && data !== undefined) {
        const [file, pointer] = item.$ref.split("#");
        const target = resolveRel(refBase, file as string);
        const errors = pointer ? this.#validatePointer(target, pointer, data) : this.validate(target, data);
        for (const e of errors) problems.push({ path: rel, message: e });
      }
    }
    for (const c of contents)
      if (c.required && !matched.has(c))
        problems.push({
          path: relDir || ".",
          message: `required ${c.type} ${c.name ?? c.pattern} is missing`,
        });
  }

  #validatePointer(target: string, pointer: string, data: unknown): string[] {
    const fn = this.#ajv.getSchema(`${BASE}${target}#${pointer}`);
    if (!fn) throw new Error(`package-spec: no schema ${target}#${pointer}`);
    return fn(data) ? [] : (fn.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`);
  }
}

function resolveRel(base: string, ref: string): string {
  const parts = (base + ref).split("/");
  const out: string[] = [];
  for (const p of parts) {
    if (p === "." || p === "") continue;
    if (p === "..") out.pop();
    else out.push(p);
  }
  return out.join("/");
}

/** A declared field: its full name, type, and whether it covers every sub-path (flattened/object). */
export interface DeclaredField {
  name: string;
  type?: string;
  external?: string;
}

/** Flattens fields files (groups nest with `fields`; dotted names allowed). */
export function declaredFields(fieldsFiles: string[]): DeclaredField[] {
  const out: DeclaredField[] = [];
  const walk = (list: Record<string, unknown>[], prefix: string) => {
    for (const f of list) {
      const name = prefix ? `${prefix}.${f.name as string}` : (f.name as string);
      if (Array.isArray(f.fields)) walk(f.fields as Record<string, unknown>[], name);
      else
        out.push({
          name,
          ...(typeof f.type === "string" ? { type: f.type } : {}),
          ...(typeof f.external === "string" ? { external: f.external } : {}),
        });
    }
  };
  for (const file of fieldsFiles)
    walk((parse(readFileSync(file, "utf8")) as Record<string, unknown>[]) ?? [], "");
  return out;
}
