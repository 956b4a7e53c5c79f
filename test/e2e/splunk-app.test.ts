import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import dashboardDefinition from "@splunk/dashboard-definition";
import visualizationSchemas from "@splunk/visualization-schemas";
import { Ajv } from "ajv";
import { lintSplunkApp } from "../../integrations/tools/splunk-app-lint.ts";
import { type CimModel, checkCimModel } from "../../integrations/tools/splunk-cim.ts";
import { parseConf, parseSpec, settingValue, specAllows } from "../../integrations/tools/splunk-conf.ts";
import { evaluate, extractJson, matchesSearch, searchTime } from "../../integrations/tools/splunk-search.ts";
import { REFERENCE_DATA_DIR } from "../helpers/ecs.ts";
import { type Samples, siemSamples } from "../helpers/siem-samples.ts";

const APP = resolve(import.meta.dirname, "..", "..", "integrations", "splunk", "medsoc");
const SPLUNK = join(REFERENCE_DATA_DIR, "splunk");
const SPECS = join(SPLUNK, "conf-specs");
const lintOptions = {
  specDir: SPECS,
  commonFieldsFile: join(SPLUNK, "cim", "pytest_splunk_addon_CommonFields.json"),
};
const conf = (name: string) => parseConf(readFileSync(join(APP, "default", `${name}.conf`), "utf8"));
const checks = (findings: { check: string }[]) => new Set(findings.map((f) => f.check));

describe("splunk .conf parser and spec", () => {
  it("parses the conf-parser edge cases: continuation lines, and inline ; or # kept in the value", () => {
    const c = parseConf(
      readFileSync(join(SPLUNK, "conf-fixtures", "addonfactory-splunk-conf-parser-lib_test.conf"), "utf8"),
    );
    assert.deepEqual(
      c.stanzas.map((s) => s.name),
      ["source", "sourcetype:deprecated", "eventtype=some_eventtype"],
    );
    assert.equal(
      settingValue(c, "source", "EVAL-field3"),
      'case(isnotnull(field4), "success",\n                   isnotnull(field5), "failure")',
    );
    assert.equal(
      settingValue(c, "eventtype=some_eventtype", "tag1"),
      "enabled ; Inline comment example using semicolon",
    );
    assert.deepEqual(c.problems, []);
  });
  it("matches spec settings exactly and by prefix, per stanza, as conf_checker.rules describes", () => {
    const spec = parseSpec(
      "foo = bar\n[default]\nfoo2 = x\n[access_allowed]\nadmin = true\n[category:name]\naccess = x\nFOO-class = y\n",
    );
    assert.ok(specAllows(spec, "whatever", "foo2"));
    assert.ok(specAllows(spec, "access_allowed", "admin"));
    assert.ok(!specAllows(spec, "something_else", "admin"));
    assert.ok(specAllows(spec, "category:fruit", "access"));
    assert.ok(specAllows(spec, "categorywhatever", "FOO-anything"));
    assert.ok(!specAllows(spec, "categorywhatever", "foo3"));
  });
});

describe("splunk app lint (spec-driven linter and the AppInspect subset)", () => {
  it("passes our app with zero findings", () => {
    assert.deepEqual(lintSplunkApp(APP, lintOptions), []);
  });
  it("reports only the missing executable (and its icon) for Splunk's clean slack_alerts example", () => {
    const f = lintSplunkApp(join(SPLUNK, "apps", "splunk-app-examples_slack_alerts"), lintOptions);
    assert.deepEqual([...checks(f)], ["check_alert_actions_exe_exist"]);
    assert.ok(f.some((x) => x.message.includes("bin/slack.py")));
  });
  it("flags the Dragos community app's known defects", () => {
    const f = lintSplunkApp(join(SPLUNK, "apps", "dragos-ot-community"), lintOptions);
    const has = (check: string, text: string) =>
      assert.ok(
        f.some((x) => x.check === check && `${x.file} ${x.message}`.includes(text)),
        `${check}: ${text}`,
      );
    has("conf_without_spec", "alerts_actions.conf"); // misnamed file
    has("conf_syntax", '"alert_name"'); // multi-line value without continuation
    has("props_wildcard_sourcetype", "[dragos:*]");
    has("props_json_extracted_twice", "INDEXED_EXTRACTIONS and KV_MODE");
    has("props_timestamp_contradiction", "DATETIME_CONFIG = NONE");
    has("conf_unknown_setting", "reload.setup is not a setting of [settings]"); // setting in the wrong stanza
    has("conf_unknown_stanza", "[uninstall]");
    has("conf_unknown_setting", "passAuth is not a setting of [script:dragos_ot_security]");
    has("credentials_in_conf", "password");
    has("check_manifest_schema", '"shc"');
    has("check_manifest_schema", "platform");
    has("check_manifest_schema", "minVersion");
  });
  it("flags the Armis community app's known defects", () => {
    const f = lintSplunkApp(join(SPLUNK, "apps", "armis-centrix-community"), lintOptions);
    const has = (check: string, text: string) =>
      assert.ok(
        f.some((x) => x.check === check && `${x.file} ${x.message}`.includes(text)),
        `${check}: ${text}`,
      );
    has("check_conf_files_in_default", "default/data/props.conf");
    has("check_manifest_matches_app_conf", "TA-armis");
    has("check_manifest_matches_app_conf", "1.9.3");
    has("sourcetype_consistency", "armis_devices");
    has("props_eval_bare_word", "EVAL-priority = unknown");
    has("props_cim_semantics", "EVAL-mac");
    has("tags_not_cim", "ot_asset");
    has("props_reserved_es_field", "dest_category");
    has("credentials_in_conf", "proxy_password");
  });
  it("fires each AppInspect check on a copy of our app with that defect", () => {
    const dir = mkdtempSync(join(tmpdir(), "medsoc-appinspect-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const app = join(dir, "medsoc");
    cpSync(APP, app, { recursive: true });
    cpSync(join(app, "default"), join(app, "local"), { recursive: true });
    writeFileSync(join(app, "metadata", "local.meta"), "[]\n");
    writeFileSync(join(app, "bin", "helper.pyc"), "");
    writeFileSync(
      join(app, "default", "data", "ui", "views", "my view.xml"),
      "<dashboard><label>x</label></dashboard>",
    );
    writeFileSync(
      join(app, "default", "data", "ui", "views", "broken.xml"),
      "<dashboard><label>x</dashboard>",
    );
    writeFileSync(join(app, "default", "medsoc_settings.conf"), "[main]\nlevel = 1\n");
    writeFileSync(join(app, "default", "outputs.conf"), "[tcpout]\ndefaultGroup = x\n");
    writeFileSync(
      join(app, "default", "inputs.conf"),
      "[monitor:///var/log/x]\nindex = medsoc\n[tcp://9999]\nindex = medsoc\n",
    );
    writeFileSync(join(app, "bin", "medsoc_playbook.py"), `x = "http://medsoc.example/"\n`);
    rmSync(join(app, "appserver", "static", "medsoc_playbook.png"));
    const manifest = JSON.parse(readFileSync(join(app, "app.manifest"), "utf8"));
    manifest.info.id.version = "9.9.9";
    writeFileSync(join(app, "app.manifest"), JSON.stringify(manifest));
    const found = checks(lintSplunkApp(app, lintOptions));
    for (const check of [
      "check_that_local_does_not_exist",
      "check_for_local_meta",
      "check_for_compiled_python",
      "check_filenames_for_spaces",
      "check_that_all_xml_files_are_well_formed",
      "check_reload_trigger_for_all_custom_confs",
      "check_forbidden_conf",
      "check_for_inputs_fifo_or_monitor_usage",
      "check_inputs_conf_for_tcp_udp_ssl",
      "check_for_insecure_http_calls_in_python",
      "check_alert_actions_exe_exist",
      "check_manifest_matches_app_conf",
    ])
      assert.ok(found.has(check), `${check} should fire`);
    rmSync(join(app, "bin", "medsoc_playbook.py"));
    assert.ok(
      lintSplunkApp(app, lintOptions).some(
        (x) => x.check === "check_alert_actions_exe_exist" && x.message.includes("no executable"),
      ),
    );
  });
  it("declares every medsoc_playbook parameter used by the saved searches in README/*.conf.spec", () => {
    const spec = readFileSync(join(APP, "README", "savedsearches.conf.spec"), "utf8");
    const actionSpec = readFileSync(join(APP, "README", "alert_actions.conf.spec"), "utf8");
    for (const s of conf("savedsearches").stanzas)
      for (const x of s.settings.filter((y) => y.key.startsWith("action.medsoc_playbook.")))
        assert.ok(spec.includes(`${x.key} =`), `${x.key} is not declared`);
    for (const x of conf("alert_actions").stanzas[0]?.settings.filter((y) => y.key.startsWith("param.")) ??
      [])
      assert.ok(actionSpec.includes(`${x.key} =`), `${x.key} is not declared`);
  });
  it("uses only macros that the app defines, and the sourcetypes of our HEC sink", () => {
    const macros = new Set(conf("macros").stanzas.map((s) => s.name));
    const texts = [
      ...conf("savedsearches").stanzas.map(
        (s) => settingValue(conf("savedsearches"), s.name, "search") ?? "",
      ),
      ...conf("macros").stanzas.map((s) => settingValue(conf("macros"), s.name, "definition") ?? ""),
      ...readdirSync(join(APP, "default", "data", "ui", "views")).map((f) =>
        readFileSync(join(APP, "default", "data", "ui", "views", f), "utf8"),
      ),
    ];
    let used = 0;
    for (const t of texts)
      for (const m of t.matchAll(/`([a-z_]+)`/g)) {
        used++;
        assert.ok(macros.has(m[1] as string), `macro ${m[1]} is not defined`);
      }
    assert.ok(used > 10);
    const props = new Set(conf("props").stanzas.map((s) => s.name));
    assert.deepEqual([...props].sort(), [
      "medsoc:alert",
      "medsoc:audit",
      "medsoc:device",
      "medsoc:event",
      "medsoc:vulnerability",
    ]);
    const sink = readFileSync(
      resolve(APP, "..", "..", "..", "worker", "sinks", "splunk-hec", "envelope.ts"),
      "utf8",
    );
    assert.match(sink, /sourcetype: `medsoc:\$\{siemStreamOf\(doc\)\}`/);
  });
});

describe("splunk search-time subset", () => {
  it("extracts JSON as KV_MODE=json does", () => {
    const f = extractJson({
      host: { ip: ["10.0.0.1", "10.0.0.2"], id: "7" },
      ds: [{ name: "a" }, { name: "b" }],
      ok: true,
    });
    assert.deepEqual(f.get("host.ip{}"), ["10.0.0.1", "10.0.0.2"]);
    assert.deepEqual(f.get("host.id"), ["7"]);
    assert.deepEqual(f.get("ds{}.name"), ["a", "b"]);
    assert.deepEqual(f.get("ok"), ["true"]);
  });
  it("evaluates the EVAL subset with Splunk's null rules", () => {
    const f = extractJson({ a: { b: "X" }, n: 73, list: ["p", "q"] });
    assert.equal(evaluate(`coalesce('missing', lower('a.b'))`, f), "x");
    assert.equal(evaluate(`'a.b'." ".'missing'`, f), null);
    assert.equal(evaluate(`case('n'>=99, "critical", 'n'>=73, "high", true(), "low")`, f), "high");
    assert.equal(evaluate(`unknown`, f), null, "a bare word reads a field");
    assert.equal(evaluate(`mvindex('list{}', 1)`, f), "q");
    assert.throws(() => evaluate(`strftime(_time, "%Y")`, f), /outside the supported subset/);
  });
  it("matches eventtype and CIM constraint searches", () => {
    const f = new Map([
      ["sourcetype", ["medsoc:device"]],
      ["credential_exposure", ["default"]],
      ["tag", ["inventory", "user"]],
    ]);
    assert.ok(matchesSearch(`sourcetype="medsoc:device" credential_exposure IN (default, shared)`, f));
    assert.ok(!matchesSearch(`sourcetype="medsoc:device" NOT credential_exposure=default`, f));
    assert.ok(matchesSearch(`tag=inventory (tag=cpu OR (tag=system tag=version) OR tag=user)`, f));
  });
});

describe("CIM compliance of the medsoc sourcetypes (mappers over simulator records)", () => {
  let samples: Samples;
  before(async () => {
    samples = await siemSamples(150);
  });
  const config = { props: conf("props"), eventtypes: conf("eventtypes"), tags: conf("tags") };
  const model = (name: string) =>
    JSON.parse(
      readFileSync(join(SPLUNK, "cim", "pytest_splunk_addon_data_models", `${name}.json`), "utf8"),
    ) as CimModel;
  const models = ["Compute_Inventory", "Alerts", "Vulnerabilities", "Intrusion_Detection", "Change"].map(
    model,
  );

  function check(sourcetype: string, docs: unknown[]) {
    const seen = new Map<string, number>();
    for (const doc of docs) {
      const fields = searchTime(config, sourcetype, doc);
      for (const m of models) {
        const r = checkCimModel(m, fields);
        assert.deepEqual(
          r.problems,
          [],
          `${sourcetype} ${JSON.stringify((doc as { medsoc?: unknown }).medsoc)}`,
        );
        for (const d of r.datasets) seen.set(d, (seen.get(d) ?? 0) + 1);
      }
    }
    return seen;
  }

  it("medsoc:device lands in Compute_Inventory All_Inventory, Network, OS; never in User/Default_Accounts (no password is collected or invented)", () => {
    const seen = check("medsoc:device", samples.device);
    const n = samples.device.length;
    assert.equal(seen.get("Compute_Inventory.All_Inventory"), n);
    assert.equal(seen.get("Compute_Inventory.All_Inventory.Network"), n);
    assert.equal(seen.get("Compute_Inventory.All_Inventory.OS"), n);
    // The real enrichment's values (mappings/enrich/credentials.ts): default, shared, hard_coded, unknown.
    const values = samples.device.map(
      (d) => (d.medsoc as unknown as { device: { credentials: string } }).device.credentials,
    );
    assert.deepEqual([...new Set(values)].sort(), ["default", "hard_coded", "shared", "unknown"]);
    const exposed = values.filter((v) => v !== "unknown").length;
    assert.ok(exposed > 0 && exposed < n);
    assert.equal(seen.get("Compute_Inventory.All_Inventory.User.Default_Accounts"), undefined);
    assert.equal(seen.get("Compute_Inventory.All_Inventory.User"), undefined);
    assert.equal(seen.get("Alerts.Alerts"), undefined);
  });
  it("medsoc:alert lands in Alerts, and a network attack also in Intrusion_Detection", () => {
    const seen = check("medsoc:alert", samples.alert);
    assert.equal(seen.get("Alerts.Alerts"), samples.alert.length);
    assert.equal(seen.get("Intrusion_Detection.IDS_Attacks"), 1);
    assert.equal(seen.get("Intrusion_Detection.IDS_Attacks.Network_IDS_Attacks"), 1);
    const fields = searchTime(config, "medsoc:alert", samples.alert.at(-1));
    assert.deepEqual(fields.get("severity"), ["critical"]);
    assert.deepEqual(fields.get("action"), ["blocked"]);
  });
  it("medsoc:vulnerability lands in Vulnerabilities with CIM severities", () => {
    const seen = check("medsoc:vulnerability", samples.vulnerability);
    assert.equal(seen.get("Vulnerabilities.Vulnerabilities"), samples.vulnerability.length);
    const fields = searchTime(config, "medsoc:vulnerability", samples.vulnerability[0]);
    assert.match(fields.get("cve")?.[0] ?? "", /^CVE-\d{4}-\d+$/);
    assert.ok(Number(fields.get("cvss")?.[0]) > 0);
  });
  it("medsoc:audit (the engine's real audit documents) lands in Change: device steps in Endpoint_Changes, rotation steps in Account_Management", () => {
    const seen = check("medsoc:audit", samples.audit);
    const action = (d: unknown) => (d as { event: { action: string } }).event.action;
    const playbook = (d: unknown) =>
      (d as { medsoc: { audit: { playbook?: string } } }).medsoc.audit.playbook;
    const changed = (d: unknown) =>
      ["step.completed", "step.failed", "compensation.completed", "compensation.failed"].includes(action(d));
    const rotation = samples.audit.filter((d) => changed(d) && playbook(d) === "rotate-shared-credentials");
    const device = samples.audit.filter(
      (d) => changed(d) && ["isolate-infusion-pump", "release-device"].includes(playbook(d) ?? ""),
    );
    assert.ok(rotation.length > 0 && device.length > 0);
    // Only entries that changed something are CIM changes (not run.started, call, approvals …).
    assert.equal(seen.get("Change.All_Changes"), rotation.length + device.length);
    assert.ok(samples.audit.length > rotation.length + device.length);
    assert.equal(seen.get("Change.All_Changes.Account_Management"), rotation.length);
    assert.equal(seen.get("Change.All_Changes.Endpoint_Changes"), device.length);
    const failed = samples.audit.find((d) => action(d) === "step.failed") as unknown;
    const fields = searchTime(config, "medsoc:audit", failed);
    assert.deepEqual(fields.get("status"), ["failure"]);
    assert.deepEqual(fields.get("change_type"), ["isolation"]);
    assert.deepEqual(fields.get("playbook"), ["isolate-infusion-pump"]);
    assert.match(fields.get("command")?.[0] ?? "", /^step\.failed:isolate$/);
    assert.match(fields.get("device_key")?.[0] ?? "", /.+/);
  });
  it("would catch a mapping regression: an alert without event.severity breaks the Alerts severity", () => {
    const broken = structuredClone(samples.alert[0]) as Record<string, Record<string, unknown>>;
    (broken.event as Record<string, unknown>).severity = undefined;
    const fields = searchTime(config, "medsoc:alert", broken);
    assert.deepEqual(fields.get("severity"), ["informational"]);
    const noTags = searchTime({ ...config, tags: parseConf("") }, "medsoc:alert", samples.alert[0]);
    assert.deepEqual(checkCimModel(models[1] as CimModel, noTags).datasets, []);
  });
});

describe("Dashboard Studio definitions", () => {
  const views = join(APP, "default", "data", "ui", "views");
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validate = ajv.compile(dashboardDefinition.defaultSchema as object);
  // Per-visualization option schemas (property maps in @splunk/visualization-schemas; unknown options rejected).
  const optionSchemas = visualizationSchemas as unknown as Record<string, object>;
  const optionsValidator = Object.fromEntries(
    [
      ["splunk.singlevalue", "singleValueOptionsSchema"],
      ["splunk.table", "tableOptionsSchema"],
      ["splunk.bar", "barOptionsSchema"],
      ["splunk.column", "columnOptionsSchema"],
      ["splunk.line", "lineOptionsSchema"],
      ["splunk.pie", "pieOptionsSchema"],
    ].map(([type, name]) => [
      type as string,
      ajv.compile({ type: "object", properties: optionSchemas[name as string], additionalProperties: false }),
    ]),
  );
  const files = readdirSync(views).filter((f) => f.endsWith(".xml"));
  it("ships the three dashboards", () => {
    assert.deepEqual(files.sort(), [
      "medsoc_fleet_posture.xml",
      "medsoc_playbook_runs.xml",
      "medsoc_pump_exposure.xml",
    ]);
  });
  for (const file of files) {
    it(`${file} is a valid version 2 definition with consistent references`, () => {
      const xml = readFileSync(join(views, file), "utf8");
      assert.match(xml, /^<dashboard version="2"/);
      const m = /<definition><!\[CDATA\[([\s\S]*)\]\]><\/definition>/.exec(xml);
      assert.ok(m, "definition in CDATA");
      const def = JSON.parse(m[1] as string) as {
        visualizations: Record<string, { type: string; dataSources: { primary: string }; options?: object }>;
        dataSources: Record<string, { type: string; options: { query: string; extend?: string } }>;
        layout: {
          layoutDefinitions: Record<string, { structure: { item: string }[] }>;
          tabs: { items: { layoutId: string }[] };
        };
      };
      assert.ok(validate(def), JSON.stringify(validate.errors));
      const placed = new Set<string>();
      for (const tab of def.layout.tabs.items)
        for (const s of def.layout.layoutDefinitions[tab.layoutId]?.structure ?? []) placed.add(s.item);
      for (const [id, viz] of Object.entries(def.visualizations)) {
        assert.ok(def.dataSources[viz.dataSources.primary], `${id} → ${viz.dataSources.primary}`);
        assert.ok(placed.has(id), `${id} is not in the layout`);
        assert.ok(
          [
            "splunk.singlevalue",
            "splunk.table",
            "splunk.bar",
            "splunk.column",
            "splunk.line",
            "splunk.pie",
          ].includes(viz.type),
          viz.type,
        );
      }
      for (const item of placed) assert.ok(def.visualizations[item], `layout item ${item}`);
      for (const ds of Object.values(def.dataSources)) {
        assert.ok(ds.options.query.length > 0);
        if (ds.type === "ds.chain") assert.ok(def.dataSources[ds.options.extend as string]);
      }
    });
  }
  it("the schema check can fail: bad ids, a visualization without type, the pre-tabs layout, unknown options are rejected", () => {
    assert.equal(optionsValidator["splunk.singlevalue"]?.({ majorValu: "x" }), false);
    assert.equal(validate({ title: "x", visualizations: { "bad id!": { type: "splunk.table" } } }), false);
    assert.equal(validate({ title: "x", visualizations: { a: { dataSources: { primary: "d" } } } }), false);
    assert.equal(validate({ title: "x", layout: { type: "absolute", structure: [] } }), false);
  });
  it("the fleet posture dashboard shows the five headline figures", () => {
    const xml = readFileSync(join(views, "medsoc_fleet_posture.xml"), "utf8");
    for (const f of [
      "pct_vulnerable",
      "pct_critical_risk",
      "pct_pumps_vulnerable",
      "pct_old_windows",
      "pct_default_credentials",
    ])
      assert.ok(xml.includes(`'${f}'`), f);
  });
});

describe("medsoc_playbook alert action (bin/medsoc_playbook.py, Python 3 standard library)", () => {
  const SECRET = "s3cret-signing-key";
  interface Seen {
    path: string;
    headers: IncomingMessage["headers"];
    body: string;
  }
  async function harness(triggerStatus: number) {
    const seen: Seen[] = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        seen.push({ path: req.url ?? "", headers: req.headers, body });
        if (req.url?.startsWith("/servicesNS/nobody/medsoc/storage/passwords/")) {
          const ok =
            req.headers.authorization === "Splunk session-key-1" &&
            req.url.includes("medsoc%3Atrigger_secret%3A");
          res.writeHead(ok ? 200 : 404, { "content-type": "application/json" });
          res.end(
            JSON.stringify(
              ok
                ? { entry: [{ name: "medsoc:trigger_secret:", content: { clear_password: SECRET } }] }
                : { messages: [] },
            ),
          );
          return;
        }
        res.writeHead(triggerStatus, { "content-type": "application/json" });
        res.end(JSON.stringify({ accepted: triggerStatus < 300 }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return {
      seen,
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => server.close(),
    };
  }
  function run(payload: unknown): Promise<{ code: number; stderr: string }> {
    return new Promise((resolveRun) => {
      const child = spawn("python3", [join(APP, "bin", "medsoc_playbook.py"), "--execute"], {
        stdio: ["pipe", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (c) => {
        stderr += c;
      });
      child.on("close", (code) => resolveRun({ code: code ?? -1, stderr }));
      child.stdin.end(JSON.stringify(payload));
    });
  }
  const tmp = mkdtempSync(join(tmpdir(), "medsoc-alert-action-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const resultsFile = join(tmp, "results.csv.gz");
  writeFileSync(
    resultsFile,
    gzipSync(
      "device_key,dest,severity,__mv_severity\narmis:2,medfusion-icu-000002,critical,\narmis:9,sigma-9,high,\n",
    ),
  );
  const payload = (url: string, config: Record<string, string> = {}) => ({
    configuration: { endpoint: `${url}/v1/triggers/splunk`, playbook: "isolate-infusion-pump", ...config },
    result: { device_key: "armis:2" },
    results_file: resultsFile,
    sid: "scheduler__admin__medsoc__RMD5",
    search_name: "medsoc - Critical alert on infusion pump",
    app: "medsoc",
    owner: "nobody",
    server_uri: url,
    session_key: "session-key-1",
  });

  it("posts every result row, signed with HMAC-SHA256 over timestamp + body, and exits 0", async () => {
    const h = await harness(202);
    try {
      const r = await run(payload(h.url));
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!r.stderr.includes(SECRET) && !r.stderr.includes("session-key-1"));
      const trigger = h.seen.find((s) => s.path === "/v1/triggers/splunk");
      assert.ok(trigger);
      const ts = trigger.headers["x-medsoc-timestamp"] as string;
      assert.match(ts, /^\d{10}$/);
      const expected = createHmac("sha256", SECRET)
        .update(ts + trigger.body)
        .digest("hex");
      assert.equal(trigger.headers["x-medsoc-signature"], expected);
      const body = JSON.parse(trigger.body);
      assert.equal(body.source, "splunk");
      assert.equal(body.playbook, "isolate-infusion-pump");
      assert.equal(body.sid, "scheduler__admin__medsoc__RMD5");
      assert.deepEqual(
        body.results.map((x: Record<string, string>) => x.device_key),
        ["armis:2", "armis:9"],
      );
      assert.equal(body.results[0].__mv_severity, undefined);
    } finally {
      h.close();
    }
  });
  it("exits 2 when medsoc refuses the trigger (4xx) and when the endpoint is missing or plain http off loopback", async () => {
    const h = await harness(401);
    try {
      const r = await run(payload(h.url));
      assert.equal(r.code, 2);
      assert.match(r.stderr, /refused the trigger: HTTP 401/);
      assert.equal((await run(payload(h.url, { endpoint: "" }))).code, 2);
      const insecure = await run(
        payload(h.url, { endpoint: "http://medsoc.example.org/v1/triggers/splunk" }),
      );
      assert.equal(insecure.code, 2);
      assert.match(insecure.stderr, /must be an https URL/);
      const noSecret = await run(payload(h.url, { secret_name: "other" }));
      assert.equal(noSecret.code, 2);
      assert.match(noSecret.stderr, /storage\/passwords/);
    } finally {
      h.close();
    }
  });
});
