/**
 * Builds and checks the Elastic integration package the way `elastic-package build` and
 * `elastic-package check` do, offline:
 * - resolves every `external: ecs` field from the ECS version `_dev/build/build.yml` pins (type,
 *   description, pattern, multi-fields, index/doc_values, object_type, scaling_factor), keeping the
 *   package's own overrides except the type (Fleet maps an untyped field as `keyword`);
 * - runs package-spec's semantic rules that its JSON schemas cannot express (version integrity,
 *   unique fields, required base fields, Kibana object ids, dashboard dataset filters, files the
 *   manifest references, externals only on ECS fields and only with a build manifest);
 * - renders the field tables of `docs/README.md` from `_dev/build/docs/README.md`
 *   (`{{fields "<data stream>"}}`), as elastic-package does.
 *
 * The ECS field list (Apache-2.0) and package-spec (Elastic License) are read from the reference
 * folder, never copied into the package.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve, sep } from "node:path";
import { parse, stringify } from "yaml";
import type { PackageSpec, SpecProblem } from "./elastic-package-spec.ts";

/** One entry of a fields file, as written (the keys medsoc uses; others are kept as they are). */
export interface FieldEntry {
  name: string;
  type?: string;
  description?: string;
  external?: string;
  fields?: FieldEntry[];
  [key: string]: unknown;
}

/** One field of ECS's flat field list (`ecs_flat.yml`). */
export interface EcsFlatField {
  type: string;
  description?: string;
  pattern?: string;
  object_type?: string;
  scaling_factor?: number;
  index?: boolean;
  doc_values?: boolean;
  multi_fields?: { name: string; type: string }[];
}

export type EcsFlat = ReadonlyMap<string, EcsFlatField>;

/** Where the reference data lives: `MEDSOC_REFERENCE_DIR`, else `../shared/reference/data` beside the repository. */
export function defaultReferenceDir(): string {
  return resolve(
    process.env.MEDSOC_REFERENCE_DIR ??
      resolve(import.meta.dirname, "..", "..", "..", "shared", "reference", "data"),
  );
}

/** The ECS version a package pins in `_dev/build/build.yml` (`git@v9.4.0` → `9.4.0`). */
export function ecsReference(packageDir: string): string | undefined {
  const file = join(packageDir, "_dev", "build", "build.yml");
  if (!existsSync(file)) return undefined;
  const build = parse(readFileSync(file, "utf8")) as { dependencies?: { ecs?: { reference?: string } } };
  return /^git@v?(\d+\.\d+\.\d+)$/.exec(build?.dependencies?.ecs?.reference ?? "")?.[1];
}

const ecsCache = new Map<string, EcsFlat>();

/** Loads `ecs/ecs_flat-v<version>.yml` from the reference folder (once per file). */
export function loadEcsFlat(referenceDir: string, version: string): EcsFlat {
  const file = join(referenceDir, "ecs", `ecs_flat-v${version}.yml`);
  let flat = ecsCache.get(file);
  if (!flat) {
    if (!existsSync(file)) throw new Error(`no ECS ${version} field list at ${file}`);
    flat = new Map(Object.entries(parse(readFileSync(file, "utf8")) as Record<string, EcsFlatField>));
    ecsCache.set(file, flat);
  }
  return flat;
}

/** Type overrides elastic-package accepts on an imported field (a fixed value; an object as group or nested). */
const TYPE_OVERRIDES: ReadonlySet<string> = new Set([
  "keyword>constant_keyword",
  "object>group",
  "object>nested",
]);

/** The ECS definition of one field, as a fields-file entry (no `external`). */
function imported(name: string, ecs: EcsFlatField): FieldEntry {
  const out: FieldEntry = { name, type: ecs.type };
  if (ecs.object_type) out.object_type = ecs.object_type;
  if (ecs.description) out.description = ecs.description;
  if (ecs.pattern) out.pattern = ecs.pattern;
  if (ecs.scaling_factor !== undefined) out.scaling_factor = ecs.scaling_factor;
  if (ecs.index !== undefined) out.index = ecs.index;
  if (ecs.doc_values !== undefined) out.doc_values = ecs.doc_values;
  if (ecs.multi_fields?.length)
    out.multi_fields = ecs.multi_fields.map((m) => ({ name: m.name, type: m.type }));
  return out;
}

/**
 * Replaces every `external: ecs` entry with its ECS definition; entries keep their own keys except
 * `type` (unless an allowed override). Unknown fields are reported, never guessed.
 */
export function resolveExternalFields(
  entries: readonly FieldEntry[],
  ecs: EcsFlat,
  prefix = "",
  problems: string[] = [],
): FieldEntry[] {
  return entries.map((entry) => {
    if (entry === null || typeof entry !== "object" || typeof entry.name !== "string") return entry; // the schema reports it
    const full = prefix ? `${prefix}.${entry.name}` : entry.name;
    if (entry.external !== undefined) {
      if (entry.external !== "ecs") {
        problems.push(`${full}: external schema ${entry.external} is not a dependency (only ecs)`);
        return entry;
      }
      const def = ecs.get(full);
      if (!def) {
        problems.push(`${full}: external: ecs, but ECS has no field ${full}`);
        return entry;
      }
      const { external: _external, ...own } = entry;
      const out: FieldEntry = { ...imported(entry.name, def), ...own };
      if (!(own.type && TYPE_OVERRIDES.has(`${def.type}>${own.type}`))) out.type = def.type;
      return out;
    }
    if (Array.isArray(entry.fields))
      return { ...entry, fields: resolveExternalFields(entry.fields, ecs, full, problems) };
    return entry;
  });
}

/** Flattens a fields list to `[full name, entry]` (groups nest with `fields`; dotted names allowed). */
export function flattenFields(entries: readonly FieldEntry[], prefix = ""): [string, FieldEntry][] {
  const out: [string, FieldEntry][] = [];
  for (const e of entries) {
    if (e === null || typeof e !== "object" || typeof e.name !== "string") continue; // the schema reports it
    const full = prefix ? `${prefix}.${e.name}` : e.name;
    if (Array.isArray(e.fields) && e.external === undefined) out.push(...flattenFields(e.fields, full));
    else out.push([full, e]);
  }
  return out;
}

function list(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

function readYaml(file: string): { data?: unknown; error?: string } {
  try {
    return { data: parse(readFileSync(file, "utf8")) };
  } catch (error) {
    return { error: (error as Error).message.split("\n")[0] as string };
  }
}

function readJson(file: string): { data?: unknown; error?: string } {
  try {
    return { data: JSON.parse(readFileSync(file, "utf8")) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

function semverParts(v: string): number[] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-(.+))?$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function semverCompare(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

/** Folders that hold fields files: every data stream's and every transform's. */
export function fieldsFolders(packageDir: string): string[] {
  return [
    ...list(join(packageDir, "data_stream")).map((s) => join("data_stream", s, "fields")),
    ...list(join(packageDir, "elasticsearch", "transform")).map((t) =>
      join("elasticsearch", "transform", t, "fields"),
    ),
  ]
    .filter((d) => existsSync(join(packageDir, d)) && statSync(join(packageDir, d)).isDirectory())
    .map((d) => d.split(sep).join("/"));
}

export interface SemanticOptions {
  /** ECS field list to check `external: ecs` fields against (none: only the build manifest is checked). */
  ecs?: EcsFlat;
  /** The package is a built one: no `external` may be left, no `_dev` may be present. */
  built?: boolean;
}

/** package-spec's limit of declared fields per data stream. */
export const FIELDS_LIMIT = 1024;

/** Base fields every data stream declares, with the type package-spec expects. */
const REQUIRED_BASE_FIELDS: Record<string, string> = {
  "data_stream.type": "constant_keyword",
  "data_stream.dataset": "constant_keyword",
  "data_stream.namespace": "constant_keyword",
  "@timestamp": "date",
};

/**
 * package-spec's semantic rules (the ones that apply to this package's shape). Every problem comes
 * with the package-relative path of the file it is about.
 */
export function semanticProblems(packageDir: string, options: SemanticOptions = {}): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  const manifestFile = join(packageDir, "manifest.yml");
  const manifest = existsSync(manifestFile) ? readYaml(manifestFile) : { error: "missing" };
  const m = (manifest.data ?? {}) as {
    name?: string;
    version?: string;
    icons?: { src?: string }[];
    screenshots?: { src?: string }[];
    policy_templates?: { icons?: { src?: string }[]; screenshots?: { src?: string }[] }[];
  };
  // An unreadable or missing manifest.yml is reported by the schema walk (checkSourcePackage).

  // Version integrity: the newest changelog entry is the manifest version; entries descend.
  const changelogFile = join(packageDir, "changelog.yml");
  if (existsSync(changelogFile)) {
    const changelog = readYaml(changelogFile);
    const entries = Array.isArray(changelog.data) ? (changelog.data as { version?: unknown }[]) : [];
    if (changelog.error) add("changelog.yml", `cannot be read: ${changelog.error}`);
    else if (entries.length === 0) add("changelog.yml", "has no entries");
    else {
      const top = String(entries[0]?.version ?? "");
      if (m.version !== undefined && top !== String(m.version))
        add(
          "changelog.yml",
          `version integrity: the newest changelog entry is ${top}, the manifest version is ${m.version}`,
        );
      for (let i = 1; i < entries.length; i++) {
        const a = semverParts(String(entries[i - 1]?.version ?? ""));
        const b = semverParts(String(entries[i]?.version ?? ""));
        if (a && b && semverCompare(a, b) <= 0)
          add(
            "changelog.yml",
            `version integrity: entry ${i + 1} (${entries[i]?.version}) is not older than entry ${i} (${entries[i - 1]?.version})`,
          );
      }
    }
  }

  // Files the manifest references (icons, screenshots) exist.
  const refs = [
    ...(m.icons ?? []).map((x) => ["icons", x.src] as const),
    ...(m.screenshots ?? []).map((x) => ["screenshots", x.src] as const),
    ...(m.policy_templates ?? []).flatMap((p) => [
      ...(p.icons ?? []).map((x) => ["policy_templates icons", x.src] as const),
      ...(p.screenshots ?? []).map((x) => ["policy_templates screenshots", x.src] as const),
    ]),
  ];
  for (const [what, src] of refs)
    if (typeof src === "string" && !existsSync(join(packageDir, src.replace(/^\/+/, ""))))
      add("manifest.yml", `${what}: ${src} does not exist in the package`);

  // Fields: parseable, unique per data stream, required base fields, externals.
  const buildManifest = existsSync(join(packageDir, "_dev", "build", "build.yml"));
  for (const folder of fieldsFolders(packageDir)) {
    const seen = new Map<string, string>();
    const isDataStream = folder.startsWith("data_stream/");
    for (const file of list(join(packageDir, folder)).filter((f) => /\.ya?ml$/.test(f))) {
      const path = `${folder}/${file}`;
      const parsed = readYaml(join(packageDir, folder, file));
      if (parsed.error) {
        add(path, `cannot be parsed: ${parsed.error}`);
        continue;
      }
      if (!Array.isArray(parsed.data)) continue; // the schema check reports the shape
      for (const [name, entry] of flattenFields(parsed.data as FieldEntry[])) {
        const first = seen.get(name);
        if (first !== undefined)
          add(
            path,
            `unique fields: ${name} is declared more than once in ${folder}${first === path ? "" : ` (also in ${first})`}`,
          );
        else seen.set(name, path);
        if (entry.external !== undefined) {
          if (options.built) add(path, `${name}: external: ${entry.external} is left in a built package`);
          else if (!buildManifest)
            add(
              path,
              `${name}: external: ${entry.external} needs _dev/build/build.yml with dependencies.${entry.external}.reference`,
            );
          if (entry.external === "ecs" && options.ecs && !options.ecs.has(name))
            add(path, `${name}: external: ecs, but ECS has no field ${name}`);
        } else if (
          options.built &&
          entry.type === undefined &&
          !Array.isArray(entry.fields) &&
          entry.value === undefined
        )
          add(path, `${name}: no type (Fleet would map it as keyword)`);
      }
    }
    if (seen.size > FIELDS_LIMIT)
      add(folder, `fields limit: ${seen.size} fields declared, at most ${FIELDS_LIMIT} per data stream`);
    if (isDataStream)
      for (const [name, type] of Object.entries(REQUIRED_BASE_FIELDS)) {
        const where = seen.get(name);
        if (!where) add(folder, `required fields: ${name} is not declared`);
        else {
          const parsed = readYaml(join(packageDir, where)).data as FieldEntry[];
          const entry = flattenFields(parsed).find(([n]) => n === name)?.[1];
          const actual = entry?.external === "ecs" ? options.ecs?.get(name)?.type : entry?.type;
          if (actual !== undefined && actual !== type)
            add(where, `required fields: ${name} must be ${type}, is ${actual}`);
        }
      }
  }

  // ILM policy named in a data stream manifest: <type>-<package>.<data stream>-<file>, defined in
  // elasticsearch/ilm/<file>.json of that data stream.
  for (const ds of list(join(packageDir, "data_stream"))) {
    const file = join(packageDir, "data_stream", ds, "manifest.yml");
    if (!existsSync(file)) continue;
    const parsed = readYaml(file);
    const dm = (parsed.data ?? {}) as { type?: string; ilm_policy?: string };
    if (parsed.error || typeof dm.ilm_policy !== "string" || m.name === undefined) continue;
    const path = `data_stream/${ds}/manifest.yml`;
    const prefix = `${dm.type}-${m.name}.${ds}-`;
    if (!dm.ilm_policy.startsWith(prefix))
      add(path, `ilm_policy must start with ${prefix}, is ${dm.ilm_policy}`);
    else {
      const policy = `data_stream/${ds}/elasticsearch/ilm/${dm.ilm_policy.slice(prefix.length)}.json`;
      if (!existsSync(join(packageDir, policy)))
        add(path, `ilm_policy ${dm.ilm_policy} is not defined: expected ${policy}`);
    }
  }

  // Kibana saved objects: id == file name; dashboards filter by dataset.
  for (const type of list(join(packageDir, "kibana"))) {
    const dir = join(packageDir, "kibana", type);
    if (!statSync(dir).isDirectory()) continue;
    for (const file of list(dir).filter((f) => f.endsWith(".json"))) {
      const path = `kibana/${type}/${file}`;
      const parsed = readJson(join(dir, file));
      if (parsed.error) {
        add(path, `cannot be parsed: ${parsed.error}`);
        continue;
      }
      const object = parsed.data as { id?: string; attributes?: Record<string, unknown> };
      if (object?.id !== basename(file, ".json"))
        add(path, `kibana object id ${JSON.stringify(object?.id)} does not match the file name`);
      if (type === "dashboard") {
        const problem = dashboardFilterProblem(object?.attributes ?? {});
        if (problem) add(path, problem);
      }
    }
  }

  if (options.built && existsSync(join(packageDir, "_dev")))
    add("_dev", "development files are left in a built package");
  if (m.name !== undefined && !/^[a-z0-9_]+$/.test(m.name)) add("manifest.yml", `bad package name ${m.name}`);
  return problems;
}

/** Why a dashboard does not restrict itself to the package's datasets (undefined when it does). */
function dashboardFilterProblem(attributes: Record<string, unknown>): string | undefined {
  const mentionsDataset = (x: unknown) => /"(?:data_stream|event)\.dataset"/.test(JSON.stringify(x ?? null));
  const meta = attributes.kibanaSavedObjectMeta as { searchSourceJSON?: unknown } | undefined;
  let search: { filter?: unknown[]; query?: { query?: string } } = {};
  try {
    search =
      typeof meta?.searchSourceJSON === "string"
        ? JSON.parse(meta.searchSourceJSON)
        : ((meta?.searchSourceJSON as typeof search) ?? {});
  } catch {
    return "dashboard searchSourceJSON cannot be parsed";
  }
  if ((search.filter ?? []).some(mentionsDataset)) return undefined;
  let panels: { embeddableConfig?: { attributes?: { state?: { filters?: unknown[] } } } }[] = [];
  try {
    panels = JSON.parse(String(attributes.panelsJSON ?? "[]"));
  } catch {
    return "dashboard panelsJSON cannot be parsed";
  }
  const byValue = panels.filter((p) => p.embeddableConfig?.attributes?.state);
  if (
    byValue.length > 0 &&
    byValue.every((p) => (p.embeddableConfig?.attributes?.state?.filters ?? []).some(mentionsDataset))
  )
    return undefined;
  return "expected filter in dashboard: no data_stream.dataset (or event.dataset) filter on the dashboard or on every panel";
}

/** The resolved fields of one fields folder (all files, in file order). */
export function resolvedFolderFields(packageDir: string, folder: string, ecs: EcsFlat): FieldEntry[] {
  const out: FieldEntry[] = [];
  for (const file of list(join(packageDir, folder)).filter((f) => /\.ya?ml$/.test(f)))
    out.push(
      ...resolveExternalFields(
        (parse(readFileSync(join(packageDir, folder, file), "utf8")) ?? []) as FieldEntry[],
        ecs,
      ),
    );
  return out;
}

function escapeCell(text: string): string {
  return text.replace(/\s+/g, " ").replace(/\|/g, "\\|").trim();
}

/** A Markdown table of a fields folder: field, description, type. */
export function fieldsTable(fields: readonly FieldEntry[]): string {
  const rows = flattenFields(fields)
    .map(([name, e]) => [name, escapeCell(String(e.description ?? "")), String(e.type ?? "")] as const)
    .sort((a, b) => a[0].localeCompare(b[0]));
  return [
    "| Field | Description | Type |",
    "|---|---|---|",
    ...rows.map(([n, d, t]) => `| ${n} | ${d} | ${t} |`),
  ].join("\n");
}

/**
 * Renders `docs/README.md` from `_dev/build/docs/README.md`: `{{fields "<data stream>"}}` becomes
 * the table of that data stream's resolved fields, `{{fields "transform/<name>"}}` a transform's.
 */
export function renderReadme(packageDir: string, ecs: EcsFlat): string {
  const template = readFileSync(join(packageDir, "_dev", "build", "docs", "README.md"), "utf8");
  const body = template.replace(/\{\{\s*fields\s+"([a-z0-9_/]+)"\s*\}\}/g, (_all, name: string) => {
    const folder = name.startsWith("transform/")
      ? `elasticsearch/transform/${name.slice("transform/".length)}/fields`
      : `data_stream/${name}/fields`;
    if (!existsSync(join(packageDir, folder))) throw new Error(`docs template: no fields folder ${folder}`);
    return fieldsTable(resolvedFolderFields(packageDir, folder, ecs));
  });
  return `<!-- Generated from _dev/build/docs/README.md by medsoc package elastic --docs; do not edit. -->\n${body}`;
}

/**
 * Markdown compared without its table layout: the repository's formatter (biome) pads table cells
 * and separator rows, which changes no content.
 */
export function markdownContent(text: string): string {
  return text
    .split("\n")
    .map((line) =>
      line.trimStart().startsWith("|")
        ? line
            .trim()
            .split(/(?<!\\)\|/)
            .map((c) => (/^\s*:?-+:?\s*$/.test(c) ? "---" : c.trim()))
            .join("|")
        : line.trimEnd(),
    )
    .join("\n")
    .trim();
}

/** Serialises a resolved fields list the way the package's fields files are written. */
export function fieldsYaml(fields: readonly FieldEntry[]): string {
  return stringify(fields, { lineWidth: 0 });
}

/** Every problem of a source package folder: package-spec schemas and folder rules, then the semantic rules. */
export function checkSourcePackage(packageDir: string, spec: PackageSpec, ecs?: EcsFlat): SpecProblem[] {
  const problems: SpecProblem[] = [];
  try {
    problems.push(...spec.validatePackage(packageDir));
  } catch (error) {
    problems.push({
      path: "manifest.yml",
      message: `cannot be validated: ${(error as Error).message.split("\n")[0]}`,
    });
  }
  problems.push(...semanticProblems(packageDir, ecs ? { ecs } : {}));
  return dedupe(problems);
}

export function dedupe(problems: readonly SpecProblem[]): SpecProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.path}\u0000${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
