/**
 * The SIEM packages (integrations/) against the real enrichment, the shipped playbooks and the
 * trigger routes: every device class, credential value, risk threshold and playbook id the Splunk
 * app, the Elastic package and `medsoc setup kibana` use exists in the code that produces it.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { parseConf, settingValue } from "../../integrations/tools/splunk-conf.ts";
import { CRITICAL_RISK_SCORE, DEVICE_CLASSES } from "../../mappings/enrich/index.ts";
import { RULE_PLAYBOOKS } from "../../worker/commands/setup-kibana.ts";
import { PLAYBOOK_ALIASES } from "../../worker/playbook-routes.ts";

const ROOT = resolve(import.meta.dirname, "..", "..");
const SPLUNK = join(ROOT, "integrations", "splunk", "medsoc");
const ELASTIC = join(ROOT, "integrations", "elastic", "medsoc");
const CREDENTIALS = ["default", "shared", "hard_coded", "unknown"];
const conf = (name: string) => parseConf(readFileSync(join(SPLUNK, "default", `${name}.conf`), "utf8"));
const shipped = readdirSync(join(ROOT, "playbooks"))
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => (parse(readFileSync(join(ROOT, "playbooks", f), "utf8")) as { id: string }).id);
const splunkTexts = () => [
  ...["props", "eventtypes", "macros", "savedsearches"].map((n) =>
    readFileSync(join(SPLUNK, "default", `${n}.conf`), "utf8"),
  ),
  ...readdirSync(join(SPLUNK, "default", "data", "ui", "views")).map((f) =>
    readFileSync(join(SPLUNK, "default", "data", "ui", "views", f), "utf8"),
  ),
];
const elasticTexts = () => [
  ...readdirSync(join(ELASTIC, "kibana", "security_rule")).map((f) =>
    readFileSync(join(ELASTIC, "kibana", "security_rule", f), "utf8"),
  ),
  readFileSync(join(ELASTIC, "kibana", "dashboard", "medsoc-fleet-posture.json"), "utf8"),
];

describe("SIEM packages use the real enrichment values", () => {
  it("the critical-risk threshold is the enrichment's CRITICAL_RISK_SCORE in both packages", () => {
    assert.equal(
      settingValue(conf("macros"), "medsoc_critical_risk", "definition"),
      `risk_score>=${CRITICAL_RISK_SCORE}`,
    );
    const dashboard = elasticTexts().at(-1) as string;
    const thresholds = [...dashboard.matchAll(/medsoc\.risk\.score >= (\d+)/g)].map((m) => Number(m[1]));
    assert.ok(thresholds.length > 0);
    assert.deepEqual([...new Set(thresholds)], [CRITICAL_RISK_SCORE]);
  });
  it("credential values in queries are medsoc.device.credentials values (default, shared, hard_coded, unknown)", () => {
    let seen = 0;
    for (const text of [...splunkTexts(), ...elasticTexts()]) {
      for (const m of text.matchAll(
        /(?:credential_exposure\s+IN\s*|medsoc\.device\.credentials:)\(([^)]*)\)/g,
      )) {
        for (const v of (m[1] as string).split(/,|\bor\b/)) {
          const value = v.replace(/[\\"'\s]/g, "");
          if (value === "") continue;
          seen++;
          assert.ok(CREDENTIALS.includes(value), `${value} is not a credential exposure value`);
        }
      }
      for (const m of text.matchAll(/\^\(([a-z_|]+)\)\$/g))
        for (const v of (m[1] as string).split("|")) assert.ok(CREDENTIALS.includes(v), v);
    }
    assert.ok(seen >= 6, `checked ${seen} values`);
  });
  it("device classes in queries exist in mappings/data/device-classes.json", () => {
    let seen = 0;
    for (const text of [...splunkTexts(), ...elasticTexts()])
      for (const m of text.matchAll(/(?:device_class\s*==?\s*|medsoc\.device\.class:)\\*"([a-z_]+)/g)) {
        seen++;
        assert.ok((DEVICE_CLASSES as readonly string[]).includes(m[1] as string), m[1]);
      }
    assert.ok(seen >= 3, `checked ${seen} class values`);
  });
  it("the playbooks the packages name are shipped playbook ids, accepted by the trigger routes", () => {
    const named = [
      ...Object.values(RULE_PLAYBOOKS),
      ...conf("savedsearches")
        .stanzas.map((s) =>
          settingValue(conf("savedsearches"), s.name, "action.medsoc_playbook.param.playbook"),
        )
        .filter((x): x is string => x !== undefined && x !== ""),
    ];
    assert.ok(named.length >= 4);
    for (const id of named) assert.ok(shipped.includes(id), `${id} is not in playbooks/*.yaml`);
    for (const target of Object.values(PLAYBOOK_ALIASES)) assert.ok(shipped.includes(target), target);
  });
});
