/**
 * The configuration and command-line reference pages are generated from the zod schemas and the
 * commander program; a change to either without `npm run docs` fails here.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { REFERENCE_PAGES } from "../../scripts/reference-docs.ts";

for (const [file, make] of Object.entries(REFERENCE_PAGES))
  test(`${file} is up to date with the code (npm run docs)`, async () => {
    const expected = await make();
    const actual = readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");
    assert.equal(actual, expected, `${file} is stale: run \`npm run docs\` and commit the result`);
  });

test("the configuration reference documents every field with its path, type and default", async () => {
  const page = await REFERENCE_PAGES["docs/configuration.md"]();
  assert.match(page, /\| `queue\.driver` \| `"memory"` \\\| `"bullmq"` \| `"memory"` \|/);
  assert.match(page, /\| `sources\[\]\.type` \| string \| required \| Connector id/);
  assert.match(page, /### `armis`/);
  assert.match(page, /### `sinks\.elasticsearch`/);
});

test("the command-line reference lists every command with its options", async () => {
  const page = await REFERENCE_PAGES["docs/cli.md"]();
  for (const cmd of ["start", "normalize", "audit verify", "package elastic", "setup splunk", "report"])
    assert.ok(page.includes(`## \`medsoc ${cmd}`), `no section for medsoc ${cmd}`);
  assert.match(page, /\| `--once` \| poll every stream until exhausted/);
});
