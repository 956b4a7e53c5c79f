/**
 * Finding 10 of issue 10, on the real routes (fastify inject) of a runtime on BullMQ and Redis:
 * - a re-fired alert (same search/rule, same device) through the Splunk path-token webhook or the
 *   Kibana bearer connector starts no second run and no second approval request within the
 *   de-duplication window; the same delivery sent again is a replay; a stale alert is refused;
 * - the alert's id, rule and reason reach the run as inputs `alert_id`, `rule`, `reason` from every
 *   trigger path (internal rules, Splunk alert action, Splunk webhook, Kibana connector);
 * - a refused start (paused, device locked) does not hold the de-duplication window: the next real
 *   alert starts a run (rules and triggers alike).
 * Integration test: needs Redis on 127.0.0.1:6379.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { silentLogger } from "../../core/log.ts";
import { playbooksConfigSchema } from "../../playbooks/config.ts";
import { RuleEngine, validateRule } from "../../playbooks/engine/rules.ts";
import type { RunState } from "../../playbooks/engine/store.ts";
import { createFleet, type DeviceFacts } from "../../simulators/fleet/fleet.ts";
import { type ResponseSystems, startResponseSystems } from "../../simulators/response/index.ts";
import { createApi } from "../../worker/api.ts";
import { Metrics } from "../../worker/metrics.ts";
import { registerPlaybookRoutes, signBody } from "../../worker/playbook-routes.ts";
import { alertDoc, deviceDoc, type Harness, startHarness } from "../helpers/playbooks.ts";

const fleet = createFleet({ size: 3000, seed: 1 });
const TRIGGERS = {
  splunk: [
    {
      name: "pumps",
      playbook: "isolate-infusion-pump",
      pathToken: "splunk-path-token-123456",
      hmacSecret: "splunk-hmac-secret-123456",
    },
  ],
  kibana: [{ name: "kibana-pumps", playbook: "isolate-infusion-pump", bearerToken: "kibana-bearer-123456" }],
};

let sims: ResponseSystems;
let h: Harness;
let app: FastifyInstance;
const pumps: DeviceFacts[] = [];

before(async () => {
  sims = await startResponseSystems({ fleet });
  h = await startHarness({ fleet, sims, playbooks: { triggers: TRIGGERS } });
  for (let i = 0; i < fleet.size && pumps.length < 16; i++) {
    const f = fleet.facts(i);
    if (f.deviceClass === "infusion_pump" && f.credential.kind !== "hard_coded") pumps.push(f);
  }
  h.runtime.directory.observe(pumps.map((f) => deviceDoc(f, { inUse: true })));
  const config = playbooksConfigSchema.parse({ triggers: TRIGGERS });
  app = createApi({
    metrics: new Metrics(),
    log: silentLogger,
    ready: async () => ({ ok: true, checks: {} }),
    routes: (a) => registerPlaybookRoutes(a, h.runtime, config),
  });
  await app.ready();
});
after(async () => {
  await app.close();
  await h.close();
  await sims.stop();
});

const pump = (i: number) => pumps[i] as DeviceFacts;
const dash = (i: number) => pump(i).mac.replace(/:/g, "-");
const runsOf = async (i: number) => (await h.runtime.store.listRuns()).filter((r) => r.deviceKey === dash(i));
const approvalsOf = async (i: number) =>
  (await h.runtime.store.listApprovals()).filter((a) => a.deviceKey === dash(i));
/** Waits for the run's approval request and denies it, so the device is free again. */
async function denyAndFinish(runId: string): Promise<RunState> {
  const w = await h.runtime.engine.waitForRun(runId, (r) => r.status === "waiting_approval", 60_000);
  const approvalId = Object.values(w.steps).find((s) => s.approvalId)?.approvalId as string;
  const d = await h.runtime.engine.decide(approvalId, {
    approve: false,
    by: "dr.who",
    role: "clinical_engineering",
  });
  assert.ok(d.ok, d.reason);
  return h.runtime.engine.waitForRun(runId, undefined, 60_000);
}
/** A scheduled search's sid, as Splunk names it: it carries the dispatch time. */
const sid = (at = Date.now()) =>
  `scheduler__admin__search__RMD5${randomUUID().slice(0, 8)}_at_${Math.floor(at / 1000)}_42`;
const webhook = (body: unknown) =>
  app.inject({
    method: "POST",
    url: "/v1/triggers/splunk/pumps/splunk-path-token-123456",
    headers: { "content-type": "application/json" },
    payload: JSON.stringify(body),
  });
const kibana = (body: unknown) =>
  app.inject({
    method: "POST",
    url: "/v1/triggers/kibana/kibana-pumps",
    headers: { "content-type": "application/json", authorization: "Bearer kibana-bearer-123456" },
    payload: JSON.stringify(body),
  });
const kibanaAlert = (i: number, at = new Date()) => ({
  "@timestamp": at.toISOString(),
  "kibana.alert.uuid": randomUUID(),
  "kibana.alert.rule.name": "IoMT - Critical Alert on Infusion Pump",
  "kibana.alert.reason": `network event with command and control traffic on ${pump(i).name}`,
  event: { kind: "signal" },
  host: { mac: [dash(i)] },
});

describe("finding 10: per-alert de-duplication and replay on the token routes", () => {
  test("Splunk webhook: the same delivery again is a replay; the alert re-fired starts no new run and no new approval", async () => {
    const body = { result: { dest_mac: pump(0).mac }, sid: sid(), search_name: "IoMT pump C2" };
    const first = await webhook(body);
    assert.equal(first.statusCode, 202, first.body);
    assert.equal(first.json().runs[0].status, "running");
    assert.equal((await denyAndFinish(first.json().runs[0].runId)).status, "denied");
    assert.equal((await approvalsOf(0)).length, 1);

    const replay = await webhook(body);
    assert.equal(replay.statusCode, 202, replay.body);
    assert.equal(replay.json().runs[0].status, "duplicate");
    const refired = await webhook({ ...body, sid: sid() });
    assert.equal(refired.statusCode, 202, refired.body);
    assert.equal(refired.json().runs[0].status, "duplicate", refired.body);
    assert.equal((await runsOf(0)).length, 1, "one run for the alert");
    assert.equal((await approvalsOf(0)).length, 1, "one approval request for the alert");
    assert.ok(h.runtime.audit.entries.some((e) => e.type === "trigger.duplicate"));

    const stale = await webhook({ ...body, sid: sid(Date.now() - 3 * 3_600_000) });
    assert.equal(stale.statusCode, 401, "an alert dispatched hours ago is refused");
    assert.equal((await runsOf(0)).length, 1);
  });

  test("Kibana bearer: the same alert again is a replay; the rule re-firing on the device starts no new run", async () => {
    const alert = kibanaAlert(1);
    const body = { rule: { id: "r1", name: "IoMT - Critical Alert on Infusion Pump" }, alerts: [alert] };
    const first = await kibana(body);
    assert.equal(first.statusCode, 202, first.body);
    assert.equal((await denyAndFinish(first.json().runs[0].runId)).status, "denied");
    const replay = await kibana(body);
    assert.equal(replay.json().runs[0].status, "duplicate", replay.body);
    const refired = await kibana({ ...body, alerts: [kibanaAlert(1)] });
    assert.equal(refired.json().runs[0].status, "duplicate", refired.body);
    assert.equal((await runsOf(1)).length, 1);
    assert.equal((await approvalsOf(1)).length, 1);
    const stale = await kibana({ ...body, alerts: [kibanaAlert(1, new Date(Date.now() - 3 * 3_600_000))] });
    assert.equal(stale.statusCode, 401, stale.body);
  });
});

describe("finding 10: the alert's id, rule and reason are run inputs on every path", () => {
  test("Splunk webhook, Splunk alert action, Kibana connector and internal rules", async () => {
    const s = sid();
    const hook = await webhook({
      result: { dest_mac: pump(2).mac, reason: "C2 beacon to 203.0.113.9" },
      sid: s,
      search_name: "IoMT pump C2",
    });
    const r1 = (await h.runtime.store.getRun(hook.json().runs[0].runId)) as RunState;
    assert.deepEqual([r1.inputs.alert_id, r1.inputs.rule], [s, "IoMT pump C2"]);
    assert.equal(r1.inputs.reason, "C2 beacon to 203.0.113.9");

    const body = JSON.stringify({
      source: "splunk",
      playbook: "isolate-infusion-pump",
      search_name: "IoMT pump ransomware",
      sid: "sid-77",
      results: [{ dest_mac: pump(3).mac, event_id: "evt-1234" }],
    });
    const ts = String(Math.floor(Date.now() / 1000));
    const action = await app.inject({
      method: "POST",
      url: "/v1/triggers/splunk",
      headers: {
        "content-type": "application/json",
        "x-medsoc-timestamp": ts,
        "x-medsoc-signature": signBody("splunk-hmac-secret-123456", ts, body),
      },
      payload: body,
    });
    assert.equal(action.statusCode, 202, action.body);
    const r2 = (await h.runtime.store.getRun(action.json().runs[0].runId)) as RunState;
    assert.deepEqual([r2.inputs.alert_id, r2.inputs.rule], ["evt-1234", "IoMT pump ransomware"]);
    assert.match(String(r2.inputs.reason), /IoMT pump ransomware/);

    const alert = kibanaAlert(4);
    const kb = await kibana({
      rule: { id: "r9", name: "IoMT - Critical Alert on Infusion Pump" },
      alerts: [alert],
    });
    const r3 = (await h.runtime.store.getRun(kb.json().runs[0].runId)) as RunState;
    assert.deepEqual(
      [r3.inputs.alert_id, r3.inputs.rule, r3.inputs.reason],
      [alert["kibana.alert.uuid"], "IoMT - Critical Alert on Infusion Pump", alert["kibana.alert.reason"]],
    );

    const doc = alertDoc(pump(5), "Command and Control communication detected");
    await h.runtime.rules.onDocuments([doc]);
    const r4 = (await runsOf(5))[0] as RunState;
    assert.ok(r4, "the rule started a run");
    assert.deepEqual(
      [r4.inputs.alert_id, r4.inputs.rule, r4.inputs.reason],
      [doc.event.id, "pump-compromise", "Command and Control communication detected"],
    );
  });
});

describe("finding 10: a refused start does not hold the de-duplication window", () => {
  test("rule: paused, then resumed — the next alert about the device starts a run", async () => {
    await h.runtime.engine.pause("test");
    try {
      await h.runtime.rules.onDocuments([alertDoc(pump(6), "Command and Control communication detected")]);
    } finally {
      await h.runtime.engine.resume("test");
    }
    assert.equal((await runsOf(6)).length, 0, "refused while paused");
    await h.runtime.rules.onDocuments([alertDoc(pump(6), "Command and Control communication detected")]);
    assert.equal((await runsOf(6)).length, 1, "the next real alert is not silenced");
  });

  test("rule: device locked by another run — once it is free, the next alert starts a run", async () => {
    const manual = await h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: dash(7) });
    await h.runtime.rules.onDocuments([alertDoc(pump(7), "Command and Control communication detected")]);
    assert.equal((await runsOf(7)).length, 1, "refused: the device is locked");
    await denyAndFinish(manual.runId);
    await h.runtime.rules.onDocuments([alertDoc(pump(7), "Command and Control communication detected")]);
    assert.equal((await runsOf(7)).length, 2, "the next real alert is not silenced");
  });

  test("rule: throttled — once the throttle window has passed, the next alert about that device starts a run", async () => {
    const rule = validateRule(
      {
        id: "throttle-probe",
        when: "device.deviceClass = 'infusion_pump'",
        playbook: "isolate-infusion-pump",
        throttle: { max: 1, per: "2s" },
      },
      new Set(h.runtime.engine.playbooks.keys()),
      "test",
    );
    const { engine, directory, store, claims, audit } = h.runtime;
    const rules = new RuleEngine({ rules: [rule], engine, directory, store, claims, audit });
    // Start at the beginning of a throttle window, so both alerts below fall into the same one.
    await new Promise((r) => setTimeout(r, 2000 - (Date.now() % 2000) + 50));
    await rules.onDocuments([alertDoc(pump(9), "probe")]);
    await rules.onDocuments([alertDoc(pump(10), "probe")]);
    assert.deepEqual([rules.stats.started, rules.stats.throttled], [1, 1]);
    assert.equal((await runsOf(10)).length, 0, "throttled");
    await new Promise((r) => setTimeout(r, 2000 - (Date.now() % 2000) + 50));
    await rules.onDocuments([alertDoc(pump(10), "probe")]);
    assert.equal((await runsOf(10)).length, 1, "the throttled alert did not hold the device's window");
  });

  test("trigger: paused, then resumed — the re-fired alert starts a run", async () => {
    await h.runtime.engine.pause("test");
    let r: Awaited<ReturnType<typeof webhook>>;
    try {
      r = await webhook({ result: { dest_mac: pump(8).mac }, sid: sid(), search_name: "IoMT pump C2" });
    } finally {
      await h.runtime.engine.resume("test");
    }
    assert.equal(r.json().runs[0].status, "rejected");
    const again = await webhook({
      result: { dest_mac: pump(8).mac },
      sid: sid(),
      search_name: "IoMT pump C2",
    });
    assert.equal(again.json().runs[0].status, "running", again.body);
  });
});
