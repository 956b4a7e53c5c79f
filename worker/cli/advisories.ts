/** Declares `medsoc advisories import|list`; the work is in worker/commands/advisories.ts, loaded when run. */
import type { Command } from "commander";

export function registerAdvisories(program: Command): void {
  const cmd = program
    .command("advisories")
    .description("the local advisory store: CISA CSAF advisories and KEV");
  cmd
    .command("import")
    .description(
      "import CSAF 2.0 advisories and the KEV catalog (folders, files, http(s) URLs, ROLIE feeds, provider metadata)",
    )
    .argument("<source...>", "folder, file or URL")
    .option(
      "--store <file>",
      "advisory store file (default $MEDSOC_ADVISORY_STORE or ~/.medsoc/advisories.json)",
    )
    .action(async (sources: string[], opts: { store?: string }) =>
      (await import("../commands/advisories.ts")).advisoriesImportAction(sources, opts),
    );
  cmd
    .command("list")
    .description("list the advisories and the KEV catalog of the store")
    .option(
      "--store <file>",
      "advisory store file (default $MEDSOC_ADVISORY_STORE or ~/.medsoc/advisories.json)",
    )
    .option("--json", "print the store as JSON")
    .action(async (opts: { store?: string; json?: boolean }) =>
      (await import("../commands/advisories.ts")).advisoriesListAction(opts),
    );
}
