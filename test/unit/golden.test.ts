/**
 * Golden tests for the mappings (needs nothing but the shared reference data).
 *
 * 1. Elastic's own fixture pairs (`../shared/reference/data/elastic/fixtures/<vendor>/<stream>/`):
 *    our document for input line i, projected onto the fields elastic.md §9 compares, must equal
 *    `expected[i]` projected the same way. One deliberate deviation: device snapshots are
 *    `event.kind: asset` (DESIGN.md) where Elastic writes `event`; the harness asserts `asset`
 *    explicitly and compares everything else.
 * 2. medsoc's own golden files (`test/golden/<vendor>/<stream>/<name>.ndjson` →
 *    `<name>.expected.json`, full documents with the default options, and
 *    `<name>.preserve.expected.json`, the same input mapped with `preserveDuplicateVendorFields`).
 *    Regenerate them with `MEDSOC_UPDATE_GOLDEN=1 node --import tsx --test test/unit/golden.test.ts`.
 *
 * Every document produced here must pass the ECS validator.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { EcsDocument } from "../../mappings/types.ts";
import { createLineMapper } from "../../monitors/index.ts";
import { formatProblems, referencePath, validateEcs } from "../helpers/ecs.ts";

const UPDATE = process.env.MEDSOC_UPDATE_GOLDEN === "1";
const GOLDEN_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "golden");
/** Elastic's fixture pairs: missing reference data fails the file (never a silent skip). */
const FIXTURES_DIR = referencePath("elastic/fixtures");
/** Fixed ingest time so the golden documents are reproducible. */
const INGESTED_AT = "2025-04-14T10:58:03.000Z";

/** Lines as `medsoc normalize` reads them: split on `\n`, `\r` stripped, no line after a final `\n`. */
function readLines(path: string): string[] {
  const text = readFileSync(path, "utf8");
  const lines = text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  if (text.endsWith("\n")) lines.pop();
  return lines;
}

function mapFile(
  source: string,
  stream: string,
  path: string,
  preserveDuplicateVendorFields = false,
): EcsDocument[] {
  const map = createLineMapper(source, stream);
  const options = { ingestedAt: INGESTED_AT, preserveDuplicateVendorFields };
  // JSON round trip: the golden files hold what the sinks would write.
  return readLines(path).map((line) => JSON.parse(JSON.stringify(map(line, options))));
}

function assertValidEcs(doc: EcsDocument, where: string): void {
  const problems = validateEcs(doc);
  assert.equal(problems.length, 0, `${where}: ECS problems:\n${formatProblems(problems)}`);
}

// --- projection (elastic.md §9) ---------------------------------------------------------------

const COMPARED_EXACT = new Set([
  "@timestamp",
  "event.kind",
  "event.category",
  "event.type",
  "event.severity",
  "event.id",
  "event.start",
  "event.risk_score",
  "message",
  "observer.vendor",
  "observer.product",
]);
const COMPARED_PREFIXES = ["host.", "device.", "rule.", "threat.", "user.", "related."];

function isCompared(path: string): boolean {
  if (path.startsWith("host.geo.") || path.includes(".as.") || path.startsWith("as.")) return false;
  return COMPARED_EXACT.has(path) || COMPARED_PREFIXES.some((p) => path.startsWith(p));
}

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): void {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value))
      flatten(child, prefix === "" ? key : `${prefix}.${key}`, out);
    return;
  }
  out.set(prefix, value);
}

function normaliseValue(path: string, value: unknown): unknown {
  if (typeof value === "string" && (path === "@timestamp" || path === "event.start")) {
    return new Date(value).toISOString();
  }
  if (Array.isArray(value) && path.startsWith("related.")) return [...new Set(value.map(String))].sort();
  return value;
}

/** The compared fields of a document, flat and normalised; empty values count as absent. */
function project(doc: unknown, skip: ReadonlySet<string> = new Set()): Record<string, unknown> {
  const flat = new Map<string, unknown>();
  flatten(doc, "", flat);
  const out: Record<string, unknown> = {};
  for (const [path, value] of [...flat].sort(([a], [b]) => a.localeCompare(b))) {
    if (!isCompared(path) || skip.has(path)) continue;
    if (value === null || value === "" || (Array.isArray(value) && value.length === 0)) continue;
    out[path] = normaliseValue(path, value);
  }
  return out;
}

// --- 1. Elastic's fixture pairs -----------------------------------------------------------------

interface ReferencePair {
  source: string;
  stream: string;
  log: string;
  /** event.kind medsoc emits where it deliberately differs from Elastic. */
  kindDeviation?: { ours: string; elastic: string };
  /**
   * Compared fields Elastic's expected documents lack by construction (not by mapping): they are
   * asserted on our side and left out of the comparison.
   */
  oursOnly?: Record<string, unknown>;
  /**
   * Fields the current version of Elastic's pipeline sets but the (older) fixture's expected
   * documents predate; they are compared in section 3 (`elastic-*.elastic.json`) instead.
   */
  newerPipeline?: string[];
}

const REFERENCE_PAIRS: ReferencePair[] = [
  {
    source: "armis",
    stream: "device",
    log: "armis/device/test-device.log",
    kindDeviation: { ours: "asset", elastic: "event" },
    // host.os.type = host.os.family (armis device pipeline; test/golden/armis/device/elastic-comma-lists.*).
    newerPipeline: ["host.os.type"],
  },
  { source: "armis", stream: "alert", log: "armis/alert/test-alert.log" },
  {
    source: "forescout",
    stream: "host",
    log: "forescout/host/test-host.log",
    kindDeviation: { ours: "asset", elastic: "event" },
    // Elastic declares these as constant_keyword values of the data stream (monitors.md §6), so
    // its expected documents omit them; medsoc writes them on every document.
    oursOnly: { "observer.vendor": "Forescout", "observer.product": "eyeExtend-Connect" },
  },
];

describe("golden: Elastic fixture pairs", () => {
  for (const pair of REFERENCE_PAIRS) {
    it(`${pair.source}/${pair.stream} matches ${pair.log} on the compared fields`, () => {
      const logPath = join(FIXTURES_DIR, pair.log);
      const expected = (
        JSON.parse(readFileSync(`${logPath}-expected.json`, "utf8")) as { expected: unknown[] }
      ).expected;
      const docs = mapFile(pair.source, pair.stream, logPath);
      assert.equal(docs.length, expected.length, "one document per input line");
      docs.forEach((doc, i) => {
        const where = `${pair.log} line ${i + 1}`;
        assertValidEcs(doc, where);
        const skip = new Set<string>();
        if (pair.kindDeviation !== undefined) {
          // DESIGN.md: inventory snapshots are event.kind "asset"; Elastic's package writes "event".
          assert.equal(doc.event.kind, pair.kindDeviation.ours, `${where}: event.kind`);
          assert.equal(
            (expected[i] as { event: { kind: string } }).event.kind,
            pair.kindDeviation.elastic,
            `${where}: Elastic's event.kind`,
          );
          skip.add("event.kind");
        }
        for (const path of pair.newerPipeline ?? []) skip.add(path);
        for (const [path, value] of Object.entries(pair.oursOnly ?? {})) {
          assert.equal(project(doc)[path], value, `${where}: ${path}`);
          skip.add(path);
        }
        assert.deepEqual(project(doc, skip), project(expected[i], skip), where);
      });
    });
  }
});

// --- 2. medsoc golden files ---------------------------------------------------------------------

interface GoldenFile {
  source: string;
  stream: string;
  input: string;
  expected: string;
  /** Mapped with `preserveDuplicateVendorFields: true`. */
  preserve: boolean;
}

function goldenFiles(): GoldenFile[] {
  const files: GoldenFile[] = [];
  if (!existsSync(GOLDEN_DIR)) return files;
  for (const source of readdirSync(GOLDEN_DIR).sort()) {
    for (const stream of readdirSync(join(GOLDEN_DIR, source)).sort()) {
      const dir = join(GOLDEN_DIR, source, stream);
      for (const name of readdirSync(dir).sort()) {
        if (!name.endsWith(".ndjson")) continue;
        const base = name.slice(0, -".ndjson".length);
        const input = join(dir, name);
        files.push({ source, stream, input, expected: join(dir, `${base}.expected.json`), preserve: false });
        files.push({
          source,
          stream,
          input,
          expected: join(dir, `${base}.preserve.expected.json`),
          preserve: true,
        });
      }
    }
  }
  return files;
}

describe("golden: medsoc files", () => {
  const files = goldenFiles();
  it("has golden files for every Armis stream", () => {
    const streams = new Set(files.map((f) => `${f.source}/${f.stream}`));
    for (const s of ["armis/device", "armis/alert", "armis/vulnerability"]) assert.ok(streams.has(s), s);
  });
  for (const file of files) {
    const label = `${file.source}/${file.stream}/${file.input.split("/").pop()}${file.preserve ? " (preserveDuplicateVendorFields)" : ""}`;
    it(label, () => {
      const docs = mapFile(file.source, file.stream, file.input, file.preserve);
      for (const [i, doc] of docs.entries()) assertValidEcs(doc, `${label} line ${i + 1}`);
      if (UPDATE) {
        writeFileSync(file.expected, `${JSON.stringify({ expected: docs }, null, 2)}\n`);
        return;
      }
      assert.ok(existsSync(file.expected), `${file.expected} missing: run with MEDSOC_UPDATE_GOLDEN=1`);
      const expected = (JSON.parse(readFileSync(file.expected, "utf8")) as { expected: unknown[] }).expected;
      assert.equal(docs.length, expected.length, `${label}: one document per input line`);
      for (const [i, doc] of docs.entries()) assert.deepEqual(doc, expected[i], `${label} line ${i + 1}`);
    });
  }
});

// --- 3. Agreement with Elastic's own ingest pipelines -------------------------------------------
//
// `test/golden/<source>/<stream>/elastic-*.ndjson` are the sample inputs of elastic/integrations'
// pipeline tests (`packages/<pkg>/data_stream/<stream>/_dev/test/pipeline/*.log`); the sibling
// `elastic-*.elastic.json` holds the ECS fields of Elastic's expected documents for them and the
// fields medsoc sets differently on purpose, each with its reason (docs/elastic-pipeline-agreement.md).
// Every field Elastic sets must be in our document with the same value, except those deviations;
// each deviation must really differ (so the list cannot go stale). Fields medsoc sets and Elastic
// does not are allowed. Not compared: the vendor namespace (`armis.*`, `nozomi_networks.*` …: medsoc
// keeps `<vendor>.<stream>.*`), `ecs.version`, `event.original`, the test tags, and what Elastic's
// geoip processor adds (`*.geo.*` of source/destination, `*.as.*`).

interface ElasticAgreement {
  source: string;
  expected: unknown[];
  deviations: Record<string, string>;
}

const DATE_FIELDS = new Set([
  "@timestamp",
  "event.start",
  "event.end",
  "event.created",
  "threat.indicator.last_seen",
  "vulnerability.published_date",
]);
const VENDOR_PREFIXES = ["armis.", "nozomi_networks.", "claroty_xdome.", "forescout.", "json."];
const TEST_TAGS = new Set(["preserve_duplicate_custom_fields", "preserve_original_event"]);

function agreementFields(doc: unknown): Map<string, unknown> {
  const flat = new Map<string, unknown>();
  flatten(doc, "", flat);
  const out = new Map<string, unknown>();
  for (const [path, raw] of flat) {
    if (path === "ecs.version" || path === "event.original") continue;
    if (VENDOR_PREFIXES.some((p) => path.startsWith(p))) continue;
    if (/^(source|destination)\.geo\./.test(path) || path.includes(".as.") || path.startsWith("as."))
      continue;
    let value = raw;
    if (path === "tags" && Array.isArray(value)) value = value.filter((t) => !TEST_TAGS.has(String(t)));
    if (value === null || value === "" || (Array.isArray(value) && value.length === 0)) continue;
    if (typeof value === "string" && DATE_FIELDS.has(path)) value = new Date(value).toISOString();
    out.set(path, value);
  }
  return out;
}

/** Elastic's value is in ours: equal, or (related.*) every value of Elastic's list is in ours. */
function agrees(path: string, elastic: unknown, ours: unknown): boolean {
  if (path.startsWith("related.") && Array.isArray(elastic) && Array.isArray(ours))
    return elastic.every((v) => ours.includes(v));
  return JSON.stringify(elastic) === JSON.stringify(ours);
}

function agreementFiles(): Array<{ source: string; stream: string; input: string; agreement: string }> {
  const out: Array<{ source: string; stream: string; input: string; agreement: string }> = [];
  for (const source of readdirSync(GOLDEN_DIR).sort())
    for (const stream of readdirSync(join(GOLDEN_DIR, source)).sort())
      for (const name of readdirSync(join(GOLDEN_DIR, source, stream)).sort()) {
        if (!name.endsWith(".elastic.json")) continue;
        const base = name.slice(0, -".elastic.json".length);
        const dir = join(GOLDEN_DIR, source, stream);
        out.push({ source, stream, input: join(dir, `${base}.ndjson`), agreement: join(dir, name) });
      }
  return out;
}

describe("golden: agreement with Elastic's ingest pipelines", () => {
  const files = agreementFiles();
  it("covers every stream medsoc maps that an Elastic package also maps", () => {
    const covered = new Set(files.map((f) => `${f.source}/${f.stream}`));
    for (const s of [
      "armis/vulnerability",
      "claroty_xdome/alert",
      "claroty_xdome/event",
      "claroty_xdome/vulnerability",
      "nozomi/alert",
      "nozomi/asset",
      "nozomi/node_cve",
    ])
      assert.ok(covered.has(s), `${s} has an elastic-*.elastic.json`);
  });
  for (const file of files) {
    it(`${file.source}/${file.stream}: ${file.input.split("/").pop()} agrees with Elastic's pipeline`, () => {
      const agreement = JSON.parse(readFileSync(file.agreement, "utf8")) as ElasticAgreement;
      const docs = mapFile(file.source, file.stream, file.input);
      assert.equal(docs.length, agreement.expected.length, "one document per input line");
      const deviated = new Set<string>();
      docs.forEach((doc, i) => {
        const where = `${file.input.split("/").slice(-3).join("/")} line ${i + 1}`;
        assertValidEcs(doc, where);
        const ours = agreementFields(doc);
        const problems: string[] = [];
        for (const [path, elastic] of agreementFields(agreement.expected[i])) {
          const mine = ours.get(path);
          if (Object.hasOwn(agreement.deviations, path)) {
            // A deviation kept on purpose must really be one.
            if (!agrees(path, elastic, mine)) deviated.add(path);
            continue;
          }
          if (!agrees(path, elastic, mine))
            problems.push(`${path}: Elastic ${JSON.stringify(elastic)}, medsoc ${JSON.stringify(mine)}`);
        }
        assert.deepEqual(problems, [], `${where}: fields that disagree with Elastic's pipeline`);
      });
      for (const [path, reason] of Object.entries(agreement.deviations)) {
        assert.ok(reason.length > 20, `${path}: the reason is written down`);
        assert.ok(deviated.has(path), `${path} is listed as a deviation but medsoc agrees with Elastic`);
      }
    });
  }
});
