import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { Ajv } from "ajv";
import { parse } from "yaml";
import { declaredFields, PackageSpec } from "../../integrations/tools/elastic-package-spec.ts";
import { kibanaRuleBody } from "../../worker/commands/setup-kibana.ts";
import { ECS_FLAT_PATH, REFERENCE_DATA_DIR } from "../helpers/ecs.ts";
import { type Samples, siemSamples } from "../helpers/siem-samples.ts";

const PKG = resolve(import.meta.dirname, "..", "..", "integrations", "elastic", "medsoc");
const ELASTIC = join(REFERENCE_DATA_DIR, "elastic");
const manifest = parse(readFileSync(join(PKG, "manifest.yml"), "utf8")) as {
  format_version: string;
  name: string;
};
const spec = new PackageSpec(join(ELASTIC, "package-spec", "spec"), manifest.format_version);
const STREAMS = ["alert", "audit", "device", "vulnerability"];

describe("Elastic package against package-spec (schemas and folder rules)", () => {
  it("declares a 3.x format_version and is named like the data streams medsoc writes (logs-medsoc.<stream>-*)", () => {
    assert.match(manifest.format_version, /^3\./);
    assert.equal(manifest.name, "medsoc");
    assert.deepEqual(readdirSync(join(PKG, "data_stream")).sort(), STREAMS);
  });
  it("validates with no problems", () => {
    assert.deepEqual(spec.validatePackage(PKG), []);
  });
  it("reports broken packages: missing required files, bad names, schema violations, stray files", () => {
    const dir = mkdtempSync(join(tmpdir(), "medsoc-epkg-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const pkg = join(dir, "medsoc");
    cpSync(PKG, pkg, { recursive: true });
    rmSync(join(pkg, "changelog.yml"));
    renameSync(join(pkg, "data_stream", "audit"), join(pkg, "data_stream", "Audit-Trail"));
    writeFileSync(
      join(pkg, "data_stream", "device", "manifest.yml"),
      "title: Devices\ntype: logz\nunknown_key: 1\n",
    );
    writeFileSync(join(pkg, "data_stream", "alert", "fields", "bad.yml"), "- name: x\n  type: not_a_type\n");
    writeFileSync(join(pkg, "kibana", "dashboard", "posture.json"), "{}");
    writeFileSync(join(pkg, "stray.bin"), "");
    rmSync(join(pkg, "docs", "README.md"));
    const problems = spec.validatePackage(pkg);
    const has = (path: string, text: string) =>
      assert.ok(
        problems.some((p) => p.path.startsWith(path) && p.message.includes(text)),
        `${path}: ${text}\n${JSON.stringify(problems, null, 1)}`,
      );
    has(".", "changelog.yml is missing");
    has("data_stream/Audit-Trail", "not allowed here");
    has("data_stream/device/manifest.yml", "must be equal to one of the allowed values");
    has("data_stream/device/manifest.yml", "additional properties");
    has("data_stream/alert/fields/bad.yml", "/0/type");
    has("kibana/dashboard/posture.json", "not allowed here");
    has("docs", "README.md is missing");
  });
  it("applies version patches: an older format_version rejects what 3.x allows", () => {
    const old = new PackageSpec(join(ELASTIC, "package-spec", "spec"), "2.0.0");
    assert.ok(old.validatePackage(PKG).length > 0);
  });
});

describe("every field medsoc emits is declared", () => {
  const ecs = parse(readFileSync(ECS_FLAT_PATH, "utf8")) as Record<string, { type: string }>;
  let samples: Samples;
  before(async () => {
    samples = await siemSamples(200);
  });
  const leaves = (doc: unknown, prefix = "", out = new Set<string>()) => {
    if (Array.isArray(doc)) for (const x of doc) leaves(x, prefix, out);
    else if (doc !== null && typeof doc === "object")
      for (const [k, v] of Object.entries(doc)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
    else if (doc !== undefined) out.add(prefix);
    return out;
  };
  for (const stream of STREAMS) {
    it(`${stream}: every emitted path is in the fields files, and every external: ecs field exists in ECS`, () => {
      const dir = join(PKG, "data_stream", stream, "fields");
      const fields = declaredFields(readdirSync(dir).map((f) => join(dir, f)));
      const names = new Set(fields.map((f) => f.name));
      // Object-valued leaves: flattened/object fields, and geo_point ({lat, lon}) ones.
      const prefixes = fields
        .filter((f) => f.type === "flattened" || f.type === "object" || ecs[f.name]?.type === "geo_point")
        .map((f) => `${f.name}.`);
      for (const f of fields.filter((x) => x.external === "ecs"))
        assert.ok(ecs[f.name], `${f.name} is not an ECS field`);
      const docs = [
        ...((samples as unknown as Record<string, unknown[]>)[stream] as unknown[]),
        ...(samples.golden[stream] ?? []),
      ];
      assert.ok(docs.length > 0);
      if (stream !== "audit")
        assert.ok((samples.golden[stream] ?? []).length > 10, "golden documents of every source");
      const emitted = new Set<string>();
      for (const d of docs) for (const p of leaves(d)) emitted.add(p);
      const undeclared = [...emitted].filter((p) => !names.has(p) && !prefixes.some((x) => p.startsWith(x)));
      assert.deepEqual(undeclared, []);
    });
  }
  it("the samples cover every source, advisory findings and the real audit trail", () => {
    const sources = new Set(
      Object.values(samples.golden)
        .flat()
        .map((d) => d.medsoc.source),
    );
    assert.deepEqual([...sources].sort(), [
      "armis",
      "asimily",
      "claroty_xdome",
      "cynerio",
      "forescout",
      "nozomi",
      "panw_iot",
    ]);
    assert.ok(samples.vulnerability.some((d) => (d.medsoc as { advisory?: unknown }).advisory !== undefined));
    const actions = new Set(samples.audit.map((d) => (d.event as unknown as { action: string }).action));
    for (const a of ["run.started", "step.completed", "step.failed", "call", "run.finished"])
      assert.ok(actions.has(a), a);
    // Network events that are neither alerts, inventory nor findings keep their vendor stream name.
    assert.deepEqual(
      Object.keys(samples.golden)
        .filter((s) => !STREAMS.includes(s))
        .sort(),
      ["event"],
    );
  });
  it("would catch an undeclared field", () => {
    const dir = join(PKG, "data_stream", "device", "fields");
    const names = new Set(declaredFields(readdirSync(dir).map((f) => join(dir, f))).map((f) => f.name));
    assert.ok(!names.has("medsoc.not_declared"));
    assert.ok(
      names.has("medsoc.device.class") && names.has("host.os.full") && names.has("medsoc.risk.score"),
    );
  });
});

describe("detection rules, transform and dashboard", () => {
  const schema = JSON.parse(
    readFileSync(join(ELASTIC, "detection-rules", "kibana-api-schema-master.query.json"), "utf8"),
  );
  const { $schema: _ignored, ...ruleSchema } = schema;
  const validate = new Ajv({ strict: false, allErrors: true }).compile(ruleSchema);
  const ruleFiles = readdirSync(join(PKG, "kibana", "security_rule"));
  const rules = ruleFiles.map(
    (f) =>
      JSON.parse(readFileSync(join(PKG, "kibana", "security_rule", f), "utf8")) as {
        id: string;
        type: string;
        attributes: Record<string, unknown>;
      },
  );
  it("ships the critical-pump and default-credential rules, valid against the Kibana rule schema", () => {
    assert.equal(rules.length, 2);
    for (const r of rules) {
      assert.equal(r.type, "security-rule");
      assert.equal(r.id, r.attributes.rule_id);
      assert.ok(validate(r.attributes), JSON.stringify(validate.errors));
    }
    const names = rules.map((r) => r.attributes.name as string).sort();
    assert.match(names[0] as string, /Critical alert on an infusion pump/);
    assert.match(names[1] as string, /Default credential exposure/);
  });
  it("the rule bodies medsoc setup kibana sends (with the webhook action) are valid too", () => {
    for (const r of rules) {
      const body = kibanaRuleBody(r.attributes, "connector-1");
      assert.ok(validate(body), JSON.stringify(validate.errors));
      const action = (body.actions as { id: string; action_type_id: string; params: { body: string } }[])[0];
      assert.equal(action?.id, "connector-1");
      assert.equal(action?.action_type_id, ".webhook");
      assert.match(action?.params.body ?? "", /\{\{\{context\.alerts\}\}\}/);
    }
    assert.equal(validate({ ...rules[0]?.attributes, severity: "extreme" }), false);
    assert.equal(validate({ ...rules[0]?.attributes, bogus: 1 }), false);
  });
  it("rule queries and suppression use declared fields of the data streams they search", () => {
    for (const r of rules) {
      const index = (r.attributes.index as string[])[0] as string;
      const stream = /^logs-medsoc\.([a-z_]+)-\*$/.exec(index)?.[1] as string;
      const dir = join(PKG, "data_stream", stream, "fields");
      const names = new Set(declaredFields(readdirSync(dir).map((f) => join(dir, f))).map((f) => f.name));
      const query = r.attributes.query as string;
      for (const m of query.matchAll(/([a-z_]+(?:\.[a-z_]+)+)\s*(?::|>=)/g))
        assert.ok(names.has(m[1] as string), m[1]);
      for (const g of (r.attributes.alert_suppression as { group_by: string[] }).group_by)
        assert.ok(names.has(g), g);
    }
  });
  it("the latest-device transform reads the device stream and keys on a declared field", () => {
    const t = parse(
      readFileSync(join(PKG, "elasticsearch", "transform", "latest_device", "transform.yml"), "utf8"),
    );
    assert.deepEqual(t.source.index, ["logs-medsoc.device-*"]);
    assert.deepEqual(t.latest.unique_key, ["medsoc.device.key"]);
    assert.equal(t.sync.time.field, "event.ingested");
    const dir = join(PKG, "elasticsearch", "transform", "latest_device", "fields");
    const names = new Set(declaredFields(readdirSync(dir).map((f) => join(dir, f))).map((f) => f.name));
    assert.ok(names.has("medsoc.device.key") && names.has("event.ingested"));
  });
  it("the posture dashboard is a dashboard saved object whose Lens filters use declared fields", () => {
    const d = JSON.parse(readFileSync(join(PKG, "kibana", "dashboard", "medsoc-fleet-posture.json"), "utf8"));
    assert.equal(d.type, "dashboard");
    assert.match(d.id, /^medsoc-/);
    const panels = JSON.parse(d.attributes.panelsJSON) as {
      embeddableConfig: { attributes: { state: { datasourceStates: unknown } } };
    }[];
    assert.equal(panels.length, 7);
    const dir = join(PKG, "elasticsearch", "transform", "latest_device", "fields");
    const names = new Set(declaredFields(readdirSync(dir).map((f) => join(dir, f))).map((f) => f.name));
    for (const p of panels) {
      const text = JSON.stringify(p.embeddableConfig.attributes.state.datasourceStates);
      for (const m of text.matchAll(/(medsoc\.[a-z_.]+)\s*(?::|>=)/g))
        assert.ok(names.has(m[1] as string), m[1]);
    }
  });
  it("the ingest pipeline sets event.ingested (the rules' timestamp_override)", () => {
    for (const s of STREAMS) {
      const p = parse(
        readFileSync(join(PKG, "data_stream", s, "elasticsearch", "ingest_pipeline", "default.yml"), "utf8"),
      );
      assert.ok(p.processors.some((x: { set?: { field: string } }) => x.set?.field === "event.ingested"));
    }
  });
});
