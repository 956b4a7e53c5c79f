/**
 * Issue 10, engine side: one scenario per reproduced finding (1–5 and the engine parts of 11), each
 * failing on the engine before the safety gate and passing after. Memory queue (the same engine code
 * as BullMQ; the generated suite in playbook-safety-properties.test.ts covers Redis and two worker
 * processes), HTTP to the response simulators.
 */
import assert from "node:assert/strict";
import { copyFile, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { EcsDocument } from "../../mappings/types.ts";
import type { RunState } from "../../playbooks/engine/store.ts";
import { createFleet, type DeviceFacts } from "../../simulators/fleet/fleet.ts";
import { type ResponseSystems, startResponseSystems } from "../../simulators/response/index.ts";
import { alertDoc, deviceDoc, type Harness, REDIS_URL, startHarness } from "../helpers/playbooks.ts";

const fleet = createFleet({ size: 3000, seed: 1 });
let sims: ResponseSystems;
let dir: string;

// A playbook that goes straight to full isolation (no device.assess step): only the engine's gate
// stands between it and a pump in use.
const DIRECT_FULL = `id: direct-full
title: Full isolation without an assessment step
trigger: { manual: true }
steps:
  - id: isolate_nac
    action: ise.quarantine
    with: { macs: "{{ device.macs }}", mode: full }
    compensate: true
finally:
  - id: ticket
    action: servicenow.incident
    continueOnError: true
    with: { correlationId: "direct:{{ device.key }}", shortDescription: "direct-full {{ run.outcome }}", urgency: "1" }
  - id: page
    action: pagerduty.event
    continueOnError: true
    with: { dedupKey: "direct:{{ device.key }}", summary: "direct-full {{ run.outcome }}", severity: error, source: "{{ device.key }}" }
`;

before(async () => {
  sims = await startResponseSystems({ fleet });
  dir = await mkdtemp(join(tmpdir(), "medsoc-safety-pb-"));
  // The shipped playbooks (whatever they are on this branch) plus the test's own.
  for (const f of (await readdir("playbooks")).filter((x) => x.endsWith(".yaml")))
    await copyFile(join("playbooks", f), join(dir, f));
  // The per-point isolate and rotate playbooks these scenarios were written against.
  for (const f of await readdir("test/fixtures/playbooks-safety"))
    await copyFile(join("test/fixtures/playbooks-safety", f), join(dir, f));
  await writeFile(join(dir, "direct-full.yaml"), DIRECT_FULL);
});
after(async () => {
  await sims.stop();
  await rm(dir, { recursive: true, force: true });
});

function resetSims() {
  sims.ise.anc.clear();
  sims.ise.modes.ignoreApply = false;
  sims.panos.registered.clear();
  sims.servicenow.incidents.clear();
  sims.pagerduty.incidents.clear();
  sims.devices.failPush.clear();
  sims.devices.applyThenFail.clear();
  sims.devices.failVerify.clear();
  sims.devices.passwords.clear();
  sims.devices.pushes.clear();
  sims.vault.secrets.clear();
  sims.chat.slack.length = 0;
}

async function harness(playbooks: Record<string, unknown> = {}): Promise<Harness> {
  resetSims();
  return startHarness({ driver: "memory", fleet, sims, playbooks: { dir, ...playbooks } });
}

const pumps = (filter: (f: DeviceFacts) => boolean = () => true): DeviceFacts[] => {
  const out: DeviceFacts[] = [];
  for (let i = 0; i < fleet.size; i++) {
    const f = fleet.facts(i);
    if (f.deviceClass === "infusion_pump" && filter(f)) out.push(f);
  }
  return out;
};
const key = (f: DeviceFacts) => f.mac.replace(/:/g, "-").toUpperCase();
const settled = (r: RunState) =>
  r.status === "waiting_approval" ||
  r.status === "succeeded" ||
  r.status === "failed" ||
  r.status === "denied";
const staleDoc = (f: DeviceFacts, days = 3): EcsDocument => {
  const d = deviceDoc(f, { inUse: false });
  d["@timestamp"] = new Date(Date.now() - days * 86_400_000).toISOString();
  return d;
};

describe("issue 10 findings, engine side (memory queue)", () => {
  test("finding 1: limit 1, six idle pumps alerted at once → one automatic isolation, five wait for a blast-radius approval", async () => {
    const h = await harness({ blastRadiusPerHour: 1 });
    try {
      const six = pumps((f) => f.credential.kind !== "hard_coded").slice(20, 26);
      h.runtime.directory.observe(six.map((f) => deviceDoc(f, { inUse: false })));
      const started = await Promise.all(
        six.map((f) => h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: f.mac })),
      );
      const runs = await Promise.all(started.map((s) => h.runtime.engine.waitForRun(s.runId, settled)));
      const isolated = six.filter((f) => sims.ise.anc.get(f.mac) === "IOMT_QUARANTINE");
      assert.equal(isolated.length, 1, "exactly one device within the limit of 1");
      assert.equal(runs.filter((r) => r.status === "waiting_approval").length, 5);
      for (const r of runs.filter((x) => x.status === "waiting_approval")) {
        const a = await h.runtime.store.getApproval(r.steps.isolate_fw?.approvalId as string);
        assert.equal(a?.role, "soc");
        assert.match(a?.reason ?? "", /blast-radius/);
      }
      assert.equal(await h.runtime.store.countContainments(Date.now(), 3_600_000), 1);
    } finally {
      await h.close();
    }
  });

  test("finding 1: rotate-shared-credentials' compensating containment of hard-coded pumps in use counts per device and waits above the limit", async () => {
    const h = await harness({ blastRadiusPerHour: 1 });
    try {
      const hard = pumps((f) => f.clinicalServers.length > 0).slice(40, 45);
      const fp = "f".repeat(16);
      h.runtime.directory.observe(
        hard.map((f) => deviceDoc(f, { inUse: true, credential: { kind: "hard_coded", fingerprint: fp } })),
      );
      const r = await h.runtime.engine.start({
        playbookId: "rotate-shared-credentials",
        device: (hard[0] as DeviceFacts).mac,
        inputs: { fingerprint: fp },
      });
      const run = await h.runtime.engine.waitForRun(r.runId, settled);
      assert.equal(run.status, "waiting_approval");
      assert.equal(run.steps.contain_hard_coded_fw?.gate?.pending, "blast");
      for (const f of hard) {
        assert.equal(sims.panos.registered.has(f.ip), false, "nothing contained above the limit");
        assert.equal(sims.ise.anc.has(f.mac), false);
      }
    } finally {
      await h.close();
    }
  });

  test("finding 2: a fleet credential push leaves pumps in use, unknown or stale to clinical engineering; refused → only the idle ones are pushed", async () => {
    const h = await harness({ blastRadiusPerHour: 50 });
    try {
      const fp = "a".repeat(16);
      const all = pumps((f) => f.credential.kind !== "hard_coded").slice(60, 68);
      const [inUse, unknown, stale, idle] = [all.slice(0, 2), all.slice(2, 3), all.slice(3, 4), all.slice(4)];
      const cred = { kind: "default" as const, fingerprint: fp, username: "service" };
      h.runtime.directory.observe([
        ...inUse.map((f) => deviceDoc(f, { inUse: true, credential: cred })),
        ...unknown.map((f) => deviceDoc(f, { inUse: null, credential: cred })),
        ...stale.map((f) => {
          const d = deviceDoc(f, { inUse: false, credential: cred });
          d["@timestamp"] = new Date(Date.now() - 3 * 86_400_000).toISOString();
          return d;
        }),
        ...idle.map((f) => deviceDoc(f, { inUse: false, credential: cred })),
      ]);
      const r = await h.runtime.engine.start({
        playbookId: "rotate-shared-credentials",
        device: (idle[0] as DeviceFacts).mac,
        inputs: { fingerprint: fp },
      });
      const waiting = await h.runtime.engine.waitForRun(r.runId, settled);
      assert.equal(waiting.status, "waiting_approval", "the push waits for clinical engineering");
      assert.equal(sims.devices.pushes.size, 0, "nothing pushed before the decision");
      const a = await h.runtime.store.getApproval(waiting.steps.rotate?.approvalId as string);
      assert.equal(a?.role, "clinical_engineering");
      assert.deepEqual(new Set(a?.devices), new Set([...inUse, ...unknown, ...stale].map(key)));
      await h.runtime.engine.decide(a?.id as string, {
        approve: false,
        by: "dr.who",
        role: "clinical_engineering",
      });
      const run = await h.runtime.engine.waitForRun(r.runId);
      for (const f of [...inUse, ...unknown, ...stale])
        assert.equal(sims.devices.pushes.has(key(f)), false, `${key(f)} not pushed`);
      for (const f of idle) assert.equal(sims.devices.pushes.get(key(f)), 1, `${key(f)} pushed`);
      assert.deepEqual(
        new Set(run.steps.rotate?.gate?.skipped),
        new Set([...inUse, ...unknown, ...stale].map(key)),
      );
      assert.equal(
        (run.steps.rotate?.output as { counts: Record<string, number> } | undefined)?.counts.rotated,
        idle.length,
      );
      assert.ok(sims.pagerduty.incidents.size >= 1, "paged");
    } finally {
      await h.close();
    }
  });

  test("finding 2: the state is read again right before full isolation — idle in the run's snapshot, in use now → clinical engineering first", async () => {
    const h = await harness();
    try {
      const f = pumps((x) => x.clinicalServers.length > 0)[70] as DeviceFacts;
      h.runtime.directory.observe([deviceDoc(f, { inUse: false })]);
      await h.runtime.engine.close(); // no workers while the pump starts an infusion
      const r = await h.runtime.engine.start({ playbookId: "direct-full", device: f.mac });
      h.runtime.directory.observe([deviceDoc(f, { inUse: true })]);
      h.runtime.engine.startWorkers();
      const run = await h.runtime.engine.waitForRun(r.runId, settled);
      assert.equal(run.status, "waiting_approval");
      assert.equal(sims.ise.anc.has(f.mac), false, "not isolated while in use without approval");
      const a = await h.runtime.store.getApproval(run.steps.isolate_nac?.approvalId as string);
      assert.equal(a?.role, "clinical_engineering");
      await h.runtime.engine.decide(a?.id as string, {
        approve: true,
        by: "dr.who",
        role: "clinical_engineering",
      });
      const done = await h.runtime.engine.waitForRun(r.runId);
      assert.equal(done.status, "succeeded", done.error);
      assert.equal(sims.ise.anc.get(f.mac), "IOMT_QUARANTINE");
    } finally {
      await h.close();
    }
  });

  test("finding 3: restricted → approved → full isolation fails at the NAC → restricted containment stays, only the failed escalation is undone, paged", async () => {
    const h = await harness();
    try {
      const f = pumps(
        (x) => x.clinicalServers.length > 0 && x.credential.kind !== "hard_coded",
      )[80] as DeviceFacts;
      h.runtime.directory.observe([deviceDoc(f, { inUse: true })]);
      const r = await h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: f.mac });
      const waiting = await h.runtime.engine.waitForRun(r.runId, (x) => x.status === "waiting_approval");
      assert.equal(sims.ise.anc.get(f.mac), "IOMT_RESTRICTED");
      sims.ise.modes.ignoreApply = true; // the NAC answers 204 to full isolation and applies nothing
      await h.runtime.engine.decide(waiting.steps.approve_full?.approvalId as string, {
        approve: true,
        by: "dr.who",
        role: "clinical_engineering",
      });
      const run = await h.runtime.engine.waitForRun(r.runId);
      assert.equal(run.status, "failed");
      assert.equal(run.steps.isolate_nac?.status, "failed");
      assert.equal(run.steps.isolate_fw?.undone, true, "the failed escalation's firewall tag is undone");
      assert.equal(run.steps.restrict_fw?.undone, undefined, "restricted firewall tag kept");
      assert.equal(run.steps.restrict_nac?.undone, undefined, "restricted NAC policy kept");
      assert.deepEqual(run.containmentKept?.sort(), ["restrict_fw", "restrict_nac"]);
      assert.equal(sims.ise.anc.get(f.mac), "IOMT_RESTRICTED", "the pump is still in restricted containment");
      assert.ok(sims.panos.registered.get(f.ip)?.has("iomt-restricted"));
      assert.equal(sims.panos.registered.get(f.ip)?.has("iomt-quarantine") ?? false, false);
      assert.equal(sims.pagerduty.incidents.get(`isolate:${key(f)}`)?.status, "triggered");
    } finally {
      await h.close();
    }
  });

  test("finding 4: in_use false seen three days ago is stale, not known idle → restricted and an approval, no automatic full isolation", async () => {
    const h = await harness();
    try {
      const f = pumps(
        (x) => x.clinicalServers.length > 0 && x.credential.kind !== "hard_coded",
      )[90] as DeviceFacts;
      await h.runtime.rules.onDocuments([staleDoc(f), alertDoc(f, "Communication to a suspicious host")]);
      const [listed] = await h.runtime.store.listRuns();
      const run = await h.runtime.engine.waitForRun((listed as RunState).id, settled);
      const assessed = run.steps.assess?.output as { mode: string; reasons: string[] };
      assert.equal(assessed.mode, "restricted");
      assert.match(assessed.reasons.join(" "), /stale/);
      assert.equal(run.status, "waiting_approval");
      assert.equal(sims.ise.anc.get(f.mac), "IOMT_RESTRICTED");
    } finally {
      await h.close();
    }
  });

  test("finding 5: restricted containment with no clinical servers for the class is sent to clinical engineering, never applied silently", async () => {
    const h = await harness({ clinicalServers: {} });
    try {
      const f = pumps((x) => x.credential.kind !== "hard_coded")[100] as DeviceFacts;
      h.runtime.directory.observe([deviceDoc(f, { inUse: true })]);
      const r = await h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: f.mac });
      const run = await h.runtime.engine.waitForRun(r.runId, settled);
      assert.equal(run.status, "waiting_approval");
      assert.equal(run.steps.restrict_fw?.gate?.pending, "clinical");
      const a = await h.runtime.store.getApproval(run.steps.restrict_fw?.approvalId as string);
      assert.equal(a?.role, "clinical_engineering");
      assert.match(a?.reason ?? "", /no clinical servers/);
      assert.equal(sims.panos.registered.has(f.ip), false);
      assert.equal(sims.ise.anc.has(f.mac), false);
    } finally {
      await h.close();
    }
  });

  test("finding 11: a run whose step job is lost does not lock the pump out of containment forever (lease, reaper → ticket and page)", async () => {
    const h = await harness({ leaseSeconds: 2 });
    try {
      const f = pumps((x) => x.credential.kind !== "hard_coded")[110] as DeviceFacts;
      h.runtime.directory.observe([deviceDoc(f, { inUse: false })]);
      await h.runtime.engine.close();
      const first = await h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: f.mac });
      await h.runtime.engine.queue.obliterate(); // the step job is gone (dead-lettered)
      const blocked = await h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: f.mac });
      assert.equal(blocked.status, "rejected", "the lock holds while the lease runs");
      await new Promise((r) => setTimeout(r, 2500));
      h.runtime.engine.startWorkers();
      await h.runtime.engine.reap(); // or the replica's own reaper, whichever comes first
      const reaped = await h.runtime.engine.waitForRun(first.runId);
      assert.equal(
        h.runtime.audit.entries.filter((e) => e.type === "run.reaped" && e.runId === first.runId).length,
        1,
        "reaped once",
      );
      assert.equal(reaped.status, "failed");
      assert.match(reaped.error ?? "", /lease lapsed/);
      assert.ok([...sims.servicenow.incidents.values()].some((i) => /FAILED/.test(i.short_description)));
      const second = await h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: f.mac });
      assert.equal(second.status, "running", second.reason);
      const done = await h.runtime.engine.waitForRun(second.runId);
      assert.equal(done.status, "succeeded", done.error);
      assert.equal(sims.ise.anc.get(f.mac), "IOMT_QUARANTINE");
    } finally {
      await h.close();
    }
  });

  test("finding 11: the run is saved before the approval is announced — a crash at the save sends one request, and it is the one the run waits for", async () => {
    const h = await harness();
    try {
      const f = pumps(
        (x) => x.clinicalServers.length > 0 && x.credential.kind !== "hard_coded",
      )[120] as DeviceFacts;
      h.runtime.directory.observe([deviceDoc(f, { inUse: true })]);
      const store = h.runtime.store;
      const save = store.saveRun.bind(store);
      let crashed = false;
      store.saveRun = async (run) => {
        if (run.status === "waiting_approval" && !crashed) {
          crashed = true;
          throw new Error("worker died while saving the run");
        }
        return save(run);
      };
      const r = await h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: f.mac });
      const run = await h.runtime.engine.waitForRun(r.runId, (x) => x.status === "waiting_approval");
      await new Promise((res) => setTimeout(res, 300));
      assert.ok(crashed);
      const requested = h.runtime.audit.entries.filter(
        (e) => e.type === "approval.requested" && e.runId === r.runId,
      );
      assert.equal(requested.length, 1, "one approval request");
      const approvalId = run.steps.approve_full?.approvalId as string;
      assert.equal(
        (requested[0]?.detail as { approvalId?: string } | undefined)?.approvalId,
        approvalId,
        "the announced approval is the run's",
      );
      assert.equal((await h.runtime.store.listApprovals()).length, 1, "no orphaned second request");
      const ok = await h.runtime.engine.decide(approvalId, {
        approve: true,
        by: "dr.who",
        role: "clinical_engineering",
      });
      assert.equal(ok.ok, true);
      assert.equal((await h.runtime.engine.waitForRun(r.runId)).status, "succeeded");
    } finally {
      await h.close();
    }
  });

  test("finding 11: an ambiguous device push failure (applied, then the answer is lost, no read-back) is 'device state unknown', not rolled back, and paged", async () => {
    const h = await harness({ blastRadiusPerHour: 50 });
    try {
      const fp = "b".repeat(16);
      const two = pumps((x) => x.credential.kind !== "hard_coded").slice(130, 132);
      const cred = { kind: "default" as const, fingerprint: fp, username: "service" };
      h.runtime.directory.observe(two.map((f) => deviceDoc(f, { inUse: false, credential: cred })));
      const victim = two[1] as DeviceFacts;
      sims.devices.applyThenFail.add(key(victim));
      sims.devices.failVerify.add(key(victim));
      const r = await h.runtime.engine.start({
        playbookId: "rotate-shared-credentials",
        device: (two[0] as DeviceFacts).mac,
        inputs: { fingerprint: fp },
      });
      const run = await h.runtime.engine.waitForRun(r.runId, undefined, 60_000);
      const out = run.steps.rotate?.output as { devices: { key: string; status: string; detail: string }[] };
      const v = out.devices.find((d) => d.key === key(victim));
      assert.equal(v?.status, "unknown");
      assert.match(v?.detail ?? "", /device state unknown/);
      assert.equal(sims.devices.passwords.has(key(victim)), true, "the device did take the new password");
      const versions = sims.vault.secrets.get(`medsoc/devices/${key(victim)}`) ?? [];
      assert.equal(versions.length, 1, "the vault keeps the new password (not rolled back)");
      assert.equal(run.status, "failed");
      const page = [...sims.pagerduty.incidents.values()].at(-1);
      assert.equal(page?.status, "triggered");
      assert.match(JSON.stringify(page?.events.at(-1)), /"severity":"error"/);
    } finally {
      await h.close();
    }
  });
});

describe("blast-radius reservation: one atomic script for every replica", () => {
  test("two Redis clients reserving at once never pass the limit; a device already reserved takes no new capacity; the memory store agrees", async () => {
    const { RedisRunStore, MemoryRunStore } = await import("../../playbooks/engine/store.ts");
    const { randomUUID } = await import("node:crypto");
    const prefix = `medsoc-test-${randomUUID()}`;
    const a = new RedisRunStore({ redisUrl: REDIS_URL, prefix });
    const b = new RedisRunStore({ redisUrl: REDIS_URL, prefix });
    const m = new MemoryRunStore();
    try {
      const now = Date.now();
      for (const store of [a, m]) {
        const other = store === a ? b : m;
        const tries = Array.from({ length: 40 }, (_, i) =>
          (i % 2 ? store : other).reserveDevices([`dev-${i}`, `dev-${i}-b`], now, 3_600_000, 7),
        );
        const results = await Promise.all(tries);
        assert.equal(results.filter((r) => r.ok).length, 3, "three pairs fit under 7, the fourth does not");
        assert.equal(await store.countContainments(now, 3_600_000), 6);
        const granted = results.findIndex((r) => r.ok);
        const again = await store.reserveDevices([`dev-${granted}`, `dev-${granted}-b`], now, 3_600_000, 6);
        assert.deepEqual(again, { ok: true, count: 6 }, "already reserved: no new capacity");
        assert.equal((await store.reserveDevices(["new-1"], now, 3_600_000, 7)).ok, true);
        assert.equal((await store.reserveDevices(["new-2"], now, 3_600_000, 7)).ok, false);
        // An hour later the window is empty again.
        assert.equal((await store.reserveDevices(["new-2"], now + 3_600_001, 3_600_000, 7)).count, 1);
      }
    } finally {
      await a.clear();
      await a.close();
      await b.close();
    }
  });
});
