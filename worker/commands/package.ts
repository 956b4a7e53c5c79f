import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import * as tar from "tar";
import { parse } from "yaml";
import { ZipFile } from "yazl";
import { PermanentError } from "../../core/errors.ts";
import { ELASTIC_PACKAGE_DIR, SPLUNK_APP_DIR } from "../../integrations/paths.ts";
import {
  checkSourcePackage,
  dedupe,
  defaultReferenceDir,
  type EcsFlat,
  ecsReference,
  type FieldEntry,
  fieldsFolders,
  fieldsYaml,
  loadEcsFlat,
  markdownContent,
  renderReadme,
  resolveExternalFields,
  semanticProblems,
} from "../../integrations/tools/elastic-package-build.ts";
import { PackageSpec, type SpecProblem } from "../../integrations/tools/elastic-package-spec.ts";
import { lintSplunkApp } from "../../integrations/tools/splunk-app-lint.ts";
import { parseConf, settingValue } from "../../integrations/tools/splunk-conf.ts";

export { ELASTIC_PACKAGE_DIR, SPLUNK_APP_DIR };

/** A fixed mtime so two builds of the same sources give the same archive. */
const EPOCH = new Date("2026-01-01T00:00:00Z");

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".")) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...files(full));
    else out.push(full);
  }
  return out;
}

export interface PackageResult {
  file: string;
  entries: number;
  bytes: number;
}

/**
 * The oldest Splunk the app supports: its Dashboard Studio dashboards need 9.4 (issue 11). Declared
 * in app.manifest `platformRequirements`; the build refuses an app that does not declare it.
 */
export const SPLUNK_MIN_VERSION = "9.4.0";

export interface SplunkBuildOptions {
  /** Reference data folder (Splunk's .conf.spec files, CIM common fields). @defaultValue {@link defaultReferenceDir} */
  referenceDir?: string;
}

/**
 * The full offline check of the Splunk app: every .conf against Splunk's .conf.spec files (and the
 * app's README/*.conf.spec), the AppInspect checks that can run offline, props/CIM semantics.
 * Refuses to run without the spec files (a typo such as KV_MOD would otherwise pass).
 */
export function checkSplunkApp(appDir = SPLUNK_APP_DIR, options: SplunkBuildOptions = {}): SpecProblem[] {
  const referenceDir = options.referenceDir ?? defaultReferenceDir();
  const specDir = join(referenceDir, "splunk", "conf-specs");
  if (!existsSync(join(specDir, "props.conf.spec")))
    throw new PermanentError(
      `packaging the splunk app: Splunk's .conf.spec files are not at ${specDir}; pass --reference <dir> or set MEDSOC_REFERENCE_DIR (an app is never built unlinted)`,
    );
  return lintSplunkApp(appDir, {
    specDir,
    minSplunkVersion: SPLUNK_MIN_VERSION,
    commonFieldsFile: join(referenceDir, "splunk", "cim", "pytest_splunk_addon_CommonFields.json"),
  }).map((f) => ({
    path: f.line === undefined ? f.file : `${f.file}:${f.line}`,
    message: `${f.check}: ${f.message}`,
  }));
}

/**
 * Builds `<outDir>/medsoc-<version>.tgz`: the app folder at the archive root (AppInspect's layout),
 * no hidden files, directories 0755, `bin/` 0755, other files 0644, fixed mtime. Refuses to build
 * (a {@link PackageInvalidError} listing every finding, no archive) when {@link checkSplunkApp}
 * finds anything.
 */
export async function packageSplunk(
  outDir: string,
  appDir = SPLUNK_APP_DIR,
  options: SplunkBuildOptions = {},
): Promise<PackageResult> {
  const findings = checkSplunkApp(appDir, options);
  if (findings.length > 0) throw new PackageInvalidError("packaging the splunk app", findings);
  const app = parseConf(readFileSync(join(appDir, "default", "app.conf"), "utf8"));
  const id = settingValue(app, "package", "id") as string;
  const version = settingValue(app, "launcher", "version") as string;
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${id}-${version}.tgz`);
  const parent = resolve(appDir, "..");
  if (relative(parent, appDir) !== id)
    throw new PermanentError(`packaging the splunk app: the folder must be named like the app id ${id}`);
  const entries = files(appDir).map((f) => relative(parent, f).split(sep).join("/"));
  await tar.create(
    {
      gzip: { level: 9 },
      file,
      cwd: parent,
      portable: true,
      mtime: EPOCH,
      onWriteEntry: (entry) => {
        const isBin = entry.path.includes("/bin/");
        if (entry.stat) entry.stat.mode = entry.type === "Directory" || isBin ? 0o755 : 0o644;
      },
    },
    entries,
  );
  return { file, entries: entries.length, bytes: statSync(file).size };
}

/** A package that does not validate: every problem, each with its package-relative path. */
export class PackageInvalidError extends PermanentError {
  readonly problems: readonly SpecProblem[];
  constructor(what: string, problems: readonly SpecProblem[]) {
    super(
      `${what}: ${problems.length} problem(s), nothing was written:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join("\n")}`,
    );
    this.problems = problems;
  }
}

export interface ElasticBuildOptions {
  /** Reference data folder (package-spec and the ECS field list). @defaultValue {@link defaultReferenceDir} */
  referenceDir?: string;
}

/** package-spec and the ECS field list a package build needs, or a clear error naming what is missing. */
function elasticReference(packageDir: string, referenceDir: string) {
  const specRoot = join(referenceDir, "elastic", "package-spec", "spec");
  if (!existsSync(join(specRoot, "integration", "spec.yml")))
    throw new PermanentError(
      `packaging the elastic integration: package-spec is not at ${specRoot}; pass --reference <dir> or set MEDSOC_REFERENCE_DIR (a package is never built unvalidated)`,
    );
  const ecsVersion = ecsReference(packageDir);
  const ecs =
    ecsVersion && existsSync(join(referenceDir, "ecs", `ecs_flat-v${ecsVersion}.yml`))
      ? loadEcsFlat(referenceDir, ecsVersion)
      : undefined;
  return { specRoot, ecsVersion, ecs };
}

/**
 * Every problem of the source package: package-spec's schemas and folder rules, its semantic rules,
 * the ECS pin (`_dev/build/build.yml` must name an ECS version the reference has) and the generated
 * field tables of docs/README.md (stale = a problem).
 */
export function checkElasticPackage(
  packageDir = ELASTIC_PACKAGE_DIR,
  options: ElasticBuildOptions = {},
): SpecProblem[] {
  const referenceDir = options.referenceDir ?? defaultReferenceDir();
  const { specRoot, ecsVersion, ecs } = elasticReference(packageDir, referenceDir);
  const manifest = readManifest(packageDir);
  const spec = new PackageSpec(specRoot, manifest.format_version ?? "3.0.0");
  const problems = checkSourcePackage(packageDir, spec, ecs);
  if (!existsSync(join(packageDir, "_dev", "build", "build.yml")))
    problems.push({ path: "_dev/build", message: "build.yml is missing (dependencies.ecs.reference)" });
  else if (!ecsVersion)
    problems.push({
      path: "_dev/build/build.yml",
      message: "dependencies.ecs.reference must be git@v<major>.<minor>.<patch>",
    });
  else if (!ecs)
    problems.push({
      path: "_dev/build/build.yml",
      message: `ECS ${ecsVersion} is not in the reference (${join(referenceDir, "ecs")})`,
    });
  if (ecs && existsSync(join(packageDir, "_dev", "build", "docs", "README.md"))) {
    try {
      const current = existsSync(join(packageDir, "docs", "README.md"))
        ? readFileSync(join(packageDir, "docs", "README.md"), "utf8")
        : undefined;
      if (
        current !== undefined &&
        markdownContent(current) !== markdownContent(renderReadme(packageDir, ecs))
      )
        problems.push({
          path: "docs/README.md",
          message:
            "is stale: regenerate it from _dev/build/docs/README.md with `medsoc package elastic --docs`",
        });
    } catch (error) {
      problems.push({ path: "_dev/build/docs/README.md", message: (error as Error).message });
    }
  }
  return dedupe(problems);
}

function readManifest(packageDir: string): { name?: string; version?: string; format_version?: string } {
  try {
    return (parse(readFileSync(join(packageDir, "manifest.yml"), "utf8")) ?? {}) as {
      name?: string;
      version?: string;
      format_version?: string;
    };
  } catch {
    return {};
  }
}

/** Regenerates docs/README.md from `_dev/build/docs/README.md` (the field tables come from the fields files). */
export function writeElasticDocs(
  packageDir = ELASTIC_PACKAGE_DIR,
  options: ElasticBuildOptions = {},
): string {
  const referenceDir = options.referenceDir ?? defaultReferenceDir();
  const { ecs, ecsVersion } = elasticReference(packageDir, referenceDir);
  if (!ecs)
    throw new PermanentError(`generating the elastic docs: ECS ${ecsVersion ?? "(no pin)"} is not available`);
  const file = join(packageDir, "docs", "README.md");
  writeFileSync(file, renderReadme(packageDir, ecs));
  return file;
}

/**
 * Builds `<outDir>/medsoc-<version>.zip` the way elastic-package does: validates the source package
 * (everything {@link checkElasticPackage} checks), resolves every `external: ecs` field from the
 * pinned ECS version, leaves `_dev` out, validates the built tree again (no `external` left, every
 * field typed) and only then writes the archive, every file under `<name>-<version>/`. A package with
 * any problem gets a {@link PackageInvalidError} and no zip.
 */
export async function packageElastic(
  outDir: string,
  packageDir = ELASTIC_PACKAGE_DIR,
  options: ElasticBuildOptions = {},
): Promise<PackageResult> {
  const referenceDir = options.referenceDir ?? defaultReferenceDir();
  const problems = checkElasticPackage(packageDir, { referenceDir });
  if (problems.length > 0) throw new PackageInvalidError("packaging the elastic integration", problems);
  const { specRoot, ecs } = elasticReference(packageDir, referenceDir);
  const manifest = readManifest(packageDir) as { name: string; version: string; format_version: string };
  const root = `${manifest.name}-${manifest.version}`;
  const staging = mkdtempSync(join(tmpdir(), "medsoc-epkg-build-"));
  try {
    const built = join(staging, root);
    const fieldsFolderSet = new Set(fieldsFolders(packageDir));
    const list = files(packageDir).filter((f) => !relative(packageDir, f).split(sep).includes("_dev"));
    for (const f of list) {
      const r = relative(packageDir, f).split(sep).join("/");
      const target = join(built, r);
      mkdirSync(dirname(target), { recursive: true });
      const folder = r.slice(0, r.lastIndexOf("/"));
      if (fieldsFolderSet.has(folder) && /\.ya?ml$/.test(r)) {
        const unresolved: string[] = [];
        const fields = resolveExternalFields(
          (parse(readFileSync(f, "utf8")) ?? []) as FieldEntry[],
          ecs as EcsFlat,
          "",
          unresolved,
        );
        if (unresolved.length > 0)
          throw new PackageInvalidError(
            "packaging the elastic integration",
            unresolved.map((message) => ({ path: r, message })),
          );
        writeFileSync(target, fieldsYaml(fields));
      } else copyFileSync(f, target);
    }
    const spec = new PackageSpec(specRoot, manifest.format_version);
    const builtProblems = dedupe([
      ...spec.validatePackage(built),
      ...semanticProblems(built, { built: true, ...(ecs ? { ecs } : {}) }),
    ]);
    if (builtProblems.length > 0)
      throw new PackageInvalidError("packaging the elastic integration (built package)", builtProblems);
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `${root}.zip`);
    const zip = new ZipFile();
    const builtFiles = files(built);
    for (const f of builtFiles)
      zip.addFile(f, `${root}/${relative(built, f).split(sep).join("/")}`, { mtime: EPOCH, mode: 0o100644 });
    zip.end();
    await pipeline(zip.outputStream, createWriteStream(file));
    return { file, entries: builtFiles.length, bytes: statSync(file).size };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** `medsoc package splunk` (declared in worker/cli/package.ts). */
export async function packageSplunkAction(opts: {
  out: string;
  reference?: string;
  source: string;
}): Promise<void> {
  const r = await packageSplunk(opts.out, resolve(opts.source), {
    ...(opts.reference ? { referenceDir: resolve(opts.reference) } : {}),
  });
  process.stdout.write(`${r.file} (${r.entries} files, ${r.bytes} bytes)\n`);
}

/** `medsoc package elastic`. */
export async function packageElasticAction(opts: {
  out: string;
  reference?: string;
  docs?: boolean;
  source: string;
}): Promise<void> {
  const source = resolve(opts.source);
  if (!existsSync(join(source, "manifest.yml")))
    throw new PermanentError(`no package manifest.yml in ${source}`);
  const options = opts.reference ? { referenceDir: resolve(opts.reference) } : {};
  if (opts.docs) process.stdout.write(`${writeElasticDocs(source, options)}\n`);
  const r = await packageElastic(opts.out, source, options);
  process.stdout.write(`${r.file} (${r.entries} files, ${r.bytes} bytes)\n`);
}
