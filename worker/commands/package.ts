import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Command } from "commander";
import * as tar from "tar";
import { parse } from "yaml";
import { ZipFile } from "yazl";
import { PermanentError } from "../../core/errors.ts";
import { lintSplunkApp } from "../../integrations/tools/splunk-app-lint.ts";
import { parseConf, settingValue } from "../../integrations/tools/splunk-conf.ts";

const INTEGRATIONS = resolve(import.meta.dirname, "..", "..", "integrations");
/** The Splunk app folder (its name is the app id). */
export const SPLUNK_APP_DIR = join(INTEGRATIONS, "splunk", "medsoc");
/** The Elastic integration package folder. */
export const ELASTIC_PACKAGE_DIR = join(INTEGRATIONS, "elastic", "medsoc");

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
 * Builds `<outDir>/medsoc-<version>.tgz`: the app folder at the archive root (AppInspect's layout),
 * no hidden files, directories 0755, `bin/` 0755, other files 0644, fixed mtime. Refuses to build
 * when the spec-independent AppInspect checks find anything.
 */
export async function packageSplunk(outDir: string, appDir = SPLUNK_APP_DIR): Promise<PackageResult> {
  const findings = lintSplunkApp(appDir);
  if (findings.length > 0)
    throw new PermanentError(
      `packaging the splunk app: ${findings.length} problem(s): ${findings.map((f) => `${f.check} ${f.file}: ${f.message}`).join("; ")}`,
    );
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

/**
 * Builds `<outDir>/medsoc-<version>.zip` the way elastic-package does: every file under a root
 * folder `<name>-<version>/`, `_dev` folders left out.
 */
export async function packageElastic(
  outDir: string,
  packageDir = ELASTIC_PACKAGE_DIR,
): Promise<PackageResult> {
  const manifest = parse(readFileSync(join(packageDir, "manifest.yml"), "utf8")) as {
    name: string;
    version: string;
  };
  if (!manifest?.name || !manifest.version)
    throw new PermanentError("packaging the elastic integration: manifest.yml needs name and version");
  mkdirSync(outDir, { recursive: true });
  const root = `${manifest.name}-${manifest.version}`;
  const file = join(outDir, `${root}.zip`);
  const zip = new ZipFile();
  const list = files(packageDir).filter((f) => !relative(packageDir, f).split(sep).includes("_dev"));
  for (const f of list)
    zip.addFile(f, `${root}/${relative(packageDir, f).split(sep).join("/")}`, {
      mtime: EPOCH,
      mode: 0o100644,
    });
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(file));
  return { file, entries: list.length, bytes: statSync(file).size };
}

/** Registers `medsoc package splunk|elastic`. */
export function registerPackage(program: Command): void {
  const pkg = program.command("package").description("build the installable SIEM packages");
  pkg
    .command("splunk")
    .description("build the Splunk app .tgz (integrations/splunk/medsoc)")
    .option("--out <dir>", "output folder", "dist")
    .action(async (opts: { out: string }) => {
      const r = await packageSplunk(opts.out);
      process.stdout.write(`${r.file} (${r.entries} files, ${r.bytes} bytes)\n`);
    });
  pkg
    .command("elastic")
    .description("build the Elastic integration package .zip (integrations/elastic/medsoc)")
    .option("--out <dir>", "output folder", "dist")
    .action(async (opts: { out: string }) => {
      if (!existsSync(ELASTIC_PACKAGE_DIR)) throw new PermanentError("no integrations/elastic/medsoc");
      const r = await packageElastic(opts.out);
      process.stdout.write(`${r.file} (${r.entries} files, ${r.bytes} bytes)\n`);
    });
}
