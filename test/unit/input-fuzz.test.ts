/**
 * Fuzzed vendor input (issue 13 items 4–6, the proof): every mapped (source, stream) pair gets real
 * records (from the golden inputs) with values replaced and keys added by fast-check — `__proto__`,
 * `constructor` and the other `Object.prototype` names, deeply nested arrays and objects, integers
 * far beyond 2^53, placeholders, wrong types — plus lines that are not records at all. Properties:
 * one output document per input line through `medsoc normalize`; no mapper crash (`unexpected`);
 * nothing inside a vendor `__proto__` object surfaces anywhere but under a `__proto__` key;
 * `Object.prototype` untouched; every output serialisable. Needs nothing.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { describe, test } from "node:test";
import fc from "fast-check";
import { createLineMapper, listStreams } from "../../monitors/index.ts";
import { runNormalize } from "../../worker/commands/normalize.ts";

const GOLDEN = new URL("../golden/", import.meta.url).pathname;
const MARKER = "zz_injected_marker";
const INGESTED = "2025-06-01T00:00:00.000Z";

/** The first record of every golden input of a pair (several shapes: REST, syslog, simulator). */
function seeds(source: string, stream: string): Record<string, unknown>[] {
  const dir = join(GOLDEN, source, stream);
  const out: Record<string, unknown>[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".ndjson"))) {
    for (const line of readFileSync(join(dir, f), "utf8").split("\n").slice(0, 3)) {
      if (line.trim() === "") continue;
      const v = JSON.parse(line) as unknown;
      if (v && typeof v === "object" && !Array.isArray(v)) out.push(v as Record<string, unknown>);
    }
  }
  return out;
}

const HOSTILE_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "__defineGetter__",
];

const scalarText = fc.oneof(
  fc.constantFrom(
    "null",
    "true",
    "false",
    '""',
    '"N/A"',
    '"Unknown"',
    "0",
    "-1",
    "1e400",
    "-1e400",
    "123456789012345678901234567890",
    "-98765432109876543210",
    "9007199254740993",
    "0.1000000000000000055511151231257827",
    '"2025-03-29T02:02:09.124100+00:00"',
    '"aa:bb:cc:dd:ee:ff"',
    '"10.0.0.1"',
    '"__proto__"',
  ),
  fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
);

const keyArb = fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ maxLength: 8 }));

/** A JSON text; `__proto__` objects carry the marker key so an injection is visible. */
const { value: valueText } = fc.letrec<{ value: string; array: string; object: string }>((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, scalarText, tie("array"), tie("object")),
  array: fc.array(tie("value"), { maxLength: 4 }).map((a) => `[${a.join(",")}]`),
  object: fc
    .array(fc.tuple(keyArb, tie("value")), { maxLength: 4 })
    .map(
      (kv) =>
        `{${kv.map(([k, v]) => `${JSON.stringify(k)}:${k === "__proto__" ? `{"${MARKER}":${v}}` : v}`).join(",")}}`,
    ),
}));

const deepText = fc
  .tuple(fc.integer({ min: 20, max: 12_000 }), fc.constantFrom("[]", "{}", "mixed"))
  .map(([n, kind]) =>
    kind === "[]"
      ? "[".repeat(n) + "]".repeat(n)
      : kind === "{}"
        ? `${'{"a":'.repeat(n)}1${"}".repeat(n)}`
        : `${'[{"a":'.repeat(n)}1${"}]".repeat(n)}`,
  );

/** A record line: a seed with some values replaced and hostile keys added. */
function recordLine(seedList: Record<string, unknown>[]): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.constantFrom(...seedList),
      fc.array(fc.tuple(fc.nat(), fc.oneof(valueText, deepText)), { maxLength: 3 }),
      fc.array(fc.tuple(keyArb, fc.oneof(valueText, deepText)), { maxLength: 3 }),
    )
    .map(([seed, replace, extra]) => {
      const entries = Object.keys(seed).map((k) => [k, JSON.stringify(seed[k])] as [string, string]);
      for (const [i, v] of replace)
        if (entries.length > 0) (entries[i % entries.length] as [string, string])[1] = v;
      for (const [k, v] of extra) entries.push([k, k === "__proto__" ? `{"${MARKER}":${v}}` : v]);
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;
    });
}

const anyLine = (seedList: Record<string, unknown>[]) =>
  fc.oneof(
    { weight: 8, arbitrary: recordLine(seedList) },
    { weight: 1, arbitrary: valueText },
    { weight: 1, arbitrary: deepText },
    { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((s) => s.replace(/\n/g, " ")) },
  );

/** Paths of the marker key with no `__proto__` key (or a renamed one, `device___proto__`) above them: injections. */
function injected(v: unknown, underProto = false, path = ""): string[] {
  if (v === null || typeof v !== "object") return [];
  const out: string[] = [];
  for (const key of Object.keys(v)) {
    const child = (v as Record<string, unknown>)[key];
    if (key === MARKER && !underProto) out.push(`${path}.${key}`);
    out.push(...injected(child, underProto || key.includes("__proto__"), `${path}.${key}`));
  }
  return out;
}

describe("fuzzed vendor records through every mapping", () => {
  for (const { source, stream } of listStreams()) {
    const seedList = seeds(source, stream);
    if (seedList.length === 0) continue;
    test(`${source}/${stream}: no crash, no injected field, one document per line`, () => {
      const map = createLineMapper(source, stream);
      fc.assert(
        fc.property(anyLine(seedList), (line) => {
          const doc = map(line, { ingestedAt: INGESTED });
          const text = JSON.stringify(doc);
          assert.equal(typeof text, "string");
          const back = JSON.parse(text) as {
            event?: { kind?: string };
            error?: { code?: string; message?: string };
          };
          assert.notEqual(back.error?.code, "unexpected", back.error?.message);
          assert.deepEqual(injected(back), [], "a field from a vendor __proto__ object was copied out of it");
          assert.equal(Object.getPrototypeOf(doc), Object.prototype);
          assert.equal(({} as Record<string, unknown>)[MARKER], undefined, "Object.prototype polluted");
        }),
        { numRuns: 150 },
      );
    });
  }
});

describe("normalize over fuzzed input", () => {
  test("exactly one output line per input line, in order, with deep, hostile and huge-number lines mixed in", async () => {
    const pairs = listStreams().filter((p) => seeds(p.source, p.stream).length > 0);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...pairs).chain((p) =>
          fc.tuple(
            fc.constant(p),
            fc.array(fc.oneof(anyLine(seeds(p.source, p.stream)), fc.constant("")), {
              minLength: 1,
              maxLength: 12,
            }),
          ),
        ),
        async ([pair, lines]) => {
          const output = new PassThrough();
          const chunks: Buffer[] = [];
          output.on("data", (c: Buffer) => chunks.push(c));
          await runNormalize({
            source: pair.source,
            stream: pair.stream,
            input: Readable.from([`${lines.join("\n")}\n`]),
            output,
            now: () => new Date(INGESTED),
          });
          const out = Buffer.concat(chunks).toString("utf8").split("\n");
          assert.equal(out.pop(), "");
          assert.equal(out.length, lines.length);
          for (const [i, l] of out.entries()) {
            const doc = JSON.parse(l) as {
              event: { kind: string; original?: string };
              error?: { code?: string };
            };
            assert.notEqual(doc.error?.code, "unexpected");
            if (doc.event.kind === "pipeline_error" && lines[i] !== "")
              assert.equal(doc.event.original, lines[i]);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
