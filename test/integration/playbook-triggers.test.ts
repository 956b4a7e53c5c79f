/**
 * Scenarios 7 and 8 and the approvals API: SIEM triggers (Splunk built-in webhook with a secret
 * path token, our HMAC-signed alert action, Kibana bearer/HMAC) where anything unauthenticated,
 * forged, replayed or malformed gets 401/400, starts nothing and leaves an audit entry; approvals
 * by API key (pages and one-time links: approvals.test.ts); `medsoc audit verify` catching an edited, removed or
 * reordered line. Integration test: needs Redis on 127.0.0.1:6379.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import type { FastifyInstance } from "fastify";
import { silentLogger } from "../../core/log.ts";
import { playbooksConfigSchema } from "../../playbooks/config.ts";
import { createFleet } from "../../simulators/fleet/fleet.ts";
import { type ResponseSystems, startResponseSystems } from "../../simulators/response/index.ts";
import { createApi } from "../../worker/api.ts";
import { Metrics } from "../../worker/metrics.ts";
import { registerPlaybookRoutes, signBody } from "../../worker/playbook-routes.ts";
import { AUDIT_TEST_KEY, deviceDoc, type Harness, startHarness } from "../helpers/playbooks.ts";

const run = promisify(execFile);
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
  kibana: [
    {
      name: "kibana-pumps",
      playbook: "isolate-infusion-pump",
      bearerToken: "kibana-bearer-123456",
      hmacSecret: "kibana-hmac-123456",
    },
  ],
};

let sims: ResponseSystems;
let h: Harness;
let app: FastifyInstance;
const pumps: ReturnType<typeof fleet.facts>[] = [];

before(async () => {
  sims = await startResponseSystems({ fleet });
  h = await startHarness({ fleet, sims, playbooks: { triggers: TRIGGERS } });
  for (let i = 0; i < fleet.size && pumps.length < 12; i++) {
    const f = fleet.facts(i);
    if (f.deviceClass === "infusion_pump" && f.credential.kind !== "hard_coded") pumps.push(f);
  }
  h.runtime.directory.observe(pumps.map((f) => deviceDoc(f, { inUse: true })));
  const config = playbooksConfigSchema.parse({
    triggers: TRIGGERS,
    apiKeys: [
      { key: "ce-key-0123456789", identity: "dr.who", roles: ["clinical_engineering"] },
      { key: "soc-key-0123456789", identity: "analyst", roles: ["soc"] },
    ],
  });
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

const runCount = async () => (await h.runtime.store.listRuns()).length;
const rejections = () => h.runtime.audit.entries.filter((e) => e.type === "trigger.rejected").length;
const mac = (i: number) => (pumps[i] as (typeof pumps)[number]).mac;

function signed(body: string, secret: string, ts = Math.floor(Date.now() / 1000)) {
  return {
    "content-type": "application/json",
    "x-medsoc-timestamp": String(ts),
    "x-medsoc-signature": signBody(secret, String(ts), body),
  };
}

describe("7. SIEM triggers", () => {
  test("Splunk built-in webhook: the right path token starts a run; a wrong one is 401, audited, nothing runs", async () => {
    const body = JSON.stringify({
      result: { mac: mac(0), severity: "critical" },
      sid: "scheduler__admin__search__RMD5",
      search_name: "IoMT pump C2",
      results_link: "https://splunk/x",
    });
    const ok = await app.inject({
      method: "POST",
      url: "/v1/triggers/splunk/pumps/splunk-path-token-123456",
      headers: { "content-type": "application/json" },
      payload: body,
    });
    assert.equal(ok.statusCode, 202, ok.body);
    assert.equal(ok.json().runs[0].status, "running");
    const before = await runCount();
    const audited = rejections();
    const bad = await app.inject({
      method: "POST",
      url: "/v1/triggers/splunk/pumps/wrong-token",
      headers: { "content-type": "application/json" },
      payload: body,
    });
    assert.equal(bad.statusCode, 401);
    assert.equal(await runCount(), before);
    assert.equal(rejections(), audited + 1);
    const malformed = await app.inject({
      method: "POST",
      url: "/v1/triggers/splunk/pumps/splunk-path-token-123456",
      headers: { "content-type": "application/json" },
      payload: "{not json",
    });
    assert.equal(malformed.statusCode, 400);
    assert.equal(await runCount(), before);
    assert.equal(rejections(), audited + 2);
  });

  test("our Splunk alert action: HMAC accepted once; forged, replayed, stale, unsigned → 401; malformed → 400; nothing runs", async () => {
    const body = JSON.stringify({ results: [{ mac: mac(1) }], sid: "sid-2", search_name: "IoMT pump C2" });
    const headers = { ...signed(body, "splunk-hmac-secret-123456"), "x-medsoc-trigger": "pumps" };
    const ok = await app.inject({ method: "POST", url: "/v1/triggers/splunk", headers, payload: body });
    assert.equal(ok.statusCode, 202, ok.body);
    const before = await runCount();
    const audited = rejections();
    const replay = await app.inject({ method: "POST", url: "/v1/triggers/splunk", headers, payload: body });
    assert.equal(replay.statusCode, 401, "replayed");
    const forgedBody = body.replace(mac(1), mac(2));
    const forged = await app.inject({
      method: "POST",
      url: "/v1/triggers/splunk",
      headers,
      payload: forgedBody,
    });
    assert.equal(forged.statusCode, 401, "body changed under the signature");
    const stale = await app.inject({
      method: "POST",
      url: "/v1/triggers/splunk",
      headers: {
        ...signed(body, "splunk-hmac-secret-123456", Math.floor(Date.now() / 1000) - 600),
        "x-medsoc-trigger": "pumps",
      },
      payload: body,
    });
    assert.equal(stale.statusCode, 401, "outside the 5-minute window");
    const unsigned = await app.inject({
      method: "POST",
      url: "/v1/triggers/splunk",
      headers: { "content-type": "application/json", "x-medsoc-trigger": "pumps" },
      payload: body,
    });
    assert.equal(unsigned.statusCode, 401);
    const wrongKey = await app.inject({
      method: "POST",
      url: "/v1/triggers/splunk",
      headers: { ...signed(body, "not-the-secret"), "x-medsoc-trigger": "pumps" },
      payload: body,
    });
    assert.equal(wrongKey.statusCode, 401);
    const junk = '{"results": "nope"}';
    const malformed = await app.inject({
      method: "POST",
      url: "/v1/triggers/splunk",
      headers: { ...signed(junk, "splunk-hmac-secret-123456"), "x-medsoc-trigger": "pumps" },
      payload: junk,
    });
    assert.equal(malformed.statusCode, 400);
    assert.equal(await runCount(), before, "nothing ran");
    assert.equal(rejections(), audited + 6, "each refusal is audited");
  });

  test("the Splunk app's alert action (no trigger header, bare hex signature over timestamp + body) is accepted", async () => {
    // The request integrations/splunk/medsoc/bin/medsoc_playbook.py sends.
    const body = JSON.stringify({
      source: "splunk",
      playbook: "isolate-infusion-pump",
      search_name: "IoMT pump C2",
      sid: "sid-9",
      results: [{ dest_mac: mac(7) }],
    });
    const ts = String(Math.floor(Date.now() / 1000));
    const { createHmac } = await import("node:crypto");
    const sig = createHmac("sha256", "splunk-hmac-secret-123456")
      .update(ts + body)
      .digest("hex");
    const ok = await app.inject({
      method: "POST",
      url: "/v1/triggers/splunk",
      headers: { "content-type": "application/json", "x-medsoc-timestamp": ts, "x-medsoc-signature": sig },
      payload: body,
    });
    assert.equal(ok.statusCode, 202, ok.body);
    assert.equal(ok.json().runs[0].status, "running");
    const forged = await app.inject({
      method: "POST",
      url: "/v1/triggers/splunk",
      headers: {
        "content-type": "application/json",
        "x-medsoc-timestamp": ts,
        "x-medsoc-signature": sig.replace(/^./, (c) => (c === "a" ? "b" : "a")),
      },
      payload: body,
    });
    assert.equal(forged.statusCode, 401);
  });

  test("Kibana webhook connector: bearer or HMAC; wrong bearer and no credentials → 401", async () => {
    const body = JSON.stringify({
      playbook: "isolate-infusion-pump",
      rule: { name: "IoMT - Critical Alert on Infusion Pump" },
      alerts: [{ host: { mac: [mac(3).replace(/:/g, "-")] }, event: { kind: "signal" } }],
    });
    const ok = await app.inject({
      method: "POST",
      url: "/v1/triggers/kibana/kibana-pumps",
      headers: { "content-type": "application/json", authorization: "Bearer kibana-bearer-123456" },
      payload: body,
    });
    assert.equal(ok.statusCode, 202, ok.body);
    assert.equal(ok.json().runs[0].status, "running");
    const body2 = body.replace(mac(3).replace(/:/g, "-"), mac(4).replace(/:/g, "-"));
    const hmac = await app.inject({
      method: "POST",
      url: "/v1/triggers/kibana/kibana-pumps",
      headers: signed(body2, "kibana-hmac-123456"),
      payload: body2,
    });
    assert.equal(hmac.statusCode, 202, hmac.body);
    const before = await runCount();
    const wrong = await app.inject({
      method: "POST",
      url: "/v1/triggers/kibana/kibana-pumps",
      headers: { "content-type": "application/json", authorization: "Bearer guess" },
      payload: body,
    });
    assert.equal(wrong.statusCode, 401);
    const none = await app.inject({
      method: "POST",
      url: "/v1/triggers/kibana/kibana-pumps",
      headers: { "content-type": "application/json" },
      payload: body,
    });
    assert.equal(none.statusCode, 401);
    const unknown = await app.inject({
      method: "POST",
      url: "/v1/triggers/kibana/other",
      headers: { "content-type": "application/json", authorization: "Bearer kibana-bearer-123456" },
      payload: body,
    });
    assert.equal(unknown.statusCode, 401);
    assert.equal(await runCount(), before);
  });
});

describe("SIEM package requests (integrations/ in main)", () => {
  test("Kibana connector of `medsoc setup kibana` (no trigger name, bearer, its playbook names) and Splunk webhook with only a token", async () => {
    // The body `medsoc setup kibana` configures, with its playbook name for the pump rule.
    const body = JSON.stringify({
      source: "kibana",
      playbook: "contain_infusion_pump",
      rule: {
        id: "r1",
        rule_id: "5b0c1f0e-6a52-4b8e-9a7e-2f3c4d5e6f70",
        name: "IoMT - Critical Alert on Infusion Pump",
      },
      date: new Date().toISOString(),
      alerts: [{ host: { mac: [mac(8).replace(/:/g, "-")] } }],
    });
    const ok = await app.inject({
      method: "POST",
      url: "/v1/triggers/kibana",
      headers: { "content-type": "application/json", authorization: "Bearer kibana-bearer-123456" },
      payload: body,
    });
    assert.equal(ok.statusCode, 202, ok.body);
    assert.deepEqual(
      [ok.json().runs[0].playbook, ok.json().runs[0].status],
      ["isolate-infusion-pump", "running"],
    );
    const rotation = body.replace("contain_infusion_pump", "rotate_default_credentials");
    const refused = await app.inject({
      method: "POST",
      url: "/v1/triggers/kibana",
      headers: { "content-type": "application/json", authorization: "Bearer kibana-bearer-123456" },
      payload: rotation,
    });
    assert.equal(
      refused.json().runs[0].status,
      "rejected",
      "a playbook the trigger may not run is refused, never swapped for another",
    );
    const hook = await app.inject({
      method: "POST",
      url: "/v1/triggers/splunk/splunk-path-token-123456",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ result: { dest_mac: mac(9) }, sid: "s" }),
    });
    assert.equal(hook.statusCode, 202, hook.body);
    assert.equal(
      (
        await app.inject({
          method: "POST",
          url: "/v1/triggers/splunk/nope",
          headers: { "content-type": "application/json" },
          payload: "{}",
        })
      ).statusCode,
      401,
    );
  });
});

describe("approvals API (the pages people decide on: approvals.test.ts)", () => {
  test("GET/POST /v1/approvals need an API key; the decision carries the key's identity and role", async () => {
    const r1 = await h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: mac(5) });
    const w1 = await h.runtime.engine.waitForRun(r1.runId, (x) => x.status === "waiting_approval");
    const id1 = w1.steps.approve_full?.approvalId as string;
    assert.equal((await app.inject({ method: "GET", url: "/v1/approvals" })).statusCode, 401);
    const list = await app.inject({
      method: "GET",
      url: "/v1/approvals?status=pending",
      headers: { authorization: "Bearer soc-key-0123456789" },
    });
    assert.ok(list.json().approvals.some((a: { id: string }) => a.id === id1));
    const noKey = await app.inject({
      method: "POST",
      url: `/v1/approvals/${id1}`,
      payload: { decision: "approve" },
    });
    assert.equal(noKey.statusCode, 401);
    const wrongRole = await app.inject({
      method: "POST",
      url: `/v1/approvals/${id1}`,
      headers: { authorization: "Bearer soc-key-0123456789" },
      payload: { decision: "approve" },
    });
    assert.equal(wrongRole.statusCode, 403, "a SOC analyst cannot approve what clinical engineering must");
    const yes = await app.inject({
      method: "POST",
      url: `/v1/approvals/${id1}`,
      headers: { authorization: "Bearer ce-key-0123456789" },
      payload: { decision: "approve", comment: "pump idle, checked at bedside" },
    });
    assert.equal(yes.statusCode, 200, yes.body);
    assert.equal(yes.json().approval.decidedBy, "dr.who");
    assert.equal((await h.runtime.engine.waitForRun(r1.runId)).status, "succeeded");
  });
});

describe("8. medsoc audit verify", () => {
  test("passes on the chain as written; catches an edited, a removed and a reordered line", async () => {
    await h.runtime.audit.flush();
    const text = await readFile(h.auditFile, "utf8");
    const lines = text.trimEnd().split("\n");
    assert.ok(lines.length > 20);
    const cli = async (file: string) => {
      try {
        // The harness keys the chain from its config (playbooks.audit.key): the CLI gets the same key.
        const r = await run(process.execPath, ["bin/medsoc.mjs", "audit", "verify", file], {
          env: { ...process.env, MEDSOC_AUDIT_KEY: AUDIT_TEST_KEY },
        });
        return { code: 0, out: r.stdout };
      } catch (error) {
        const e = error as { code: number; stdout: string };
        return { code: e.code, out: e.stdout };
      }
    };
    const good = await cli(h.auditFile);
    assert.equal(good.code, 0, good.out);
    assert.match(good.out, /chain intact/);
    const file = `${h.auditFile}.tampered`;
    const edited = [...lines];
    edited[10] = (edited[10] as string).replace(/"message":"[^"]*"/, '"message":"nothing happened"');
    await writeFile(file, `${edited.join("\n")}\n`);
    const e1 = await cli(file);
    assert.equal(e1.code, 1);
    assert.match(e1.out, /line 11: hash does not match/);
    await writeFile(file, `${lines.filter((_, i) => i !== 5).join("\n")}\n`);
    const e2 = await cli(file);
    assert.equal(e2.code, 1);
    assert.match(e2.out, /line 6/);
    const swapped = [...lines];
    [swapped[3], swapped[4]] = [swapped[4] as string, swapped[3] as string];
    await writeFile(file, `${swapped.join("\n")}\n`);
    assert.equal((await cli(file)).code, 1);
    await writeFile(file, `${lines.slice(1).join("\n")}\n`);
    assert.equal((await cli(file)).code, 1, "first line removed");
  });
});
