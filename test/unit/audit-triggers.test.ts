/**
 * Pure parts of the audit checkpoints and the trigger alert reader: checkpoint signatures (forged,
 * another key), checkpoints read back from SIEM documents, and the id, rule, reason and time of a
 * Splunk or Kibana alert. Unit test: needs nothing.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../../core/errors.ts";
import { AuditLog, verifyAudit } from "../../playbooks/engine/audit.ts";
import {
  type Checkpoint,
  type CheckpointStore,
  checkpointDocument,
  parseCheckpoints,
  signCheckpoint,
} from "../../playbooks/engine/audit-checkpoints.ts";
import { validateConfig } from "../../worker/config.ts";
import { componentSchemas } from "../../worker/run.ts";
import { kibanaAlert, sidTime, splunkAlert } from "../../worker/trigger-alerts.ts";

const KEY = "unit-audit-key";

async function chain(
  n: number,
): Promise<{ lines: string[]; head: { seq: number; hash: string; at: string } }> {
  const log = new AuditLog({ key: KEY });
  for (let i = 0; i < n; i++) await log.append({ type: "t", message: `m${i}` });
  const last = log.entries.at(-1) as { seq: number; hash: string; at: string };
  return { lines: log.entries.map((e) => JSON.stringify(e)), head: last };
}

describe("audit checkpoints", () => {
  test("a signed checkpoint anchors the chain; a forged one or one signed with another key does not", async () => {
    const { lines, head } = await chain(6);
    const cp = signCheckpoint(head, KEY);
    assert.equal(JSON.stringify(cp).includes(KEY), false, "the key is not in the checkpoint");
    assert.deepEqual(verifyAudit(lines, { key: KEY, checkpoints: [cp] }), {
      ok: true,
      entries: 6,
      checkpoints: 1,
      anchoredSeq: 5,
    });
    const forged: Checkpoint = { ...cp, seq: 2 };
    assert.match(verifyAudit(lines, { key: KEY, checkpoints: [forged] }).reason ?? "", /bad signature/);
    const other = signCheckpoint(head, "another-key");
    assert.match(
      verifyAudit(lines, { key: KEY, checkpoints: [other] }).reason ?? "",
      /signed with another key \(key id [0-9a-f]{16}, this key [0-9a-f]{16}\)/,
    );
  });

  test("checkpoints exported from a SIEM (audit.checkpoint documents among entries) verify like the store's", async () => {
    const { lines, head } = await chain(4);
    const cp = signCheckpoint(head, KEY);
    const exported = [
      JSON.stringify({ event: { action: "run.started" }, medsoc: { audit: { seq: 0 } } }),
      JSON.stringify(checkpointDocument(cp)),
    ];
    const parsed = parseCheckpoints(exported, "export.ndjson");
    assert.deepEqual(parsed, [cp]);
    assert.equal(verifyAudit(lines, { key: KEY, checkpoints: parsed }).ok, true);
    assert.throws(() => parseCheckpoints(["{not json"], "x"), /line 1 is not JSON/);
    assert.throws(() => parseCheckpoints(['{"seq":"1"}'], "x"), /line 1 is not a checkpoint/);
  });

  test("a moved head is checkpointed on the timer; a still one is not checkpointed again", async () => {
    const kept: Checkpoint[] = [];
    const store: CheckpointStore = {
      name: "memory",
      add: async (cp) => {
        kept.push(cp);
      },
      list: async () => kept,
    };
    const log = new AuditLog({
      key: KEY,
      checkpoints: { stores: [store], intervalMs: 10, everyEntries: 1000 },
    });
    for (let i = 0; i < 3; i++) await log.append({ type: "step.completed", message: `m${i}` });
    for (let i = 0; i < 500 && !kept.length; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(
      kept.map((c) => c.seq),
      [2],
    );
    await new Promise((r) => setTimeout(r, 50));
    await log.close();
    assert.equal(kept.length, 1, "nothing new to anchor");
    const lines = log.entries.map((e) => JSON.stringify(e));
    assert.equal(verifyAudit(lines, { key: KEY, checkpoints: kept }).ok, true);
  });

  test("an empty chain with no checkpoint verifies; a non-empty one does not", async () => {
    assert.equal(verifyAudit([], { key: KEY, checkpoints: [] }).ok, true);
    const { lines } = await chain(2);
    assert.match(verifyAudit(lines, { key: KEY, checkpoints: [] }).reason ?? "", /no checkpoint/);
  });
});

describe("audit key configuration", () => {
  test("a Redis deployment with playbooks must configure the chain's key", () => {
    const raw = { queue: { driver: "bullmq" }, playbooks: { enabled: true } };
    assert.throws(
      () => validateConfig(raw, componentSchemas(), {}),
      (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.path === "playbooks.audit.key"),
    );
    const ok = validateConfig(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${VAR} reference, as written in medsoc.yaml
      { ...raw, playbooks: { enabled: true, audit: { key: "${MEDSOC_AUDIT_KEY}" } } },
      componentSchemas(),
      { MEDSOC_AUDIT_KEY: "k-from-env" },
    );
    assert.equal(ok.playbooks.audit.key?.reveal(), "k-from-env");
    assert.equal(String(ok.playbooks.audit.key), "[redacted]", "the key redacts itself");
    validateConfig({ playbooks: { enabled: true } }, componentSchemas(), {});
  });
});

describe("trigger alerts", () => {
  test("Splunk sids carry the dispatch time", () => {
    assert.equal(sidTime("scheduler__admin__search__RMD5a1b2c3d4_at_1765100000_42"), 1_765_100_000_000);
    assert.equal(sidTime("rt_scheduler__admin__search__RMD5a1b2_at_1765100000_7"), 1_765_100_000_000);
    assert.equal(sidTime("1765100000.1234"), 1_765_100_000_000);
    assert.equal(sidTime("scheduler__nobody__medsoc__RMD5_webhook"), undefined);
    assert.equal(sidTime(undefined), undefined);
  });

  test("Splunk: a row's own id wins over the sid; rows without one are told apart by content", () => {
    const body = { sid: "scheduler__a__b__RMD5x_at_1765100000_1", search_name: "IoMT pump C2" };
    const own = splunkAlert(body, { event_id: ["evt-1", "evt-2"], dest_mac: "00:11:22:33:44:55" });
    assert.deepEqual([own.id, own.rule, own.timeMs], ["evt-1", "IoMT pump C2", 1_765_100_000_000]);
    assert.equal(own.reason, 'Splunk search "IoMT pump C2" matched');
    const a = splunkAlert(body, { dest_mac: "00:11:22:33:44:55" });
    const b = splunkAlert(body, { dest_mac: "00:11:22:33:44:66", reason: "beacon" });
    assert.equal(a.id, body.sid);
    assert.notEqual(a.delivery, b.delivery);
    assert.equal(b.reason, "beacon");
    assert.equal(splunkAlert({ ...body, trigger_time: "1765100300" }, {}).timeMs, 1_765_100_300_000);
  });

  test("Kibana: flattened or nested alert fields; the body's rule and date as fallbacks", () => {
    const flat = kibanaAlert(
      { rule: { name: "body rule" } },
      {
        "@timestamp": "2026-12-07T20:00:00.000Z",
        "kibana.alert.uuid": "u-1",
        "kibana.alert.rule.name": "IoMT - Critical Alert on Infusion Pump",
        "kibana.alert.reason": "C2 traffic",
      },
    );
    assert.deepEqual(
      [flat.id, flat.rule, flat.reason, flat.timeMs],
      ["u-1", "IoMT - Critical Alert on Infusion Pump", "C2 traffic", Date.parse("2026-12-07T20:00:00.000Z")],
    );
    const nested = kibanaAlert(
      { rule: { name: "body rule" }, date: "2026-12-07T21:00:00.000Z" },
      { kibana: { alert: { uuid: "u-2", reason: "nested reason" } } },
    );
    assert.deepEqual(
      [nested.id, nested.rule, nested.reason, nested.timeMs],
      ["u-2", "body rule", "nested reason", Date.parse("2026-12-07T21:00:00.000Z")],
    );
    const bare = kibanaAlert({}, { host: { mac: ["00-11-22-33-44-55"] } });
    assert.equal(bare.timeMs, undefined);
    assert.equal(bare.reason, 'Kibana rule "kibana rule" matched');
    assert.equal(bare.delivery, kibanaAlert({}, { host: { mac: ["00-11-22-33-44-55"] } }).delivery);
  });
});
