/**
 * Rebuilds `mappings/data/advisories-snapshot.json` (the default advisory store) from the reference
 * CSAF advisories and KEV subset: every `.json` is checked against its `.sha512`, validated (CSAF 2.0
 * schema + mandatory tests) and parsed exactly as `medsoc advisories import` does.
 *
 *   node --import tsx scripts/build-advisory-snapshot.ts [REFERENCE_ADVISORIES_DIR]
 */
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { STORE_FORMAT } from "../mappings/advisories/store.ts";
import { importAdvisories } from "../worker/commands/advisories.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = process.argv[2] ?? "/work/shared/reference/data/advisories";
const result = await importAdvisories([path.join(dir, "csaf"), path.join(dir, "kev", "kev_subset.json")], {
  base: { format: STORE_FORMAT, sources: [], advisories: [] },
});
if (result.rejected.length > 0) {
  for (const r of result.rejected) process.stderr.write(`rejected ${r.source}: ${r.reason}\n`);
  process.exit(1);
}
const store = {
  ...result.store,
  sources: [
    "cisagov/CSAF@6960219f OT/white icsma-*.json (10 advisories, SHA-512 verified) and cisagov/kev-data@eacf03ec subset (8 entries), via ../shared/reference/data/advisories",
  ],
};
const out = path.join(here, "..", "mappings", "data", "advisories-snapshot.json");
await writeFile(out, `${JSON.stringify(store)}\n`);
// The repository's formatter owns the layout of checked-in JSON.
execFileSync(path.join(here, "..", "node_modules", ".bin", "biome"), ["format", "--write", out], {
  stdio: "inherit",
});
process.stdout.write(
  `wrote ${out}: ${store.advisories.length} advisories, ${store.kev?.entries.length ?? 0} KEV entries\n`,
);
