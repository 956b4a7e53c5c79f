/**
 * The shipped playbooks contain a pump through whichever enforcement points the deployment
 * configures (issue 10 finding 7) and tell the truth about it, with the triggering alert:
 * ISE + PAN-OS, ClearPass + FortiGate, monitor tags only (Armis, xDome, Forescout), and none
 * configured (the run fails, no approval is asked, the ticket says so). Also the playbook-level
 * face of finding 6: a second pump into restricted containment and the release of a restricted-only
 * pump, against a PAN-OS simulator that answers duplicate/missing tags with errors like a firewall.
 * Memory queue (no Redis); every outside system is a loopback simulator.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { summarizeStore } from "../../playbooks/summary.ts";
import { createFleet, type DeviceFacts } from "../../simulators/fleet/fleet.ts";
import {
  type ExtendedResponseSystems,
  startExtendedResponseSystems,
} from "../../simulators/response/enforcement.ts";
import { type ResponseSystems, startResponseSystems } from "../../simulators/response/index.ts";
import { deviceDoc, type Harness, startHarness } from "../helpers/playbooks.ts";

const fleet = createFleet({ size: 400, seed: 11 });
let base: ResponseSystems;
let ext: ExtendedResponseSystems;

before(async () => {
  [base, ext] = await Promise.all([startResponseSystems({ fleet }), startExtendedResponseSystems({ fleet })]);
});
after(async () => {
  await Promise.all([base.stop(), ext.stop()]);
});

type PointSet = ("ise" | "panos" | "clearpass" | "fortigate" | "armis" | "xdome" | "forescout")[];

/** A deployment with ServiceNow, PagerDuty, chat and exactly the enforcement points `points`. */
async function deployment(points: PointSet): Promise<Harness> {
  base.servicenow.incidents.clear();
  base.pagerduty.incidents.clear();
  base.chat.slack.length = 0;
  const all = { ...base.systemsConfig(), ...ext.systemsConfig() } as Record<string, unknown>;
  const systems: Record<string, unknown> = {
    servicenow: all.servicenow,
    pagerduty: all.pagerduty,
    slack: all.slack,
  };
  for (const p of points) systems[p] = all[p];
  return startHarness({ driver: "memory", fleet, sims: base, playbooks: { systems } });
}

const pumps = (n: number, filter: (f: DeviceFacts) => boolean = () => true): DeviceFacts[] => {
  const out: DeviceFacts[] = [];
  for (let i = 0; i < fleet.size && out.length < n; i++) {
    const f = fleet.facts(i);
    if (f.deviceClass === "infusion_pump" && f.clinicalServers.length > 0 && filter(f)) out.push(f);
  }
  assert.equal(out.length, n, "enough pumps with clinical servers in the fleet");
  return out;
};
const dashed = (mac: string) => mac.replace(/:/g, "-");
const plainMac = (mac: string) => mac.toLowerCase().replace(/:/g, "");
const lastIncident = () => [...base.servicenow.incidents.values()].at(-1);
const pageOf = (f: DeviceFacts) => base.pagerduty.incidents.get(`isolate:${dashed(f.mac)}`);
const verifiedOf = (run: { steps: Record<string, { output?: unknown } | undefined> }, id: string) =>
  (run.steps[id]?.output as { verified?: string[] } | undefined)?.verified ?? [];
const ALERT = { alert_id: "armis-alert-3984", rule: "pump-compromise", reason: "C2 beacon to 203.0.113.7" };

/** Runs isolate-infusion-pump on an in-use pump, approves full isolation, returns the finished run. */
async function restrictThenApprove(h: Harness, f: DeviceFacts) {
  h.runtime.directory.observe([deviceDoc(f, { inUse: true })]);
  const r = await h.runtime.engine.start({
    playbookId: "isolate-infusion-pump",
    device: f.mac,
    inputs: ALERT,
  });
  const waiting = await h.runtime.engine.waitForRun(r.runId, (x) => x.status === "waiting_approval");
  return { runId: r.runId, waiting };
}

describe("shipped playbooks on every enforcement-point set", () => {
  test("ClearPass + FortiGate: an in-use pump is really restricted, then fully isolated on approval; release clears both", async () => {
    const h = await deployment(["clearpass", "fortigate"]);
    try {
      const [f] = pumps(1, (x) => x.ip !== "") as [DeviceFacts];
      const { runId, waiting } = await restrictThenApprove(h, f);
      const restrict = waiting.steps.restrict?.output as { verified: string[]; failed: unknown[] };
      assert.deepEqual(restrict.verified, ["Aruba ClearPass", "FortiGate"]);
      assert.equal(
        ext.clearpass.endpoints.get(plainMac(f.mac))?.attributes["IoMT-Quarantine-Mode"],
        "restricted",
      );
      assert.ok(ext.fortigate.groups.get("IoMT-Restricted")?.includes(`medsoc-dev-${f.ip}`));
      for (const s of f.clinicalServers)
        assert.ok(ext.fortigate.groups.get("IoMT-Clinical-Servers")?.includes(`medsoc-srv-${s}`), s);
      assert.equal(ext.fortigate.banned.has(f.ip), false, "restricted never bans");
      // The approver is told what holds now.
      const approval = await h.runtime.store.getApproval(waiting.steps.approve_full?.approvalId as string);
      assert.match(approval?.reason ?? "", /restricted containment verified on Aruba ClearPass, FortiGate/);
      const decided = await h.runtime.engine.decide(waiting.steps.approve_full?.approvalId as string, {
        approve: true,
        by: "dr.who",
        role: "clinical_engineering",
      });
      assert.equal(decided.ok, true);
      const run = await h.runtime.engine.waitForRun(runId);
      assert.equal(run.status, "succeeded", run.error);
      assert.equal(ext.clearpass.endpoints.get(plainMac(f.mac))?.attributes["IoMT-Quarantine-Mode"], "full");
      assert.ok(ext.fortigate.banned.has(f.ip));
      const inc = lastIncident();
      assert.match(inc?.short_description ?? "", /isolated via Aruba ClearPass, FortiGate$/);
      assert.match(
        inc?.description ?? "",
        /Alert armis-alert-3984 from rule pump-compromise: C2 beacon to 203\.0\.113\.7\./,
      );
      assert.match(
        inc?.description ?? "",
        /Full isolation: full containment verified on Aruba ClearPass, FortiGate/,
      );
      const page = pageOf(f);
      assert.match(JSON.stringify(page?.events.at(-1)), /armis-alert-3984 \(pump-compromise\): C2 beacon/);

      const rel = await h.runtime.engine.start({ playbookId: "release-device", device: f.mac });
      const released = await h.runtime.engine.waitForRun(rel.runId);
      assert.equal(released.status, "succeeded", released.error);
      assert.equal(ext.clearpass.endpoints.get(plainMac(f.mac))?.attributes["IoMT-Quarantine"], "false");
      assert.equal(ext.fortigate.banned.has(f.ip), false);
      assert.equal(ext.fortigate.groups.get("IoMT-Restricted")?.includes(`medsoc-dev-${f.ip}`), false);
      assert.equal(pageOf(f)?.status, "resolved");
    } finally {
      await h.close();
    }
  });

  test("ISE + PAN-OS: a second in-use pump is restricted too (clinical servers already tagged), and a restricted-only pump is released", async () => {
    base.panos.registered.clear();
    base.ise.anc.clear();
    const h = await deployment(["ise", "panos"]);
    try {
      const [a] = pumps(1, (x) => x.ip !== "") as [DeviceFacts];
      // Same site and class → the same clinical servers: the second restriction registers tags the
      // firewall already has (it answers "already exists, ignore" as an error).
      const [b] = pumps(1, (x) => x.ip !== "" && x.id !== a.id && x.site.name === a.site.name) as [
        DeviceFacts,
      ];
      assert.deepEqual(b.clinicalServers, a.clinicalServers);
      const first = await restrictThenApprove(h, a);
      const second = await restrictThenApprove(h, b);
      for (const w of [first.waiting, second.waiting])
        assert.deepEqual(verifiedOf(w, "restrict"), ["Cisco ISE ANC", "PAN-OS User-ID tag"]);
      for (const f of [a, b]) {
        assert.ok(base.panos.registered.get(f.ip)?.has("iomt-restricted"), f.ip);
        assert.equal(base.ise.anc.get(f.mac), "IOMT_RESTRICTED");
      }
      // Nobody approves: both stay restricted (denied on timeout is the approvals' business).
      await h.runtime.engine.queue.add(
        "approval-timeout",
        {
          kind: "approval-timeout",
          runId: second.runId,
          approvalId: second.waiting.steps.approve_full?.approvalId as string,
        },
        { jobId: `t-now-${second.runId}` },
      );
      const denied = await h.runtime.engine.waitForRun(second.runId);
      assert.equal(denied.status, "denied");
      assert.match(
        lastIncident()?.short_description ?? "",
        /in restricted containment, full isolation not approved via Cisco ISE ANC, PAN-OS User-ID tag/,
      );
      // Release the restricted-only pump: the full tag was never there ("does not exist, ignore unreg").
      const rel = await h.runtime.engine.start({ playbookId: "release-device", device: b.mac });
      const released = await h.runtime.engine.waitForRun(rel.runId);
      assert.equal(released.status, "succeeded", released.error);
      assert.equal(base.panos.registered.get(b.ip)?.size ?? 0, 0);
      assert.equal(base.ise.anc.has(b.mac), false);
      assert.ok(base.panos.registered.get(a.ip)?.has("iomt-restricted"), "the other pump stays restricted");
    } finally {
      await h.close();
    }
  });

  test("monitor tags only (Armis, xDome, Forescout): an idle pump is marked on all three, each read back", async () => {
    const h = await deployment(["armis", "xdome", "forescout"]);
    try {
      const [f] = pumps(1, (x) => x.ip !== "" && !ext.armis.devices.get(x.id)?.tags?.length) as [DeviceFacts];
      h.runtime.directory.observe([deviceDoc(f, { inUse: false })]);
      const r = await h.runtime.engine.start({
        playbookId: "isolate-infusion-pump",
        device: f.mac,
        inputs: ALERT,
      });
      const run = await h.runtime.engine.waitForRun(r.runId);
      assert.equal(run.status, "succeeded", run.error);
      assert.deepEqual(verifiedOf(run, "isolate"), [
        "Armis device tag",
        "Claroty xDome attribute",
        "Forescout property",
      ]);
      assert.ok(ext.armis.devices.get(f.id)?.tags?.includes("medsoc-quarantine"));
      assert.equal(ext.xdome.devices.get(f.uid)?.custom.medsoc_containment, "quarantine");
      assert.equal(ext.forescout.hosts.get(f.ip)?.properties.get("iomt_quarantine")?.value, "full");
      assert.match(
        lastIncident()?.short_description ?? "",
        /isolated via Armis device tag, Claroty xDome attribute, Forescout property$/,
      );
      // The end-of-run summary of `medsoc start` counts the fan-out's verified device.
      const pbs = h.runtime.engine.playbooks;
      const summary = await summarizeStore(
        h.runtime.store,
        (pb, step) => pbs.get(pb)?.steps.find((x) => x.id === step)?.action,
      );
      assert.equal(summary.containedFull, 1);
      const rel = await h.runtime.engine.start({ playbookId: "release-device", device: f.mac });
      const released = await h.runtime.engine.waitForRun(rel.runId);
      assert.equal(released.status, "succeeded", released.error);
      assert.equal(ext.armis.devices.get(f.id)?.tags?.includes("medsoc-quarantine"), false);
      assert.equal(ext.xdome.devices.get(f.uid)?.custom.medsoc_containment ?? null, null);
      assert.equal(ext.forescout.hosts.get(f.ip)?.properties.has("iomt_quarantine"), false);
    } finally {
      await h.close();
    }
  });

  test("none configured: the run fails before any approval is asked, and the ticket and page say nothing was contained", async () => {
    const h = await deployment([]);
    try {
      const [f] = pumps(1) as [DeviceFacts];
      h.runtime.directory.observe([deviceDoc(f, { inUse: true })]);
      const r = await h.runtime.engine.start({
        playbookId: "isolate-infusion-pump",
        device: f.mac,
        inputs: ALERT,
      });
      const run = await h.runtime.engine.waitForRun(r.runId);
      assert.equal(run.status, "failed");
      assert.match(run.error ?? "", /no enforcement point is configured/);
      assert.equal(run.steps.approve_full?.approvalId, undefined, "clinical engineering is not asked");
      assert.equal(base.chat.slack.filter((m) => /approv/i.test(JSON.stringify(m))).length, 0);
      const inc = lastIncident();
      assert.match(inc?.short_description ?? "", /containment FAILED via nothing$/);
      assert.doesNotMatch(inc?.short_description ?? "", /restricted containment/);
      assert.match(
        inc?.description ?? "",
        /Restricted containment: FAILED: .*no enforcement point is configured/,
      );
      assert.match(inc?.description ?? "", /Alert armis-alert-3984 from rule pump-compromise/);
      const page = pageOf(f);
      assert.equal(page?.status, "triggered");
      assert.match(JSON.stringify(page?.events.at(-1)), /containment FAILED, act now/);
      assert.match(JSON.stringify(page?.events.at(-1)), /"severity":"critical"/);
      // release-device and contain-eol-workstation fail the same way.
      const rel = await h.runtime.engine.start({ playbookId: "release-device", device: f.mac });
      const released = await h.runtime.engine.waitForRun(rel.runId);
      assert.equal(released.status, "failed");
      assert.match(released.error ?? "", /no enforcement point is configured/);
    } finally {
      await h.close();
    }
  });

  test("contain-eol-workstation on ClearPass + FortiGate: restricted on both, the ticket names them and the alert", async () => {
    const h = await deployment(["clearpass", "fortigate"]);
    try {
      const [f] = pumps(
        1,
        (x) => x.ip !== "" && !ext.fortigate.groups.get("IoMT-Restricted")?.includes(`medsoc-dev-${x.ip}`),
      ) as [DeviceFacts];
      h.runtime.directory.observe([deviceDoc(f, { inUse: false })]);
      const r = await h.runtime.engine.start({
        playbookId: "contain-eol-workstation",
        device: f.mac,
        inputs: ALERT,
      });
      const run = await h.runtime.engine.waitForRun(r.runId);
      assert.equal(run.status, "succeeded", run.error);
      assert.deepEqual(verifiedOf(run, "restrict"), ["Aruba ClearPass", "FortiGate"]);
      assert.ok(ext.fortigate.groups.get("IoMT-Restricted")?.includes(`medsoc-dev-${f.ip}`));
      const inc = lastIncident();
      assert.match(inc?.short_description ?? "", /restricted via Aruba ClearPass, FortiGate$/);
      assert.match(inc?.description ?? "", /^Alert armis-alert-3984 from rule pump-compromise: C2 beacon/);
    } finally {
      await h.close();
    }
  });

  test("dry run on ClearPass + FortiGate: the plan names both points and no simulator is called", async () => {
    const h = await deployment(["clearpass", "fortigate"]);
    try {
      const [f] = pumps(1) as [DeviceFacts];
      h.runtime.directory.observe([deviceDoc(f, { inUse: false })]);
      const before = [ext.clearpass.log.length, ext.fortigate.log.length];
      const r = await h.runtime.engine.start({
        playbookId: "isolate-infusion-pump",
        device: f.mac,
        dryRun: true,
      });
      const run = await h.runtime.engine.waitForRun(r.runId);
      assert.equal(run.status, "succeeded", run.error);
      const plan =
        (run.steps.isolate?.output as { plan?: { summary: string } } | undefined)?.plan?.summary ?? "";
      assert.match(plan, /^full containment: Aruba ClearPass: .*; FortiGate: ban /);
      assert.deepEqual([ext.clearpass.log.length, ext.fortigate.log.length], before);
    } finally {
      await h.close();
    }
  });
});
