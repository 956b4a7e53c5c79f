/**
 * Finding 8 of issue 10, reproduced: on the approval flow before this change (shared channel, a GET
 * decides, no expiry check, no page) all four fail. Only the approvers' config changed since (each
 * now needs a personal channel); the assertions are the same. Integration test: needs Redis on 127.0.0.1:6379.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { silentLogger } from "../../core/log.ts";
import { createFleet } from "../../simulators/fleet/fleet.ts";
import { type ResponseSystems, startResponseSystems } from "../../simulators/response/index.ts";
import { createApi } from "../../worker/api.ts";
import { Metrics } from "../../worker/metrics.ts";
import { registerPlaybookRoutes } from "../../worker/playbook-routes.ts";
import { eventually } from "../helpers/approvals.ts";
import { deviceDoc, type Harness, startHarness } from "../helpers/playbooks.ts";

const fleet = createFleet({ size: 3000, seed: 1 });
let sims: ResponseSystems;
let h: Harness;
let app: FastifyInstance;
const pumps: ReturnType<typeof fleet.facts>[] = [];
before(async () => {
  sims = await startResponseSystems({ fleet });
  h = await startHarness({
    fleet,
    sims,
    playbooks: {
      approvals: {
        linkSecret: "link-secret-for-tests-0123456789abcdef",
        approvers: ["dr.who", "dr.house"].map((identity) => ({
          identity,
          role: "clinical_engineering",
          slackWebhookUrl: sims.chat.personal("slack", identity),
        })),
      },
    },
  });
  for (let i = 0; i < fleet.size && pumps.length < 4; i++) {
    const f = fleet.facts(i);
    if (f.deviceClass === "infusion_pump" && f.credential.kind !== "hard_coded" && f.clinicalServers.length)
      pumps.push(f);
  }
  h.runtime.directory.observe(pumps.map((f) => deviceDoc(f, { inUse: true })));
  app = createApi({
    metrics: new Metrics(),
    log: silentLogger,
    ready: async () => ({ ok: true, checks: {} }),
    routes: (a) => registerPlaybookRoutes(a, h.runtime, h.runtime.config),
  });
  await app.ready();
});
after(async () => {
  await app.close();
  await h.close();
  await sims.stop();
});
const mac = (i: number) => (pumps[i] as (typeof pumps)[number]).mac;
const urlsIn = (v: unknown) => [...JSON.stringify(v).matchAll(/https?:\/\/[^"\s)]+/g)].map((m) => m[0]);

test("8a. no approve/deny link reaches the shared channel", async () => {
  sims.chat.slack.length = 0;
  const r = await h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: mac(0) });
  await h.runtime.engine.waitForRun(r.runId, (x) => x.status === "waiting_approval");
  assert.ok(await eventually(() => sims.chat.slack.length > 0), "the shared channel heard of the request");
  const shared = urlsIn(sims.chat.slack).filter((u) => u.includes("/approvals/"));
  assert.deepEqual(shared, [], "the shared channel carries approval links anyone in it can use");
});

test("8b. a plain GET of a delivered link does not decide", async () => {
  sims.chat.slack.length = 0;
  const r = await h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: mac(1) });
  const w = await h.runtime.engine.waitForRun(r.runId, (x) => x.status === "waiting_approval");
  const id = w.steps.approve_full?.approvalId as string;
  const linksTo = () =>
    urlsIn([sims.chat.slack, [...sims.chat.direct.values()]]).filter((x) => x.includes(id));
  const delivered = (await eventually(() => (linksTo().length ? linksTo() : undefined))) ?? [];
  assert.ok(delivered.length > 0, "no link was delivered");
  for (const u of delivered) {
    const p = new URL(u);
    const res = await app.inject({ method: "GET", url: `${p.pathname}${p.search}` });
    assert.ok(res.statusCode < 500, res.body);
  }
  assert.equal((await h.runtime.store.getApproval(id))?.status, "pending", "a GET decided the approval");
});

test("8c. decide() refuses a decision after expiry", async () => {
  const r = await h.runtime.engine.start({
    playbookId: "isolate-infusion-pump",
    device: mac(2),
    inputs: { approval_timeout: "300ms" },
  });
  const w = await h.runtime.engine.waitForRun(r.runId, (x) => x.status === "waiting_approval");
  await h.runtime.engine.close(); // workers down: the timeout job cannot run
  const id = w.steps.approve_full?.approvalId as string;
  const a = await h.runtime.store.getApproval(id);
  while (Date.now() <= Date.parse(a?.expiresAt as string) + 600)
    await new Promise((res) => setTimeout(res, 50));
  const d = await h.runtime.engine.decide(id, { approve: true, by: "dr.who", role: "clinical_engineering" });
  h.runtime.engine.startWorkers();
  assert.equal(d.ok, false, "a decision 0.6 s after expiry was accepted");
});

test("8d. an approval request pages the on-call", async () => {
  sims.pagerduty.incidents.clear();
  const r = await h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: mac(3) });
  await h.runtime.engine.waitForRun(r.runId, (x) => x.status === "waiting_approval");
  await eventually(() => sims.pagerduty.incidents.size > 0);
  const events = [...sims.pagerduty.incidents.values()].flatMap((i) => i.events);
  assert.ok(events.length > 0, "nobody was paged about the approval request");
});
