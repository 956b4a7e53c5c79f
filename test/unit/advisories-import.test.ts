/**
 * `medsoc advisories import|list` and the advisory store: a folder with good and bad documents
 * (malformed JSON, schema violations, checksum mismatch), the KEV catalog, newer revisions, a CSAF
 * provider's metadata → ROLIE feed over loopback HTTP, the CLI writing the store file, and
 * `medsoc normalize` using that store (and `--no-enrich`). Needs the reference data.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type AdvisoryStore, STORE_FORMAT, snapshotStore } from "../../mappings/advisories/store.ts";
import { armisRecords } from "../../simulators/armis/records.ts";
import { createFleet, PERIOD } from "../../simulators/fleet/fleet.ts";
import { importAdvisories, loadAdvisoryStore } from "../../worker/commands/advisories.ts";
import { runNormalize } from "../../worker/commands/normalize.ts";
import { REFERENCE_DATA_DIR } from "../helpers/ecs.ts";

const ROOT = resolve(fileURLToPath(import.meta.url), "..", "..", "..");
const CSAF_DIR = join(REFERENCE_DATA_DIR, "advisories", "csaf");
const KEV_FILE = join(REFERENCE_DATA_DIR, "advisories", "kev", "kev_subset.json");
const EMPTY: AdvisoryStore = { format: STORE_FORMAT, sources: [], advisories: [] };
const tmp = mkdtempSync(join(tmpdir(), "medsoc-adv-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const read = (f: string): Record<string, unknown> => JSON.parse(readFileSync(join(CSAF_DIR, f), "utf8"));

/** A folder: 3 good advisories with their checksums, KEV, and 3 bad files. */
function fixtureFolder(): string {
  const dir = mkdtempSync(join(tmp, "in-"));
  for (const f of ["icsma-23-047-01.json", "icsma-17-250-02a.json", "icsma-20-296-02.json"]) {
    copyFileSync(join(CSAF_DIR, f), join(dir, f));
    copyFileSync(join(CSAF_DIR, `${f}.sha512`), join(dir, `${f}.sha512`));
  }
  copyFileSync(KEV_FILE, join(dir, "kev.json"));
  writeFileSync(join(dir, "truncated.json"), '{"document": {"category": "csaf_secu');
  const noTracking = read("icsma-17-017-01.json");
  delete (noTracking.document as Record<string, unknown>).tracking;
  writeFileSync(join(dir, "no-tracking.json"), JSON.stringify(noTracking));
  // Content changed after the checksum was taken.
  const tampered = read("icsma-21-294-01.json");
  (tampered.document as Record<string, unknown>).title = "tampered";
  writeFileSync(join(dir, "icsma-21-294-01.json"), JSON.stringify(tampered));
  copyFileSync(join(CSAF_DIR, "icsma-21-294-01.json.sha512"), join(dir, "icsma-21-294-01.json.sha512"));
  return dir;
}

test("import: a folder keeps the good advisories and the KEV catalog, reports each bad file", async () => {
  const result = await importAdvisories([fixtureFolder()], { base: EMPTY });
  assert.deepEqual(result.accepted.map((a) => a.id).sort(), [
    "ICSMA-17-250-02A",
    "ICSMA-20-296-02",
    "ICSMA-23-047-01",
    "KEV 2025.08.25 (8 entries)",
  ]);
  const reasons = Object.fromEntries(result.rejected.map((r) => [r.source.split("/").pop(), r.reason]));
  assert.deepEqual(Object.keys(reasons).sort(), [
    "icsma-21-294-01.json",
    "no-tracking.json",
    "truncated.json",
  ]);
  assert.match(reasons["truncated.json"] as string, /^malformed JSON: /);
  assert.match(reasons["no-tracking.json"] as string, /^invalid CSAF 2\.0: .*tracking/);
  assert.match(reasons["icsma-21-294-01.json"] as string, /SHA-512 mismatch/);
  assert.deepEqual(
    result.store.advisories.map((a) => a.id),
    ["ICSMA-17-250-02A", "ICSMA-20-296-02", "ICSMA-23-047-01"],
  );
  assert.equal(result.store.kev?.entries.length, 8);
  assert.deepEqual(result.report.added.length, 3);
  assert.equal(result.report.kev, "added");
});

test("import: a newer revision replaces the stored one, an equal one is kept", async () => {
  const base = (await importAdvisories([join(CSAF_DIR, "icsma-23-047-01.json")], { base: EMPTY })).store;
  const again = await importAdvisories([join(CSAF_DIR, "icsma-23-047-01.json")], { base });
  assert.deepEqual(
    [again.report.added, again.report.replaced, again.report.kept],
    [[], [], ["ICSMA-23-047-01"]],
  );
  const doc = read("icsma-23-047-01.json");
  const tracking = (doc.document as Record<string, unknown>).tracking as Record<string, unknown>;
  const date = "2024-01-01T00:00:00.000Z";
  tracking.version = "3";
  tracking.current_release_date = date;
  (tracking.revision_history as unknown[]).push({ date, number: "3", summary: "Update A" });
  const file = join(tmp, "icsma-23-047-01-update.json");
  writeFileSync(file, JSON.stringify(doc));
  const newer = await importAdvisories([file], { base });
  assert.deepEqual(newer.rejected, []);
  assert.deepEqual(newer.report.replaced, ["ICSMA-23-047-01"]);
  assert.equal(newer.store.advisories[0]?.version, "3");
});

test("import: provider metadata → ROLIE feed over HTTP; a missing entry is reported, the rest kept", async () => {
  const files: Record<string, unknown> = {
    "/.well-known/csaf/provider-metadata.json": {
      canonical_url: "x",
      distributions: [{ rolie: { feeds: [{ tlp_label: "WHITE", url: "/feeds/white.json" }] } }],
    },
    "/feeds/white.json": {
      feed: {
        id: "white",
        entry: [
          { id: "a", content: { src: "/docs/icsma-23-047-01.json" }, link: [] },
          { id: "b", link: [{ rel: "self", href: "/docs/icsma-17-017-01.json" }] },
          { id: "c", content: { src: "/docs/gone.json" } },
        ],
      },
    },
    "/docs/icsma-23-047-01.json": read("icsma-23-047-01.json"),
    "/docs/icsma-17-017-01.json": read("icsma-17-017-01.json"),
  };
  const server = createServer((req, res) => {
    const body = files[req.url ?? ""];
    res.writeHead(body === undefined ? 404 : 200, { "content-type": "application/json" });
    res.end(JSON.stringify(body ?? { error: "not found" }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const result = await importAdvisories([`${base}/.well-known/csaf/provider-metadata.json`], {
      base: EMPTY,
    });
    assert.deepEqual(result.accepted.map((a) => a.id).sort(), ["ICSMA-17-017-01", "ICSMA-23-047-01"]);
    assert.equal(result.rejected.length, 1);
    assert.match(result.rejected[0]?.source ?? "", /gone\.json$/);
    assert.match(result.rejected[0]?.reason ?? "", /HTTP 404/);
  } finally {
    server.close();
  }
});

test("the shipped snapshot is exactly the reference advisories and KEV subset, imported", async () => {
  const fresh = await importAdvisories([CSAF_DIR, KEV_FILE], { base: EMPTY });
  assert.deepEqual(fresh.rejected, []);
  const shipped = snapshotStore();
  assert.deepEqual(
    shipped.advisories,
    fresh.store.advisories,
    "rebuild with scripts/build-advisory-snapshot.ts",
  );
  assert.deepEqual(shipped.kev, fresh.store.kev);
  const missing = await loadAdvisoryStore(join(tmp, "does-not-exist.json"));
  assert.equal(missing.from, "snapshot");
  writeFileSync(join(tmp, "not-a-store.json"), "{}");
  await assert.rejects(loadAdvisoryStore(join(tmp, "not-a-store.json")), /not a medsoc advisory store/);
});

const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(ROOT, "bin", "medsoc.mjs"), ...args], {
      cwd: ROOT,
      env: { ...process.env, MEDSOC_ADVISORY_STORE: join(tmp, "env-store-unused.json") },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test("CLI: advisories import writes the store (exit 1 for rejected files), list reads it", async () => {
  const store = join(tmp, "store", "advisories.json");
  const imported = await cli(["advisories", "import", fixtureFolder(), "--store", store]);
  assert.equal(imported.code, 1, imported.stderr);
  assert.match(imported.stderr, /rejected .*truncated\.json: malformed JSON/);
  assert.match(imported.stdout, /accepted ICSMA-23-047-01/);
  // Starts from the shipped snapshot: 10 advisories, 3 of them already current.
  assert.match(
    imported.stdout,
    /0 added, 0 replaced by a newer revision, 3 already current, KEV kept; 3 rejected/,
  );
  const written = JSON.parse(readFileSync(store, "utf8"));
  assert.equal(written.format, STORE_FORMAT);
  assert.equal(written.advisories.length, 10);
  const listed = await cli(["advisories", "list", "--store", store]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`advisory store: ${store.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
  assert.match(listed.stdout, /ICSMA-17-250-02A .*max CVSS 3\.7 .*\[uniform_cvss_vector\]/);
  assert.match(listed.stdout, /KEV: catalog 2025\.08\.25, 8 entries \(catalog declares 1404\)/);
});

async function normalizeLines(
  lines: string[],
  opts: { enrich?: boolean; store?: string },
): Promise<Record<string, unknown>[]> {
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on("data", (c: Buffer) => chunks.push(c));
  const { indexOfStore } = await import("../../mappings/advisories/store.ts");
  const advisories =
    opts.store !== undefined ? indexOfStore((await loadAdvisoryStore(opts.store)).store) : undefined;
  await runNormalize({
    source: "armis",
    stream: "device",
    input: Readable.from([`${lines.join("\n")}\n`]),
    output,
    now: () => new Date("2026-11-28T00:00:00.000Z"),
    enrich: opts.enrich,
    advisories,
  });
  return Buffer.concat(chunks)
    .toString("utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));
}

test("normalize enriches with the loaded store; --no-enrich gives the raw mapping", async () => {
  const fleet = createFleet({ size: PERIOD, seed: 1 });
  let i = 0;
  while (fleet.profile(i).model !== "Medfusion 4000") i++;
  // The monitor reports a firmware line the advisory lists exactly.
  const record = { ...armisRecords(fleet).device(i), operatingSystemVersion: "1.6" };
  const [enriched] = await normalizeLines([JSON.stringify(record)], {});
  const medsoc = enriched?.medsoc as Record<string, unknown>;
  assert.deepEqual(
    (medsoc.advisories as { id: string }[]).map((a) => a.id),
    ["ICSMA-17-250-02A"],
  );
  const [raw] = await normalizeLines([JSON.stringify(record)], { enrich: false });
  assert.ok(raw !== undefined);
  assert.equal((raw.medsoc as Record<string, unknown>).advisories, undefined);
  const rawDevice = (raw.medsoc as { device?: Record<string, unknown> }).device;
  assert.equal(rawDevice?.os_eol, undefined, "no EOL either");
  // A store without the Medfusion advisory: no match.
  const store = join(tmp, "only-bd.json");
  const only = await importAdvisories([join(CSAF_DIR, "icsma-23-047-01.json")], { base: EMPTY });
  writeFileSync(store, JSON.stringify(only.store));
  const [other] = await normalizeLines([JSON.stringify(record)], { store });
  assert.ok(other !== undefined);
  assert.equal((other.medsoc as Record<string, unknown>).advisories, undefined);
});
