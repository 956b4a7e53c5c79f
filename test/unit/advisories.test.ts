/**
 * Advisories, KEV and EOL OS (issue 4): the CSAF parser over every reference advisory, the version
 * range parser, the matcher on devices built from each advisory's product tree (inside and outside
 * the ranges, negative and unsure cases), vendor aliases, KEV marking, credential hints, the
 * enricher and its vulnerability findings, and the EOL table over the simulated fleet's OS values.
 * Needs the reference data (`MEDSOC_REFERENCE_DIR` or `../shared/reference/data`).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { type Advisory, parseCsaf } from "../../mappings/advisories/csaf.ts";
import { advisoryFindings, enrichAdvisories } from "../../mappings/advisories/enrich.ts";
import { osEol } from "../../mappings/advisories/eol.ts";
import { parseKev } from "../../mappings/advisories/kev.ts";
import {
  buildAdvisoryIndex,
  credentialCwesOf,
  matchDevice,
  summarize,
  vendorKey,
} from "../../mappings/advisories/match.ts";
import {
  compareVersions,
  matchVersion,
  parseVersion,
  parseVersionSpec,
  type VersionSpec,
} from "../../mappings/advisories/versions.ts";
import { createLineMapper, mapRecord } from "../../mappings/index.ts";
import type { EcsDocument, MappingContext } from "../../mappings/types.ts";
import { armisRecords } from "../../simulators/armis/records.ts";
import { createFleet, PERIOD } from "../../simulators/fleet/fleet.ts";
import { formatProblems, REFERENCE_DATA_DIR, validateEcs } from "../helpers/ecs.ts";

const CSAF_DIR = join(REFERENCE_DATA_DIR, "advisories", "csaf");
const FILES = readdirSync(CSAF_DIR).filter((f) => f.endsWith(".json"));
const RAW = new Map(FILES.map((f) => [f, JSON.parse(readFileSync(join(CSAF_DIR, f), "utf8")) as unknown]));
const ADVISORIES: Advisory[] = FILES.map((f) => parseCsaf(RAW.get(f)));
const KEV = parseKev(
  JSON.parse(readFileSync(join(REFERENCE_DATA_DIR, "advisories", "kev", "kev_subset.json"), "utf8")),
);
const INDEX = buildAdvisoryIndex(ADVISORIES, KEV);
const byId = (id: string): Advisory => ADVISORIES.find((a) => a.id === id) as Advisory;

const CTX: MappingContext = {
  source: "test",
  stream: "device",
  ingestedAt: "2026-11-28T00:00:00.000Z",
  advisories: INDEX,
};

test("the parser reads every reference advisory: ids, versions, products, CVEs, per-product scores", () => {
  assert.equal(ADVISORIES.length, 10);
  const expected: Record<string, { cves: number; max: number; products: number }> = {
    "ICSMA-17-017-01": { cves: 1, max: 4.9, products: 1 },
    "ICSMA-17-017-02": { cves: 2, max: 6.8, products: 3 },
    "ICSMA-17-250-02A": { cves: 8, max: 3.7, products: 3 },
    "ICSMA-20-170-04": { cves: 6, max: 8.6, products: 6 },
    "ICSMA-20-296-02": { cves: 11, max: 7.6, products: 3 },
    "ICSMA-21-294-01": { cves: 5, max: 9.0, products: 5 },
    "ICSMA-21-355-01": { cves: 13, max: 7.5, products: 3 },
    "ICSMA-22-251-01": { cves: 4, max: 7.5, products: 6 },
    "ICSMA-23-047-01": { cves: 1, max: 7.3, products: 1 },
    "ICSMA-23-194-01": { cves: 8, max: 8.2, products: 6 },
  };
  for (const a of ADVISORIES) {
    const want = expected[a.id];
    assert.ok(want, `unexpected advisory ${a.id}`);
    const cves = new Set(a.vulnerabilities.map((v) => v.cve));
    const max = Math.max(...a.vulnerabilities.flatMap((v) => v.scores.map((s) => s.base)));
    assert.deepEqual({ cves: cves.size, max, products: a.products.length }, want, a.id);
    assert.equal(a.publisher, "CISA");
    assert.match(a.url ?? "", /^https:\/\/www\.cisa\.gov\/news-events\/ics-medical-advisories\/icsma-/);
    for (const p of a.products) {
      assert.ok(p.vendor !== "" && p.product !== "" && p.version !== undefined, `${a.id} ${p.id}`);
    }
    for (const v of a.vulnerabilities) {
      assert.match(v.cve ?? "", /^CVE-\d{4}-\d+$/);
      assert.ok(v.affected.length > 0 && v.scores.length > 0 && v.references.length > 0);
      if (v.references.some((r) => r.includes("nvd.nist.gov"))) {
        assert.match(v.references[0] as string, /nvd\.nist\.gov/, "the NVD reference comes first");
      }
    }
  }
  // File names are lower-case, tracking ids upper-case with the update letter (trap 5).
  assert.ok(byId("ICSMA-17-250-02A"));
  const pcu = byId("ICSMA-23-194-01").products.find((p) => p.id === "CSAFPID-0001");
  assert.deepEqual(
    { vendor: pcu?.vendor, product: pcu?.product, version: pcu?.version, kind: pcu?.versionKind },
    {
      vendor: "Becton, Dickinson and Company (BD)",
      product: "BD Alaris Point-of-Care Unit (PCU) Model 8015",
      version: "<=12.1.3",
      kind: "product_version_range",
    },
  );
});

test("data-quality traps are flagged: uniform CVSS vector, per-product scores, id in the title", () => {
  assert.ok(byId("ICSMA-17-250-02A").warnings.some((w) => w.startsWith("uniform_cvss_vector")));
  assert.ok(byId("ICSMA-23-194-01").warnings.includes("per_product_scores: 9 scores for 8 vulnerabilities"));
  assert.ok(byId("ICSMA-17-017-01").warnings.includes("title_embeds_id"));
  assert.deepEqual(byId("ICSMA-23-047-01").warnings, []);
});

test("the parser refuses what it cannot read, naming the path", () => {
  const doc = structuredClone(RAW.get("icsma-23-047-01.json")) as {
    vulnerabilities: { product_status: unknown }[];
  };
  (doc.vulnerabilities[0] as { product_status: unknown }).product_status = {
    known_affected: ["CSAFPID-9999"],
  };
  assert.throws(
    () => parseCsaf(doc),
    /vulnerabilities\[0\]\.product_status: unknown product id CSAFPID-9999/,
  );
  assert.throws(() => parseCsaf({ document: { csaf_version: "1.2" } }), /unsupported version/);
  assert.throws(() => parseCsaf([]), /\$: must be an object/);
});

test("versions: segments, ordering, and refusal to order what cannot be ordered", () => {
  const v = (s: string) => parseVersion(s) as NonNullable<ReturnType<typeof parseVersion>>;
  assert.deepEqual(v("3.0 D15").segments, [3, 0, "d", 15]);
  assert.deepEqual(v("v20D29").segments, [20, "d", 29]);
  assert.deepEqual(v("012U000061").segments, [12, "u", 61]);
  assert.equal(compareVersions(v("9.7"), v("9.33")), -1, "9.33 is later than 9.7");
  assert.equal(compareVersions(v("1.3"), v("1.3.0")), 0);
  assert.equal(compareVersions(v("1.3.2"), v("1.3")), 1);
  assert.equal(compareVersions(v("3.0"), v("3.0 D15")), undefined);
  assert.equal(compareVersions(v("U61"), v("12.1")), undefined);
  assert.equal(parseVersion("1.0 <script>"), undefined);
});

test("version specs: the real range texts of the reference advisories", () => {
  const spec = (t: string, exact = false): VersionSpec => parseVersionSpec(t, exact);
  const cases: [string, boolean, string, "in" | "out" | "unsure"][] = [
    ["vers:all/*", false, "anything", "in"],
    ["<= 9.33", false, "9.33", "in"],
    ["<= 9.33", false, "9.34", "out"],
    [">= 1.1 | <= 1.3.2", false, "1.2", "in"],
    [">= 1.1 | <= 1.3.2", false, "1.0", "out"],
    [">= 1.1 | <= 1.3.2", false, "1.3.3", "out"],
    ["<=12.1.3", false, "12.1.3", "in"],
    ["<=12.1.3", false, "12.2", "out"],
    ["<= U61 |<= L81", false, "U60", "in"],
    ["<= U61 |<= L81", false, "L81", "in"],
    ["<= U61 |<= L81", false, "U62", "out"],
    ["<= U61 |<= L81", false, "12.0", "unsure"],
    ["<= 012U000061", false, "012U000050", "in"],
    ["<= 3.0 D15", false, "3.0 D15", "in"],
    ["<= 3.0 D15", false, "3.0 D16", "out"],
    ["<= 3.0 D15", false, "3.0", "unsure"],
    ["A10 | A11", true, "A11", "in"],
    ["A10 | A11", true, "A12", "out"],
    ["A10 < A11", false, "A10", "unsure"],
    ["1.6", true, "1.6", "in"],
    ["1.6", true, "1.7", "out"],
    ["1.6", true, "1.6.1", "unsure"],
    ["v8.x model 35700BAX2", true, "8.00.01", "unsure"], // model not confirmed by the empty model
    ["9.x (with Wireless Battery Modules >= 22D19 | <= v22D28)", false, "9.1", "unsure"],
    ["9.x (with Wireless Battery Modules >= 22D19 | <= v22D28)", false, "8.1", "out"],
    ["vers:generic/>=2.0|<3.0", false, "2.5", "in"],
    ["vers:generic/>=2.0|<3.0", false, "3.0", "out"],
    ["between 1 and 2", false, "1.5", "unsure"],
  ];
  for (const [text, exact, version, want] of cases) {
    assert.equal(matchVersion(spec(text, exact), version).result, want, `${text} / ${version}`);
  }
  assert.deepEqual(matchVersion(spec("<= 9.33"), undefined), {
    result: "unsure",
    reason: "device_version_unknown",
  });
  assert.deepEqual(matchVersion(spec("A10 < A11"), "A10"), {
    result: "unsure",
    reason: "ambiguous_range_syntax",
  });
  assert.deepEqual(matchVersion(spec("1.6", true), "1.6.1"), {
    result: "unsure",
    reason: "version_prefix_only",
  });
  const family = spec("v8.x model 35700BAX2", true);
  assert.equal(matchVersion(family, "8.00.01", "Sigma Spectrum 35700BAX2").result, "in");
  assert.equal(matchVersion(family, "8.00.01", "Sigma Spectrum 35700BAX").result, "out", "v6 hardware");
  assert.deepEqual(matchVersion(family, "8.00.01", "Sigma Spectrum 35700"), {
    result: "unsure",
    reason: "model_qualifier_unconfirmed",
  });
});

test("vendor aliases: monitors' brands and CSAF legal names meet on one key", () => {
  for (const n of [
    "BD",
    "Becton Dickinson",
    "Becton, Dickinson and Company (BD)",
    "becton-dickinson",
    "CareFusion",
  ]) {
    assert.equal(vendorKey(n), "bd", n);
  }
  for (const n of ["Smiths Medical", "ICU Medical", "ICU Medical, Inc."])
    assert.equal(vendorKey(n), "icu_medical", n);
  for (const n of ["GE", "GE Healthcare", "General Electric"]) assert.equal(vendorKey(n), "ge_healthcare", n);
  for (const n of ["Philips", "Koninklijke Philips N.V."]) assert.equal(vendorKey(n), "philips", n);
  for (const n of ["B. Braun", "B. Braun Medical", "BBraun", "B. Braun Melsungen AG"])
    assert.equal(vendorKey(n), "b_braun", n);
  for (const n of ["Baxter", "Baxter Healthcare Corporation"]) assert.equal(vendorKey(n), "baxter", n);
  for (const n of ["Fresenius Kabi", "Fresenius"]) assert.equal(vendorKey(n), "fresenius_kabi", n);
  assert.equal(
    vendorKey("Acme Corp."),
    vendorKey("ACME, Inc."),
    "unknown vendors still compare to themselves",
  );
  assert.notEqual(vendorKey("Philips"), vendorKey("BD"));
});

/** A brand name a monitor would report for each CSAF vendor (not the CSAF spelling). */
const MONITOR_VENDOR: Record<string, string> = {
  "Becton, Dickinson and Company (BD)": "BD",
  Baxter: "Baxter Healthcare",
  "B. Braun Medical": "B. Braun",
  "Smiths Medical": "ICU Medical",
  "Fresenius Kabi": "Fresenius",
};

/** A version inside the spec and one outside it, derived from the range text; undefined when unsure. */
function probes(spec: VersionSpec): { inside: string; outside?: string } | undefined {
  const bump = (t: string) =>
    t.replace(/(\d+)(?!.*\d)/, (d) => String(Number(d) + 1).padStart(d.length, "0"));
  if (spec.kind === "all") return { inside: "1.0" };
  if (spec.kind === "unsure" || spec.component !== undefined) return undefined;
  if (spec.family !== undefined) return { inside: `${spec.family.join(".")}.1`, outside: "99.1" };
  const first = spec.exact[0];
  const last = spec.exact[spec.exact.length - 1];
  if (first !== undefined && last !== undefined) return { inside: first.text, outside: bump(last.text) };
  const range = spec.ranges[0] as NonNullable<(typeof spec.ranges)[0]>;
  const upper = range.find((c) => c.op === "<=") ?? range[0];
  return { inside: upper?.version.text ?? "", outside: bump(upper?.version.text ?? "") };
}

test("devices built from every product tree match their product inside the range, not outside", () => {
  let inside = 0;
  let outside = 0;
  const unsure = new Map<string, number>();
  for (const a of ADVISORIES) {
    for (const p of a.products) {
      const spec = parseVersionSpec(p.version ?? "", p.versionKind === "product_version");
      const manufacturer = MONITOR_VENDOR[p.vendor];
      assert.ok(manufacturer, `no monitor spelling for ${p.vendor}`);
      const model =
        spec.kind === "set" && spec.model !== undefined ? `${p.product} ${spec.model}` : p.product;
      const probe = probes(spec);
      const key = `${a.id}/${p.id} (${p.version})`;
      if (probe === undefined) {
        // Unsure specs never match, whatever the version; they are reported with a reason.
        for (const version of ["1.0", "9.1", "L81", "A10", undefined]) {
          const r = matchDevice(INDEX, { manufacturer, model, version });
          assert.ok(
            !r.matches.some((m) => m.advisory === a.id && m.product === p.id),
            `${key} matched on ${version}`,
          );
          const u = r.unsure.find((m) => m.advisory === a.id && m.product === p.id);
          if (u !== undefined) unsure.set(u.reason, (unsure.get(u.reason) ?? 0) + 1);
        }
        continue;
      }
      const hit = matchDevice(INDEX, { manufacturer, model, version: probe.inside });
      const m = hit.matches.find((x) => x.advisory === a.id && x.product === p.id);
      assert.ok(m, `${key}: ${model} ${probe.inside} should match; unsure: ${JSON.stringify(hit.unsure)}`);
      const affected = a.vulnerabilities.filter((v) => v.affected.includes(p.id)).map((v) => v.cve);
      assert.deepEqual(m.cves.map((c) => c.cve).sort(), affected.sort(), key);
      inside++;
      if (probe.outside !== undefined) {
        const miss = matchDevice(INDEX, { manufacturer, model, version: probe.outside });
        assert.ok(
          !miss.matches.some((x) => x.advisory === a.id && x.product === p.id),
          `${key}: ${probe.outside}`,
        );
        outside++;
      }
    }
  }
  // 37 products: 30 decidable, 7 unsure (6 battery-module qualifiers, 1 `A10 < A11`); "all
  // versions" has no outside.
  assert.equal(inside, 30);
  assert.equal(outside, 29);
  assert.deepEqual([...unsure.keys()].sort(), [
    "ambiguous_range_syntax",
    "component_qualifier",
    "device_version_unknown",
    "incomparable_version",
  ]);
});

test("matcher: per-product scores, third-party CVEs, negatives and needs-review cases", () => {
  // Guardrails Editor 12.1.3 is affected only by CVE-2023-30562, scored 3.0 for it (not 6.7).
  const editor = matchDevice(INDEX, {
    manufacturer: "BD",
    model: "Alaris Guardrails Editor",
    version: "12.1.3",
  });
  assert.deepEqual(
    editor.matches.map((m) => [m.product, m.cves.map((c) => [c.cve, c.score])]),
    [["CSAFPID-0006", [["CVE-2023-30562", 3]]]],
  );
  const older = summarize(
    matchDevice(INDEX, { manufacturer: "BD", model: "Alaris Guardrails Editor", version: "12.1.2" }).matches,
  );
  assert.equal(older[0]?.cves.length, 8);
  assert.equal(older[0]?.cvss_max, 8.2);

  // PCU 8015 at 9.6: both BD advisories on the 8015, the third-party log4net CVE included.
  const pcu = summarize(
    matchDevice(INDEX, { manufacturer: "Becton Dickinson", model: "Alaris 8015 PC Unit", version: "9.6" })
      .matches,
  );
  assert.deepEqual(
    pcu.map((s) => [s.id, s.cvss_max]),
    [
      ["ICSMA-17-017-02", 6.8],
      ["ICSMA-23-194-01", 8.2],
    ],
  );
  assert.ok(pcu[1]?.cves.includes("CVE-2018-1285"));

  // All versions: no device version needed.
  assert.equal(
    matchDevice(INDEX, { manufacturer: "BD", model: "Alaris 8000 PC Unit" }).matches[0]?.advisory,
    "ICSMA-17-017-01",
  );

  // Negatives: another vendor, another model of the same line, a version after the fix.
  assert.deepEqual(
    matchDevice(INDEX, { manufacturer: "Philips", model: "Alaris 8015 PC Unit", version: "9.6" }),
    {
      matches: [],
      unsure: [],
    },
  );
  assert.deepEqual(
    matchDevice(INDEX, { manufacturer: "BD", model: "Alaris 8100 LVP Module", version: "9.33" }).matches,
    [],
  );
  const fixed = matchDevice(INDEX, { manufacturer: "BD", model: "Alaris 8015 PC Unit", version: "12.2" });
  assert.deepEqual([fixed.matches, fixed.unsure], [[], []]);
  assert.deepEqual(
    matchDevice(INDEX, { manufacturer: "B. Braun", model: "Infusomat Space", version: "L81" }).matches,
    [],
  );

  // Needs review, never matched.
  const review = (d: Parameters<typeof matchDevice>[1]) => {
    const r = matchDevice(INDEX, d);
    assert.deepEqual(r.matches, [], JSON.stringify(d));
    return [...new Set(r.unsure.map((u) => `${u.advisory}:${u.reason}`))].sort();
  };
  assert.deepEqual(review({ manufacturer: "BD", model: "Alaris 8015 PC Unit" }), [
    "ICSMA-17-017-02:device_version_unknown",
    "ICSMA-23-194-01:device_version_unknown",
  ]);
  assert.deepEqual(review({ manufacturer: "Baxter", model: "Sigma Spectrum 35700", version: "8.00.01" }), [
    "ICSMA-20-170-04:model_qualifier_unconfirmed",
    "ICSMA-22-251-01:model_qualifier_unconfirmed",
  ]);
  assert.deepEqual(review({ manufacturer: "Smiths Medical", model: "Medfusion 4000", version: "1.6.1" }), [
    "ICSMA-17-250-02A:version_prefix_only",
  ]);
  // An LVP at v6: its battery-module qualifier is undecidable, and "Sigma Spectrum: v6.x model
  // 35700BAX" also names it without the device confirming the model number.
  assert.deepEqual(review({ manufacturer: "Baxter", model: "Sigma Spectrum LVP", version: "6.2" }), [
    "ICSMA-20-170-04:component_qualifier",
    "ICSMA-20-170-04:model_qualifier_unconfirmed",
    "ICSMA-22-251-01:component_qualifier",
    "ICSMA-22-251-01:model_qualifier_unconfirmed",
  ]);
  assert.deepEqual(review({ manufacturer: "BD", model: "Alaris PC Unit", version: "9.6" }), [
    "ICSMA-17-017-01:model_number_unconfirmed",
    "ICSMA-17-017-02:model_number_unconfirmed",
  ]);
  // `A10 < A11` (ICSMA-21-294-01) stays unsure while `A10 | A11` (ICSMA-20-296-02) matches.
  const compact = matchDevice(INDEX, {
    manufacturer: "B. Braun",
    model: "Data module compactPlus",
    version: "A10",
  });
  assert.deepEqual(
    compact.matches.map((m) => m.advisory),
    ["ICSMA-20-296-02"],
  );
  assert.deepEqual(
    compact.unsure.map((u) => [u.advisory, u.reason]),
    [["ICSMA-21-294-01", "ambiguous_range_syntax"]],
  );
  // Names drift within a vendor: "Battery pack SP with WiFi" / "Battery Pack SP with Wi-Fi".
  const battery = matchDevice(INDEX, {
    manufacturer: "B. Braun",
    model: "Battery Pack SP with Wi-Fi",
    version: "L80",
  });
  assert.deepEqual([...new Set(battery.matches.map((m) => m.advisory))].sort(), [
    "ICSMA-20-296-02",
    "ICSMA-21-294-01",
  ]);
});

test("a newer revision of an advisory replaces the older one in the index", () => {
  const old = byId("ICSMA-23-047-01");
  const newer: Advisory = structuredClone(old);
  newer.version = "3";
  newer.vulnerabilities[0] = {
    ...(newer.vulnerabilities[0] as Advisory["vulnerabilities"][0]),
    cve: "CVE-2099-0001",
  };
  const index = buildAdvisoryIndex([newer, old]);
  assert.equal(index.advisories.get("ICSMA-23-047-01")?.version, "3");
  assert.ok(index.byCve.has("CVE-2099-0001") && !index.byCve.has("CVE-2022-47376"));
});

test("KEV: subset parsed with its traps; invalid catalogs rejected with the path", () => {
  assert.equal(KEV.entries.length, 8);
  assert.equal(KEV.declaredCount, 1404, "the subset keeps the full catalog's count");
  const zerologon = KEV.entries.find((e) => e.cve === "CVE-2020-1472");
  assert.ok(zerologon && zerologon.dueDate < zerologon.dateAdded, "due date before date added is kept as is");
  const bad = JSON.parse(
    readFileSync(join(REFERENCE_DATA_DIR, "advisories", "kev", "kev_subset.json"), "utf8"),
  );
  bad.vulnerabilities[2].cveID = "CVE-12";
  assert.throws(() => parseKev(bad), /vulnerabilities\.2\.cveID/);
  // No CSAF advisory CVE is in KEV (advisories.md §2): medical CVEs stay unmarked.
  for (const cve of INDEX.byCve.keys()) assert.ok(!INDEX.kev.has(cve), cve);
});

function vulnerabilityDoc(cve: string): EcsDocument {
  return {
    "@timestamp": "2026-11-01T00:00:00.000Z",
    event: { kind: "event", category: ["vulnerability"], type: ["info"] },
    vulnerability: { id: cve, enumeration: "CVE" },
    host: { id: "42" },
    medsoc: { doc_id: "x", source: "test", stream: "vulnerability" },
  };
}

test("vulnerability documents get KEV membership and their advisories", () => {
  const blue = vulnerabilityDoc("CVE-2017-0144");
  enrichAdvisories(blue, CTX);
  assert.deepEqual(blue.medsoc.vulnerability, {
    known_exploited: true,
    kev: {
      date_added: "2022-02-10",
      due_date: "2022-08-10",
      ransomware: true,
      catalog_version: "2025.08.25",
    },
  });
  assert.equal(blue.medsoc.advisories, undefined);
  const alaris = vulnerabilityDoc("cve-2016-8375");
  enrichAdvisories(alaris, CTX);
  assert.deepEqual(alaris.medsoc.vulnerability, { known_exploited: false });
  assert.deepEqual(alaris.medsoc.advisories, [
    { id: "ICSMA-17-017-01", cves: ["CVE-2016-8375"], cvss_max: 4.9, cwes: ["CWE-522"] },
    { id: "ICSMA-17-017-02", cves: ["CVE-2016-8375"], cvss_max: 4.9, cwes: ["CWE-522"] },
  ]);
});

test("credential hints from CWEs: hard-coded before default before weak", () => {
  const medfusion = summarize(
    matchDevice(INDEX, { manufacturer: "Smiths", model: "Medfusion 4000", version: "1.6" }).matches,
  );
  assert.deepEqual(credentialCwesOf(medfusion), [
    { hint: "hard_coded", cwes: ["CWE-259", "CWE-798"], advisories: ["ICSMA-17-250-02A"] },
  ]);
  const spacecom = summarize(
    matchDevice(INDEX, { manufacturer: "B. Braun", model: "SpaceCom", version: "L70" }).matches,
  );
  assert.equal(credentialCwesOf(spacecom)[0]?.hint, "hard_coded", "CVE-2020-25168 is CWE-798");
  assert.deepEqual(
    credentialCwesOf([
      { id: "A", cwes: ["CWE-521"] },
      { id: "B", cwes: ["CWE-1392", "CWE-79"] },
    ]).map((h) => h.hint),
    ["default", "weak"],
  );
  assert.deepEqual(credentialCwesOf([{ id: "C", cwes: ["CWE-522"] }]), []);
  assert.deepEqual(credentialCwesOf(undefined), []);
});

function pumpDoc(firmware: string | undefined): EcsDocument {
  const doc: EcsDocument = {
    "@timestamp": "2026-11-01T00:00:00.000Z",
    ecs: { version: "9.4.0" },
    event: { kind: "asset", category: ["host"], type: ["info"] },
    host: {
      id: "1001",
      name: "pcu-1",
      mac: ["00-11-22-33-44-55"],
      os: { family: "windows", version: "CE 5.0" },
    },
    device: { id: "1001", manufacturer: "BD", model: { name: "Alaris 8015 PC Unit" } },
    medsoc: { doc_id: "d1", source: "test", stream: "device" },
  };
  if (firmware !== undefined) doc.medsoc.device = { firmware_version: firmware };
  return doc;
}

test("device documents get medsoc.advisories, review entries and EOL; findings are valid ECS and deterministic", () => {
  const doc = pumpDoc("9.6");
  enrichAdvisories(doc, CTX);
  const device = doc.medsoc.device as Record<string, unknown>;
  assert.equal(device.os_eol, true);
  assert.match(String(device.os_eol_reason), /Windows CE/);
  assert.equal(device.firmware_version, "9.6", "the enricher keeps the mapping's medsoc.device fields");
  const advisories = doc.medsoc.advisories as { id: string; cves: string[]; cvss_max: number }[];
  assert.deepEqual(
    advisories.map((a) => [a.id, a.cves.length, a.cvss_max]),
    [
      ["ICSMA-17-017-02", 2, 6.8],
      ["ICSMA-23-194-01", 8, 8.2],
    ],
  );
  assert.equal(doc.medsoc.advisory_review, undefined);

  const findings = advisoryFindings(doc, CTX);
  assert.equal(findings.length, 10);
  for (const f of findings) {
    assert.deepEqual(validateEcs(f), [], formatProblems(validateEcs(f)));
    assert.equal(f.event.kind, "event");
    assert.deepEqual(f.event.category, ["vulnerability"]);
    assert.deepEqual((f.host as { id: string }).id, "1001");
    assert.deepEqual((f.host as { mac: string[] }).mac, ["00-11-22-33-44-55"]);
    const v = f.vulnerability as Record<string, unknown>;
    assert.equal(v.enumeration, "CVE");
    assert.equal(v.classification, "CVSS");
    assert.match(String(v.reference), /^https:\/\//);
    assert.equal(typeof (v.score as { base: number }).base, "number");
  }
  const log4net = findings.find((f) => (f.vulnerability as { id: string }).id === "CVE-2018-1285");
  assert.equal((log4net?.medsoc.advisory as { id: string } | undefined)?.id, "ICSMA-23-194-01");
  const ids = findings.map((f) => f.medsoc.doc_id);
  assert.equal(new Set(ids).size, 10);
  assert.deepEqual(
    advisoryFindings(pumpDoc("9.6"), CTX).map((f) => f.medsoc.doc_id),
    ids,
    "re-polling the device re-writes the same findings",
  );

  const unknown = pumpDoc(undefined);
  enrichAdvisories(unknown, CTX);
  assert.equal(
    unknown.medsoc.advisories,
    undefined,
    "Windows CE 5.0 is an OS, not the pump's firmware version",
  );
  assert.deepEqual(
    [
      ...new Set(
        (unknown.medsoc.advisory_review as { id: string; reason: string }[]).map(
          (r) => `${r.id}:${r.reason}`,
        ),
      ),
    ],
    ["ICSMA-17-017-02:device_version_unknown", "ICSMA-23-194-01:device_version_unknown"],
  );
  assert.deepEqual(advisoryFindings(unknown, CTX), []);
});

test("mapRecord runs the enricher with the index from the context; --no-enrich gives the raw mapping", () => {
  const fleet = createFleet({ size: PERIOD, seed: 1 });
  let i = 0;
  while (fleet.profile(i).model !== "Sigma Spectrum 35700") i++;
  const record = armisRecords(fleet).device(i);
  const opts = { ingestedAt: CTX.ingestedAt };
  const enriched = mapRecord("armis", "device", record, { ...opts, advisories: INDEX });
  assert.deepEqual(
    [...new Set((enriched.medsoc.advisory_review as { reason: string }[]).map((r) => r.reason))],
    ["model_qualifier_unconfirmed"],
  );
  const raw = createLineMapper("armis", "device", { enrich: false })(JSON.stringify(record), opts);
  assert.equal(raw.medsoc.advisory_review, undefined);
  assert.equal((raw.medsoc.device as Record<string, unknown> | undefined)?.os_eol, undefined);
  // A store holding an advisory for every Spectrum version: the context's index is the one used.
  const spectrum = structuredClone(byId("ICSMA-17-017-01"));
  spectrum.id = "TEST-0001";
  spectrum.products = [
    {
      id: "P1",
      vendor: "Baxter",
      product: "Sigma Spectrum",
      name: "Sigma Spectrum",
      version: "vers:all/*",
      versionKind: "product_version_range",
    },
  ];
  (spectrum.vulnerabilities[0] as { affected: string[] }).affected = ["P1"];
  (spectrum.vulnerabilities[0] as { scores: { products: string[]; base: number }[] }).scores = [
    { products: ["P1"], base: 5 },
  ];
  const custom = mapRecord("armis", "device", record, {
    ...opts,
    advisories: buildAdvisoryIndex([spectrum]),
  });
  assert.deepEqual(custom.medsoc.advisories, [
    { id: "TEST-0001", cves: ["CVE-2016-8375"], cvss_max: 5, cwes: ["CWE-522"] },
  ]);
  // Without an index in the context: the shipped snapshot.
  const snap = mapRecord("armis", "device", record, opts);
  assert.deepEqual(snap.medsoc.advisory_review, enriched.medsoc.advisory_review);
});

test("EOL table over every OS of the simulated fleet", () => {
  const fleet = createFleet({ size: PERIOD, seed: 1 });
  const seen = new Map<string, boolean | undefined>();
  for (let i = 0; i < PERIOD; i++) {
    const p = fleet.profile(i);
    const verdict = osEol({ family: p.operatingSystem.toLowerCase(), version: p.operatingSystemVersion });
    seen.set(`${p.operatingSystem} ${p.operatingSystemVersion}`, verdict?.eol);
    // Windows: EOL exactly when the fleet says "older than Windows 10".
    if (p.operatingSystem === "Windows")
      assert.equal(verdict?.eol, p.oldWindows, `${p.operatingSystemVersion}`);
  }
  assert.deepEqual(Object.fromEntries([...seen].sort()), {
    "Embedded 1.6.1": undefined,
    "Embedded 3.3": undefined,
    "Embedded 8.00.01": undefined,
    "Embedded 9.33": undefined,
    "Embedded M.00.03": undefined,
    "FutureSmart 4.11": undefined,
    "IOS XE 17.9": undefined,
    "Linux 2.6": true,
    "Linux 2.6.38": true,
    "Linux 3.0.8": true,
    "Linux 3.10": true,
    "Linux 3.18": true,
    "Linux 4.14": true,
    "Linux 4.4": true,
    "Linux 4.9": true,
    "Linux 5.4": true,
    "VxWorks 6.5": true,
    "Windows 10": false,
    "Windows 11": false,
    "Windows 7": true,
    "Windows CE 5.0": true,
    "Windows Embedded Standard 7": true,
    "Windows Server 2012 R2": true,
    "Windows Server 2016 Standard": false,
    "Windows XP": true,
  });
  // Other spellings monitors use.
  assert.equal(osEol({ full: "Microsoft Windows 7 Professional SP1" })?.rule, "windows-7");
  assert.equal(osEol({ name: "Windows", version: "6.1.7601" })?.rule, "windows-nt-kernel");
  assert.equal(osEol({ name: "Windows", version: "10.0.19045" })?.eol, false);
  assert.equal(osEol({ name: "Windows Server 2008 R2" })?.rule, "windows-server-2008");
  assert.equal(osEol({ name: "Linux", version: "5.15.0-91-generic" })?.eol, false);
  assert.equal(osEol({ name: "VxWorks", version: "7.0 SR0620" })?.eol, false);
  assert.match(osEol({ family: "linux", version: "3.10.0" })?.reason ?? "", /^Linux kernel 3\.10\.0: /);
  assert.equal(osEol({}), undefined);
});

test("credential hints agree with the reference credential-CWE index for the shipped advisories", () => {
  const rows = readFileSync(join(CSAF_DIR, "credential_cwe_index.csv"), "utf8")
    .split("\n")
    .slice(1)
    .map((line) => ({ id: line.split(",")[0] ?? "", m: /,(CVE-\d{4}-\d+),(CWE-\d+),/.exec(line) }))
    .filter((r) => r.m !== null && ADVISORIES.some((a) => a.id === r.id));
  assert.equal(rows.length, 13, "rows of the index that belong to the 10 shipped advisories");
  for (const { id, m } of rows) {
    const v = byId(id).vulnerabilities.find((x) => x.cve === m?.[1]);
    assert.equal(v?.cwe?.id, m?.[2], `${id} ${m?.[1]}`);
  }
  const expected = new Set(
    rows
      .filter((r) => ["CWE-798", "CWE-259", "CWE-1392", "CWE-521"].includes(r.m?.[2] ?? ""))
      .map((r) => r.id),
  );
  const hinted = ADVISORIES.filter(
    (a) =>
      credentialCwesOf([{ id: a.id, cwes: a.vulnerabilities.flatMap((v) => (v.cwe ? [v.cwe.id] : [])) }])
        .length > 0,
  ).map((a) => a.id);
  assert.deepEqual(hinted.sort(), [...expected].sort());
  assert.deepEqual(hinted.sort(), [
    "ICSMA-17-250-02A",
    "ICSMA-20-170-04",
    "ICSMA-20-296-02",
    "ICSMA-21-355-01",
  ]);
});

test("a monitor's own known-exploited flag survives a catalog that does not list the CVE", () => {
  const doc = vulnerabilityDoc("CVE-2099-12345");
  doc.medsoc.vulnerability = { known_exploited: true };
  enrichAdvisories(doc, CTX);
  assert.deepEqual(doc.medsoc.vulnerability, { known_exploited: true });
  const unknown = vulnerabilityDoc("CVE-2099-12345");
  enrichAdvisories(unknown, CTX);
  assert.deepEqual(unknown.medsoc.vulnerability, { known_exploited: false });
});
