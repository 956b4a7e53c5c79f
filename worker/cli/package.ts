/** Declares `medsoc package splunk|elastic`; the work is in worker/commands/package.ts, loaded when run. */
import type { Command } from "commander";
import { ELASTIC_PACKAGE_DIR, SPLUNK_APP_DIR } from "../../integrations/paths.ts";

export function registerPackage(program: Command): void {
  const pkg = program.command("package").description("build the installable SIEM packages (validated first)");
  pkg
    .command("splunk")
    .description("lint the Splunk app (conf specs, AppInspect offline checks) and build its .tgz")
    .option("--out <dir>", "output folder", "dist")
    .option("--reference <dir>", "reference data folder (conf specs); default $MEDSOC_REFERENCE_DIR")
    .option("--source <dir>", "app folder to build (its name is the app id)", SPLUNK_APP_DIR)
    .action(async (opts: { out: string; reference?: string; source: string }) =>
      (await import("../commands/package.ts")).packageSplunkAction(opts),
    );
  pkg
    .command("elastic")
    .description(
      "validate the Elastic integration package (package-spec schemas and semantic rules), resolve its ECS fields and build its .zip",
    )
    .option("--out <dir>", "output folder", "dist")
    .option("--reference <dir>", "reference data folder (package-spec, ECS); default $MEDSOC_REFERENCE_DIR")
    .option("--docs", "regenerate docs/README.md (field tables) from _dev/build/docs/README.md, then build")
    .option("--source <dir>", "package folder to build", ELASTIC_PACKAGE_DIR)
    .action(async (opts: { out: string; reference?: string; docs?: boolean; source: string }) =>
      (await import("../commands/package.ts")).packageElasticAction(opts),
    );
}
