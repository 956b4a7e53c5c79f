/**
 * Playbook scenarios on the simulated hospital (issue 5 "Tests"). Integration test: needs Redis on
 * 127.0.0.1:6379 (`MEDSOC_TEST_REDIS_URL` overrides); every test has its own key prefix and
 * removes its keys. Runs go through BullMQ step jobs and talk HTTP to the response simulators.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { verifyChain } from "../../playbooks/engine/audit.ts";
import { createFleet } from "../../simulators/fleet.ts";
import { type ResponseSystems, startResponseSystems } from "../../simulators/response/index.ts";
import { alertDoc, deviceDoc, type Harness, startHarness } from "../helpers/playbooks.ts";

const fleet = createFleet({ size: 3000, seed: 1 });
let sims: ResponseSystems;

before(async () => {
  sims = await startResponseSystems({ fleet });
});
after(async () => {
  await sims.stop();
});

function resetSims() {
  sims.ise.anc.clear();
  sims.ise.modes.ignoreApply = false;
  sims.panos.registered.clear();
  sims.servicenow.incidents.clear();
  sims.pagerduty.incidents.clear();
  sims.devices.failPush.clear();
  sims.devices.passwords.clear();
  sims.vault.secrets.clear();
  sims.chat.slack.length = 0;
}

async function harness(o: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  resetSims();
  return startHarness({ fleet, sims, ...o });
}

const pumps = (filter: (f: ReturnType<typeof fleet.facts>) => boolean = () => true) => {
  const out: number[] = [];
  for (let i = 0; i < fleet.size; i++) {
    const f = fleet.facts(i);
    if (f.deviceClass === "infusion_pump" && f.credential.kind !== "hard_coded" && filter(f)) out.push(i);
  }
  return out;
};

describe("playbook scenarios (BullMQ on Redis)", () => {
  test("1. compromised pump not in use → automatic full containment, verified, ticket and page", async () => {
    const h = await harness();
    try {
      const f = fleet.facts(pumps()[0] as number);
      await h.runtime.rules.onDocuments([
        deviceDoc(f, { inUse: false }),
        alertDoc(f, "Communication to a suspicious host"),
      ]);
      assert.equal(h.runtime.rules.stats.started, 1);
      const runs = await h.runtime.store.listRuns();
      const run = await h.runtime.engine.waitForRun((runs[0] as { id: string }).id);
      assert.equal(run.status, "succeeded", run.error);
      assert.equal(run.steps.assess?.output && (run.steps.assess.output as { mode: string }).mode, "full");
      assert.equal(run.steps.approve_full?.status, "skipped");
      assert.equal(sims.ise.anc.get(f.mac), "IOMT_QUARANTINE");
      assert.ok(sims.panos.registered.get(f.ip)?.has("iomt-quarantine"));
      assert.equal(run.steps.isolate_nac?.verification?.ok, true);
      const inc = [...sims.servicenow.incidents.values()];
      assert.equal(inc.length, 1);
      assert.match(inc[0]?.short_description ?? "", /isolated/);
      assert.equal(sims.pagerduty.incidents.get(`isolate:${f.mac.replace(/:/g, "-")}`)?.status, "triggered");
    } finally {
      await h.close();
    }
  });

  test("2. pump in use → restricted containment + approval; timeout → no full isolation; approval → full isolation", async () => {
    const h = await harness();
    try {
      const [a, b] = pumps((f) => f.clinicalServers.length > 0);
      const fa = fleet.facts(a as number);
      const fb = fleet.facts(b as number);
      h.runtime.directory.observe([deviceDoc(fa, { inUse: true }), deviceDoc(fb, { inUse: true })]);
      // Timeout path: a short approval timeout, nobody answers.
      const ra = await h.runtime.engine.start({
        playbookId: "isolate-infusion-pump",
        device: fa.mac,
        inputs: { approval_timeout: "1s" },
      });
      const waitingA = await h.runtime.engine.waitForRun(ra.runId, (r) => r.status === "waiting_approval");
      assert.equal(sims.ise.anc.get(fa.mac), "IOMT_RESTRICTED");
      assert.ok(sims.panos.registered.get(fa.ip)?.has("iomt-restricted"));
      for (const s of fa.clinicalServers)
        assert.ok(sims.panos.registered.get(s)?.has("iomt-clinical-servers"), s);
      assert.equal(sims.chat.slack.length, 1, "approvers were notified with links");
      assert.match(JSON.stringify(sims.chat.slack[0]), /\/v1\/approvals\/[0-9a-f-]+\/link\?decision=approve/);
      const approvalId = waitingA.steps.approve_full?.approvalId as string;
      // Expire it now through the timeout job (the playbook's 30m is what production waits).
      await h.runtime.engine.queue.add(
        "approval-timeout",
        { kind: "approval-timeout", runId: ra.runId, approvalId },
        { jobId: `t-now-${approvalId}` },
      );
      const doneA = await h.runtime.engine.waitForRun(ra.runId);
      assert.equal(doneA.status, "denied");
      assert.equal(doneA.steps.isolate_nac?.status, "skipped");
      assert.equal(sims.ise.anc.get(fa.mac), "IOMT_RESTRICTED", "no full isolation after a timeout");
      assert.equal((await h.runtime.store.getApproval(approvalId))?.status, "expired");

      // Approval path.
      const rb = await h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: fb.mac });
      const waitingB = await h.runtime.engine.waitForRun(rb.runId, (r) => r.status === "waiting_approval");
      const wrongRole = await h.runtime.engine.decide(waitingB.steps.approve_full?.approvalId as string, {
        approve: true,
        by: "analyst",
        role: "soc",
      });
      assert.equal(wrongRole.ok, false);
      const ok = await h.runtime.engine.decide(waitingB.steps.approve_full?.approvalId as string, {
        approve: true,
        by: "dr.who",
        role: "clinical_engineering",
      });
      assert.equal(ok.ok, true);
      const doneB = await h.runtime.engine.waitForRun(rb.runId);
      assert.equal(doneB.status, "succeeded", doneB.error);
      assert.equal(sims.ise.anc.get(fb.mac), "IOMT_QUARANTINE");
      assert.ok(sims.panos.registered.get(fb.ip)?.has("iomt-quarantine"));
    } finally {
      await h.close();
    }
  });

  test("3. NAC answers 2xx but the read-back shows nothing → step fails, compensations run, someone is paged", async () => {
    const h = await harness();
    try {
      const f = fleet.facts(pumps()[2] as number);
      h.runtime.directory.observe([deviceDoc(f, { inUse: false })]);
      sims.ise.modes.ignoreApply = true;
      const r = await h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: f.mac });
      const run = await h.runtime.engine.waitForRun(r.runId);
      assert.equal(run.status, "failed");
      assert.equal(run.steps.isolate_nac?.status, "failed");
      assert.match(run.steps.isolate_nac?.error ?? "", /verification of isolate_nac failed/);
      assert.equal(run.steps.isolate_fw?.undone, true, "the firewall tag was compensated");
      assert.equal(sims.panos.registered.get(f.ip)?.has("iomt-quarantine") ?? false, false);
      const page = sims.pagerduty.incidents.get(`isolate:${f.mac.replace(/:/g, "-")}`);
      assert.equal(page?.status, "triggered");
      assert.match(JSON.stringify(page?.events.at(-1)), /FAILED/);
      const types = h.runtime.audit.entries.filter((e) => e.runId === r.runId).map((e) => e.type);
      assert.ok(types.includes("compensation.completed"));
    } finally {
      await h.close();
    }
  });
});
