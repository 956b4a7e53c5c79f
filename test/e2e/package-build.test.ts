/**
 * `medsoc package elastic|splunk` build only valid packages: the Elastic zip carries typed ECS
 * fields (no `external:` left), and every defect a reviewer found in a broken copy is refused with
 * its path, without an archive. Needs the reference data (`MEDSOC_REFERENCE_DIR`).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { inflateRawSync } from "node:zlib";
import { parse, stringify } from "yaml";
import { resolveExternalFields } from "../../integrations/tools/elastic-package-build.ts";
import { parseConf, settingValue } from "../../integrations/tools/splunk-conf.ts";
import {
  checkElasticPackage,
  ELASTIC_PACKAGE_DIR,
  PackageInvalidError,
  packageElastic,
  packageSplunk,
  SPLUNK_APP_DIR,
} from "../../worker/commands/package.ts";
import { REFERENCE_DATA_DIR } from "../helpers/ecs.ts";

const referenceDir = REFERENCE_DATA_DIR;
const REPO = resolve(import.meta.dirname, "..", "..");

/** The entries of a zip file (stored or deflated), by name. */
function unzip(file: string): Map<string, Buffer> {
  const buf = readFileSync(file);
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(eocd >= 0, "no end of central directory");
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50);
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString("utf8");
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + size);
    out.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

interface Field {
  name: string;
  type?: string;
  external?: string;
  fields?: Field[];
  multi_fields?: { name: string; type: string }[];
}
function flatten(list: Field[], prefix = "", out = new Map<string, Field>()): Map<string, Field> {
  for (const f of list) {
    const n = prefix ? `${prefix}.${f.name}` : f.name;
    if (f.fields) flatten(f.fields, n, out);
    else out.set(n, f);
  }
  return out;
}

const work = mkdtempSync(join(tmpdir(), "medsoc-pkgbuild-"));
after(() => rmSync(work, { recursive: true, force: true }));
let copies = 0;
function copy(src: string, name: string): string {
  const dir = join(work, `c${++copies}`, name);
  cpSync(src, dir, { recursive: true });
  return dir;
}

describe("medsoc package elastic: a zip with typed ECS fields", () => {
  let zip: Map<string, Buffer>;
  it("builds, and the unpacked zip has no external: left in any fields file", async () => {
    const r = await packageElastic(join(work, "dist"), ELASTIC_PACKAGE_DIR, { referenceDir });
    zip = unzip(r.file);
    assert.equal(zip.size, r.entries);
    const fieldsFiles = [...zip.keys()].filter((n) => /\/fields\/[^/]+\.yml$/.test(n));
    assert.ok(fieldsFiles.length >= 20, fieldsFiles.join(" "));
    for (const n of fieldsFiles) assert.doesNotMatch(zip.get(n)?.toString() ?? "", /external:/, n);
    assert.ok(![...zip.keys()].some((n) => n.includes("/_dev/")), "_dev is left out");
    for (const must of ["medsoc-0.1.0/docs/README.md", "medsoc-0.1.0/img/medsoc-logo.svg"])
      assert.ok(zip.has(must), must);
  });
  it("event.ingested, host.ip, event.severity come out as date, ip, long (with ECS descriptions and multi-fields)", () => {
    for (const stream of ["device", "alert", "vulnerability", "event"]) {
      const fields = new Map<string, Field>();
      for (const [n, data] of zip)
        if (n.startsWith(`medsoc-0.1.0/data_stream/${stream}/fields/`))
          flatten(parse(data.toString()) as Field[], "", fields);
      assert.equal(fields.get("event.ingested")?.type, "date", stream);
      assert.equal(fields.get("host.ip")?.type, "ip", stream);
      for (const f of fields.values()) assert.ok(f.type, `${stream}: ${f.name} has a type`);
    }
    const alert = new Map<string, Field & { description?: string }>();
    for (const [n, data] of zip)
      if (n.startsWith("medsoc-0.1.0/data_stream/alert/fields/"))
        flatten(parse(data.toString()) as Field[], "", alert);
    assert.equal(alert.get("event.severity")?.type, "long");
    assert.equal(alert.get("destination.port")?.type, "long");
    assert.equal(alert.get("source.ip")?.type, "ip");
    assert.match(alert.get("event.severity")?.description ?? "", /numeric severity/);
    assert.deepEqual(alert.get("message")?.type, "match_only_text");
    const device = new Map<string, Field>();
    for (const [n, data] of zip)
      if (n.startsWith("medsoc-0.1.0/data_stream/device/fields/"))
        flatten(parse(data.toString()) as Field[], "", device);
    assert.deepEqual(device.get("host.os.full")?.multi_fields, [{ name: "text", type: "match_only_text" }]);
    // Fixed values keep their own type override (keyword → constant_keyword is allowed).
    assert.equal(device.get("data_stream.dataset")?.type, "constant_keyword");
  });
  it("the package is valid as committed, its field tables included (a stale docs/README.md fails here)", () => {
    assert.deepEqual(checkElasticPackage(ELASTIC_PACKAGE_DIR, { referenceDir }), []);
    const readme = readFileSync(join(ELASTIC_PACKAGE_DIR, "docs", "README.md"), "utf8");
    assert.match(readme, /\| event\.ingested +\|.*\| date +\|/);
    assert.match(readme, /### event/);
  });
  it("every data stream's sample_event.json uses only fields its built fields files declare, with ECS types", () => {
    const leaves = (doc: unknown, prefix = "", out = new Map<string, unknown>()) => {
      if (Array.isArray(doc)) for (const x of doc) leaves(x, prefix, out);
      else if (doc !== null && typeof doc === "object")
        for (const [k, v] of Object.entries(doc)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
      else out.set(prefix, doc);
      return out;
    };
    for (const stream of readdirSync(join(ELASTIC_PACKAGE_DIR, "data_stream"))) {
      const fields = new Map<string, Field>();
      for (const [n, data] of zip)
        if (n.startsWith(`medsoc-0.1.0/data_stream/${stream}/fields/`))
          flatten(parse(data.toString()) as Field[], "", fields);
      const sample = JSON.parse(
        zip.get(`medsoc-0.1.0/data_stream/${stream}/sample_event.json`)?.toString() ?? "{}",
      );
      const flattened = [...fields.values()].filter((f) => f.type === "flattened").map((f) => `${f.name}.`);
      for (const [path, value] of leaves(sample)) {
        if (flattened.some((p) => path.startsWith(p))) continue;
        const f = fields.get(path);
        assert.ok(f, `${stream}: ${path} is not declared`);
        if (f.type === "long")
          assert.ok(Number.isInteger(value), `${stream}: ${path} = ${value} is not a long`);
        if (f.type === "date") assert.ok(!Number.isNaN(Date.parse(String(value))), `${stream}: ${path}`);
      }
    }
  });
  it("the source package pins its ECS version in _dev/build/build.yml", () => {
    const build = parse(readFileSync(join(ELASTIC_PACKAGE_DIR, "_dev", "build", "build.yml"), "utf8"));
    assert.equal(build.dependencies.ecs.reference, "git@v9.4.0");
  });
});

describe("medsoc package elastic refuses broken copies, each with its path", () => {
  const defects: [string, (dir: string) => void, string, RegExp][] = [
    [
      "data stream manifest ending in garbage: [",
      (d) => appendFileSync(join(d, "data_stream", "device", "manifest.yml"), "garbage: [\n"),
      "data_stream/device/manifest.yml",
      /cannot be parsed/,
    ],
    ["deleted docs/README.md", (d) => rmSync(join(d, "docs", "README.md")), "docs", /README\.md is missing/],
    [
      "changelog 0.2.0 vs manifest 0.1.0",
      (d) => {
        const file = join(d, "changelog.yml");
        writeFileSync(
          file,
          `- version: "0.2.0"\n  changes:\n    - description: Next.\n      type: enhancement\n      link: https://github.com/medsoc/medsoc/pull/2\n${readFileSync(file, "utf8")}`,
        );
      },
      "changelog.yml",
      /version integrity: the newest changelog entry is 0\.2\.0, the manifest version is 0\.1\.0/,
    ],
    [
      "duplicate field",
      (d) =>
        writeFileSync(
          join(d, "data_stream", "alert", "fields", "extra.yml"),
          "- name: event.severity\n  type: long\n  description: again\n",
        ),
      "data_stream/alert/fields/extra.yml",
      /unique fields: event\.severity is declared more than once/,
    ],
    [
      "dashboard id different from its file name",
      (d) => {
        const f = join(d, "kibana", "dashboard", "medsoc-fleet-posture.json");
        const j = JSON.parse(readFileSync(f, "utf8"));
        j.id = "medsoc-other";
        writeFileSync(f, JSON.stringify(j));
      },
      "kibana/dashboard/medsoc-fleet-posture.json",
      /id "medsoc-other" does not match the file name/,
    ],
    [
      "data_stream.dataset removed from base fields",
      (d) => {
        const f = join(d, "data_stream", "device", "fields", "base-fields.yml");
        const list = (parse(readFileSync(f, "utf8")) as Field[]).filter(
          (x) => x.name !== "data_stream.dataset",
        );
        writeFileSync(f, stringify(list));
      },
      "data_stream/device/fields",
      /required fields: data_stream\.dataset is not declared/,
    ],
    [
      "icon pointing to a missing file",
      (d) => {
        const f = join(d, "manifest.yml");
        writeFileSync(f, readFileSync(f, "utf8").replace("/img/medsoc-logo.svg", "/img/missing.svg"));
      },
      "manifest.yml",
      /icons: \/img\/missing\.svg does not exist/,
    ],
    [
      "external: ecs on a field that is not in ECS",
      (d) =>
        appendFileSync(
          join(d, "data_stream", "alert", "fields", "ecs.yml"),
          "- name: host.pump_rate\n  external: ecs\n",
        ),
      "data_stream/alert/fields/ecs.yml",
      /host\.pump_rate: external: ecs, but ECS has no field host\.pump_rate/,
    ],
    [
      "dashboard without a dataset filter",
      (d) => {
        const f = join(d, "kibana", "dashboard", "medsoc-fleet-posture.json");
        const j = JSON.parse(readFileSync(f, "utf8"));
        j.attributes.kibanaSavedObjectMeta.searchSourceJSON = JSON.stringify({
          query: { query: "", language: "kuery" },
          filter: [],
        });
        writeFileSync(f, JSON.stringify(j));
      },
      "kibana/dashboard/medsoc-fleet-posture.json",
      /expected filter in dashboard/,
    ],
    [
      "more fields than package-spec allows in one data stream",
      (d) =>
        writeFileSync(
          join(d, "data_stream", "event", "fields", "many.yml"),
          stringify(
            Array.from({ length: 1100 }, (_, i) => ({ name: `medsoc_extra.f${i}`, type: "keyword" })),
          ),
        ),
      "data_stream/event/fields",
      /fields limit: \d+ fields declared, at most 1024/,
    ],
    [
      "an ILM policy the data stream manifest names but the package does not define",
      (d) => rmSync(join(d, "data_stream", "event", "elasticsearch", "ilm", "default_policy.json")),
      "data_stream/event/manifest.yml",
      /ilm_policy logs-medsoc\.event-default_policy is not defined/,
    ],
    [
      "a fields file edited without regenerating the field tables",
      (d) => {
        const f = join(d, "data_stream", "audit", "fields", "base-fields.yml");
        writeFileSync(f, readFileSync(f, "utf8").replace("Event timestamp.", "When it happened."));
      },
      "docs/README.md",
      /is stale/,
    ],
  ];
  for (const [name, breakIt, path, message] of defects)
    it(`${name}: ${path}`, async () => {
      const dir = copy(ELASTIC_PACKAGE_DIR, "medsoc");
      breakIt(dir);
      const out = join(work, `out-${copies}`);
      await assert.rejects(packageElastic(out, dir, { referenceDir }), (e: unknown) => {
        assert.ok(e instanceof PackageInvalidError, String(e));
        assert.ok(
          e.problems.some((p) => p.path === path && message.test(p.message)),
          `${path} ${message}\n${JSON.stringify(e.problems, null, 1)}`,
        );
        assert.match(e.message, new RegExp(path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
        return true;
      });
      assert.ok(!existsSync(out) || readdirSync(out).length === 0, "no zip is written");
    });
  it("reports every problem of a copy with all the defects at once", () => {
    const dir = copy(ELASTIC_PACKAGE_DIR, "medsoc");
    for (const [, breakIt] of defects.slice(0, -1)) breakIt(dir);
    const problems = checkElasticPackage(dir, { referenceDir });
    for (const [name, , path, message] of defects.slice(0, -1))
      assert.ok(
        problems.some((p) => p.path === path && message.test(p.message)),
        `${name}\n${JSON.stringify(problems, null, 1)}`,
      );
  });
  it("an unreadable package manifest.yml is reported, and the other files are still checked", () => {
    const dir = copy(ELASTIC_PACKAGE_DIR, "medsoc");
    writeFileSync(join(dir, "manifest.yml"), "garbage: [\n");
    writeFileSync(
      join(dir, "data_stream", "alert", "fields", "bad.yml"),
      "- \n- name: x\n  fields:\n    - null\n",
    );
    const problems = checkElasticPackage(dir, { referenceDir });
    assert.ok(problems.some((p) => p.path === "manifest.yml" && /cannot be parsed/.test(p.message)));
    assert.ok(
      problems.some((p) => p.path === "data_stream/alert/fields/bad.yml" && /must be object/.test(p.message)),
    );
  });
  it("refuses to build without package-spec (never an unvalidated zip)", async () => {
    await assert.rejects(
      packageElastic(join(work, "nospec"), ELASTIC_PACKAGE_DIR, { referenceDir: join(work, "nowhere") }),
      /package-spec is not at .*--reference/,
    );
  });
  it("the CLI exits non-zero and prints every problem with its path", async () => {
    const dir = copy(ELASTIC_PACKAGE_DIR, "medsoc");
    appendFileSync(join(dir, "data_stream", "device", "manifest.yml"), "garbage: [\n");
    rmSync(join(dir, "docs", "README.md"));
    const run = promisify(execFile);
    await assert.rejects(
      run(
        process.execPath,
        [
          join(REPO, "bin", "medsoc.mjs"),
          "package",
          "elastic",
          "--source",
          dir,
          "--out",
          join(work, "cli-out"),
          "--reference",
          referenceDir,
        ],
        { cwd: work },
      ),
      (e: { code?: number; stderr?: string }) => {
        assert.equal(e.code, 2);
        assert.match(e.stderr ?? "", /data_stream\/device\/manifest\.yml: cannot be parsed/);
        assert.match(e.stderr ?? "", /docs: required file README\.md is missing/);
        return true;
      },
    );
    assert.ok(!existsSync(join(work, "cli-out")));
  });
});

describe("medsoc package splunk: the full lint with the conf spec files", () => {
  it("builds the app", async () => {
    const r = await packageSplunk(join(work, "splunk-dist"), SPLUNK_APP_DIR, { referenceDir });
    assert.match(r.file, /medsoc-0\.1\.0\.tgz$/);
  });
  const defects: [string, (dir: string) => void, RegExp][] = [
    [
      "KV_MOD typo in props.conf",
      (d) => {
        const f = join(d, "default", "props.conf");
        writeFileSync(f, readFileSync(f, "utf8").replace(/^KV_MODE = json$/m, "KV_MOD = json"));
      },
      /default\/props\.conf:\d+: conf_unknown_setting: .*KV_MOD/,
    ],
    [
      "unknown savedsearches.conf key",
      (d) =>
        appendFileSync(
          join(d, "default", "savedsearches.conf"),
          "\n[x]\nsearch = index=medsoc\ncron_shedule = * * * * *\n",
        ),
      /default\/savedsearches\.conf:\d+: conf_unknown_setting: .*cron_shedule/,
    ],
    [
      "a local/ folder (check_that_local_does_not_exist)",
      (d) => {
        cpSync(join(d, "default", "macros.conf"), join(d, "local", "macros.conf"), { recursive: true });
      },
      /local\/: check_that_local_does_not_exist/,
    ],
    [
      "alert action icon missing (check_alert_actions_exe_exist)",
      (d) => rmSync(join(d, "appserver", "static", "medsoc_playbook.png")),
      /check_alert_actions_exe_exist: icon_path medsoc_playbook\.png/,
    ],
    [
      "app icon of the wrong size (check_app_icons)",
      (d) => cpSync(join(d, "static", "appIcon_2x.png"), join(d, "static", "appIcon.png")),
      /static\/appIcon\.png: check_app_icons: .*36x36/,
    ],
    [
      "an app that ships as already set up (check_that_setup_has_not_been_performed)",
      (d) => {
        const f = join(d, "default", "app.conf");
        writeFileSync(f, readFileSync(f, "utf8").replace("is_configured = false", "is_configured = true"));
      },
      /default\/app\.conf: check_that_setup_has_not_been_performed/,
    ],
    [
      "app.manifest without the platform requirement",
      (d) => {
        const f = join(d, "app.manifest");
        const j = JSON.parse(readFileSync(f, "utf8"));
        j.platformRequirements = null;
        writeFileSync(f, JSON.stringify(j));
      },
      /app\.manifest: check_manifest_platform_requirements/,
    ],
  ];
  for (const [name, breakIt, message] of defects)
    it(`refuses ${name}`, async () => {
      const dir = copy(SPLUNK_APP_DIR, "medsoc");
      breakIt(dir);
      const out = join(work, `sout-${copies}`);
      await assert.rejects(packageSplunk(out, dir, { referenceDir }), (e: unknown) => {
        assert.ok(e instanceof PackageInvalidError, String(e));
        assert.match(e.message, message);
        return true;
      });
      assert.ok(!existsSync(out), "no archive is written");
    });
  it("the CLI exits non-zero and names the file and line of a KV_MOD typo", async () => {
    const dir = copy(SPLUNK_APP_DIR, "medsoc");
    const f = join(dir, "default", "props.conf");
    writeFileSync(f, readFileSync(f, "utf8").replace(/^KV_MODE = json$/m, "KV_MOD = json"));
    const run = promisify(execFile);
    await assert.rejects(
      run(
        process.execPath,
        [
          join(REPO, "bin", "medsoc.mjs"),
          "package",
          "splunk",
          "--source",
          dir,
          "--out",
          join(work, "cli-splunk"),
          "--reference",
          referenceDir,
        ],
        { cwd: work },
      ),
      (e: { code?: number; stderr?: string }) => {
        assert.equal(e.code, 2);
        assert.match(e.stderr ?? "", /default\/props\.conf:\d+: conf_unknown_setting: KV_MOD/);
        return true;
      },
    );
    assert.ok(!existsSync(join(work, "cli-splunk")));
  });
  it("refuses to build without the spec files", async () => {
    await assert.rejects(
      packageSplunk(join(work, "nospecs"), SPLUNK_APP_DIR, { referenceDir: join(work, "nowhere") }),
      /\.conf\.spec files are not at/,
    );
  });
});

describe("package contents the reviewers asked for", () => {
  const conf = (name: string) =>
    parseConf(readFileSync(join(SPLUNK_APP_DIR, "default", `${name}.conf`), "utf8"));
  it("the playbook-trigger saved searches window on index time (late alerts are still evaluated), like the Kibana rules' event.ingested", () => {
    const saved = conf("savedsearches");
    const triggers = saved.stanzas.filter((s) =>
      settingValue(saved, s.name, "action.medsoc_playbook.param.playbook"),
    );
    assert.equal(triggers.length, 2);
    for (const s of triggers) {
      const search = settingValue(saved, s.name, "search") ?? "";
      assert.match(search, /_index_earliest=|_indextime/, s.name);
      // The _time range is wide enough for documents delivered days late.
      assert.match(settingValue(saved, s.name, "dispatch.earliest_time") ?? "", /^-(7|30)d@d$/, s.name);
    }
    for (const dir of readdirSync(join(ELASTIC_PACKAGE_DIR, "kibana", "security_rule"))) {
      const rule = JSON.parse(
        readFileSync(join(ELASTIC_PACKAGE_DIR, "kibana", "security_rule", dir), "utf8"),
      );
      assert.equal(rule.attributes.timestamp_override, "event.ingested");
    }
  });
  it("no invented CIM value: props.conf sets no password", () => {
    const props = conf("props");
    for (const s of props.stanzas)
      assert.equal(settingValue(props, s.name, "EVAL-password"), undefined, s.name);
  });
  it("Splunk 9.4+ is declared and the development status fits a 0.x release", () => {
    const manifest = JSON.parse(readFileSync(join(SPLUNK_APP_DIR, "app.manifest"), "utf8"));
    assert.equal(manifest.platformRequirements.splunk.Enterprise, ">=9.4.0");
    assert.notEqual(manifest.info.classification.developmentStatus, "Production/Stable");
  });
  it("every data stream has a lifecycle.yml with the retention of its ILM policy", () => {
    for (const ds of readdirSync(join(ELASTIC_PACKAGE_DIR, "data_stream"))) {
      const lifecycle = parse(
        readFileSync(join(ELASTIC_PACKAGE_DIR, "data_stream", ds, "lifecycle.yml"), "utf8"),
      );
      const ilm = JSON.parse(
        readFileSync(
          join(ELASTIC_PACKAGE_DIR, "data_stream", ds, "elasticsearch", "ilm", "default_policy.json"),
          "utf8",
        ),
      );
      assert.equal(lifecycle.data_retention, ilm.policy.phases.delete.min_age, ds);
    }
  });
  it("the Elastic package names no playbook that does not exist", () => {
    const ids = [
      "isolate-infusion-pump",
      "release-device",
      "rotate-shared-credentials",
      "contain-eol-workstation",
    ];
    for (const file of [join(ELASTIC_PACKAGE_DIR, "docs", "README.md"), join(SPLUNK_APP_DIR, "README.md")])
      assert.doesNotMatch(readFileSync(file, "utf8"), /contain_infusion_pump/, file);
    // The README and docs/ mention the old name only as an alias the trigger route still maps.
    const readme = [
      join(REPO, "README.md"),
      ...readdirSync(join(REPO, "docs")).map((f) => join(REPO, "docs", f)),
    ]
      .map((f) => readFileSync(f, "utf8"))
      .join(" ")
      .replace(/\s+/g, " ");
    const mentions = [...readme.matchAll(/.{0,60}contain_infusion_pump.{0,10}/g)].map((m) => m[0]);
    assert.ok(mentions.length > 0 && mentions.every((m) => /alias/.test(m)), mentions.join("\n"));
    const saved = conf("savedsearches");
    for (const s of saved.stanzas) {
      const p = settingValue(saved, s.name, "action.medsoc_playbook.param.playbook");
      if (p) assert.ok(ids.includes(p), p);
    }
  });
});

describe("resolving external: ecs fields", () => {
  const ecs = new Map([
    ["event.original", { type: "keyword", description: "Raw text.", index: false, doc_values: false }],
    ["event.severity", { type: "long", description: "Numeric severity." }],
    ["observer.vendor", { type: "keyword", description: "Vendor name." }],
    [
      "host.os.full",
      { type: "keyword", description: "OS.", multi_fields: [{ name: "text", type: "match_only_text" }] },
    ],
    ["host.cpu.usage", { type: "scaled_float", description: "CPU.", scaling_factor: 1000 }],
  ]);
  it("takes type, description, index/doc_values, multi-fields and scaling_factor from ECS; local keys override all but the type", () => {
    const problems: string[] = [];
    const out = resolveExternalFields(
      [
        { name: "event.original", external: "ecs" },
        { name: "event.severity", external: "ecs", type: "keyword", description: "Our own words." },
        { name: "observer.vendor", external: "ecs", type: "constant_keyword", value: "medsoc" },
        { name: "host", type: "group", fields: [{ name: "os.full", external: "ecs" }] },
        { name: "host.cpu.usage", external: "ecs" },
        { name: "host.pump_rate", external: "ecs" },
      ],
      ecs,
      "",
      problems,
    );
    assert.deepEqual(out[0], {
      name: "event.original",
      type: "keyword",
      description: "Raw text.",
      index: false,
      doc_values: false,
    });
    assert.deepEqual(out[1], { name: "event.severity", type: "long", description: "Our own words." });
    assert.deepEqual(out[2], {
      name: "observer.vendor",
      type: "constant_keyword",
      description: "Vendor name.",
      value: "medsoc",
    });
    assert.deepEqual(out[3]?.fields?.[0], {
      name: "os.full",
      type: "keyword",
      description: "OS.",
      multi_fields: [{ name: "text", type: "match_only_text" }],
    });
    assert.equal(out[4]?.scaling_factor, 1000);
    assert.deepEqual(problems, ["host.pump_rate: external: ecs, but ECS has no field host.pump_rate"]);
  });
});
