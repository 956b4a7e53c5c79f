/**
 * Playbook scenarios on the simulated hospital (issue 5 "Tests"). Integration test: needs Redis on
 * 127.0.0.1:6379 (`MEDSOC_TEST_REDIS_URL` overrides); every test has its own key prefix and
 * removes its keys. Runs go through BullMQ step jobs and talk HTTP to the response simulators.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { verifyChain } from "../../playbooks/engine/audit.ts";
import { createFleet } from "../../simulators/fleet/fleet.ts";
import { type ResponseSystems, startResponseSystems } from "../../simulators/response/index.ts";
import { AUDIT_TEST_KEY, alertDoc, deviceDoc, type Harness, startHarness } from "../helpers/playbooks.ts";

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
  sims.panos.modes.ignoreRegister = false;
  sims.panos.registered.clear();
  sims.servicenow.incidents.clear();
  sims.pagerduty.incidents.clear();
  sims.devices.failPush.clear();
  sims.devices.passwords.clear();
  sims.vault.secrets.clear();
  sims.chat.slack.length = 0;
  sims.chat.direct.clear();
  sims.panos.log.length = 0;
  sims.ise.log.length = 0;
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
      assert.equal(run.steps.isolate?.verification?.ok, true);
      const out = run.steps.isolate?.output as { verified: string[]; failed: unknown[] };
      assert.deepEqual(out.verified, ["Cisco ISE ANC", "PAN-OS User-ID tag"]);
      assert.deepEqual(out.failed, []);
      const inc = [...sims.servicenow.incidents.values()];
      assert.equal(inc.length, 1);
      assert.match(inc[0]?.short_description ?? "", /isolated/);
      assert.equal(sims.pagerduty.incidents.get(`isolate:${f.mac.replace(/:/g, "-")}`)?.status, "triggered");
    } finally {
      await h.close();
    }
  });

  test("1b. a one-shot backfill holds rules until every monitor's view is in: the alert before the inventory still sees the pump idle", async () => {
    const h = await harness({ holdRulesUntilFlush: true });
    try {
      const f = fleet.facts(pumps()[1] as number);
      // The alert lands before any inventory: held, not assessed as "clinical state unknown".
      await h.runtime.rules.onDocuments([alertDoc(f, "Communication to a suspicious host")]);
      await h.runtime.rules.onDocuments([deviceDoc(f, { inUse: false })]);
      assert.equal(h.runtime.rules.stats.started, 0);
      assert.equal(h.runtime.rules.stats.deferred, 1);
      await h.runtime.rules.flushPending();
      assert.equal(h.runtime.rules.stats.started, 1);
      const runs = await h.runtime.store.listRuns();
      const run = await h.runtime.engine.waitForRun((runs[0] as { id: string }).id);
      assert.equal(run.status, "succeeded", run.error);
      assert.equal((run.steps.assess?.output as { mode?: string } | undefined)?.mode, "full");
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
      // The run is saved as waiting before the request is announced (issue 10 finding 11): wait for it
      // (the shared notice goes out after the personal messages).
      for (let i = 0; i < 100 && sims.chat.slack.length === 0; i++)
        await new Promise((r) => setTimeout(r, 50));
      assert.equal(sims.chat.slack.length, 1, "the shared channel heard of the request");
      assert.doesNotMatch(
        JSON.stringify(sims.chat.slack[0]),
        /\/approvals\//,
        "no link in the shared channel",
      );
      assert.match(
        JSON.stringify(sims.chat.direct.get("dr.who")),
        /\/approvals\/[0-9a-f-]+\?t=/,
        "the approver got a personal one-time link",
      );
      const approvalId = waitingA.steps.approve_full?.approvalId as string;
      // Expire it now through the timeout job (the playbook's 30m is what production waits).
      await h.runtime.engine.queue.add(
        "approval-timeout",
        { kind: "approval-timeout", runId: ra.runId, approvalId },
        { jobId: `t-now-${approvalId}` },
      );
      const doneA = await h.runtime.engine.waitForRun(ra.runId);
      assert.equal(doneA.status, "denied");
      assert.equal(doneA.steps.isolate?.status, "skipped");
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

  test("3. NAC answers 2xx but the read-back shows nothing → the firewall still holds; ticket and page say exactly which point failed", async () => {
    const h = await harness();
    try {
      const f = fleet.facts(pumps()[2] as number);
      h.runtime.directory.observe([deviceDoc(f, { inUse: false })]);
      sims.ise.modes.ignoreApply = true;
      const r = await h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: f.mac });
      const run = await h.runtime.engine.waitForRun(r.runId);
      assert.equal(run.status, "succeeded", run.error);
      const out = run.steps.isolate?.output as {
        verified: string[];
        failed: { label: string; error: string }[];
      };
      assert.deepEqual(out.verified, ["PAN-OS User-ID tag"]);
      assert.equal(out.failed[0]?.label, "Cisco ISE ANC");
      assert.match(out.failed[0]?.error ?? "", /read-back/);
      assert.ok(sims.panos.registered.get(f.ip)?.has("iomt-quarantine"));
      const inc = [...sims.servicenow.incidents.values()].at(-1);
      assert.match(inc?.short_description ?? "", /isolated \(PARTIAL\) via PAN-OS User-ID tag$/);
      assert.match(inc?.description ?? "", /FAILED on Cisco ISE ANC/);
      const page = sims.pagerduty.incidents.get(`isolate:${f.mac.replace(/:/g, "-")}`);
      assert.equal(page?.status, "triggered");
      assert.match(JSON.stringify(page?.events.at(-1)), /"severity":"critical"/);
    } finally {
      await h.close();
    }
  });

  test("3b. no point holds (NAC and firewall answer 2xx, apply nothing) → run fails, nothing left behind, page says FAILED", async () => {
    const h = await harness();
    try {
      const f = fleet.facts(pumps()[3] as number);
      h.runtime.directory.observe([deviceDoc(f, { inUse: false })]);
      sims.ise.modes.ignoreApply = true;
      sims.panos.modes.ignoreRegister = true;
      const r = await h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: f.mac });
      const run = await h.runtime.engine.waitForRun(r.runId);
      assert.equal(run.status, "failed");
      assert.equal(run.steps.isolate?.status, "failed");
      assert.match(run.steps.isolate?.error ?? "", /no enforcement point contained/);
      assert.equal(sims.panos.registered.get(f.ip)?.size ?? 0, 0);
      const inc = [...sims.servicenow.incidents.values()].at(-1);
      assert.match(inc?.short_description ?? "", /containment FAILED via nothing/);
      const page = sims.pagerduty.incidents.get(`isolate:${f.mac.replace(/:/g, "-")}`);
      assert.match(JSON.stringify(page?.events.at(-1)), /FAILED/);
    } finally {
      sims.panos.modes.ignoreRegister = false;
      await h.close();
    }
  });
});

describe("playbook scenarios, continued (BullMQ on Redis)", () => {
  test("4. forty pumps share one default password → forty unique vault entries, pushed and verified; one push fails → only that entry rolled back; hard-coded → containment + vendor ticket", async () => {
    // Forty-two devices changed or contained: within a blast radius of 50; every pump known idle
    // (the clinical gate holds pumps in use for clinical engineering: test/integration/playbook-safety.test.ts).
    const h = await harness({ playbooks: { blastRadiusPerHour: 50 } });
    try {
      // Forty pumps still on one model's factory default; two hard-coded devices report the same password.
      const byFp = new Map<string, number[]>();
      for (const i of pumps((f) => f.credential.kind === "default")) {
        const fp = fleet.facts(i).credential.fingerprint;
        byFp.set(fp, [...(byFp.get(fp) ?? []), i]);
      }
      const [fp, members] = [...byFp.entries()].sort((a, b) => b[1].length - a[1].length)[0] as [
        string,
        number[],
      ];
      assert.ok(members.length >= 40);
      const forty = members.slice(0, 40).map((i) => fleet.facts(i));
      const hard = h
        .indexes("infusion_pump", (f) => f.credential.kind === "hard_coded")
        .slice(0, 2)
        .map((i) => fleet.facts(i));
      const docs = [
        ...forty.map((f) => deviceDoc(f, { inUse: false })),
        ...hard.map((f) =>
          deviceDoc(f, { inUse: false, credential: { kind: "hard_coded", fingerprint: fp } }),
        ),
      ];
      h.runtime.directory.observe(docs);
      // Every device's shared password is escrowed already (vault version 1).
      for (const f of forty)
        sims.vault.secrets.set(`medsoc/devices/${f.mac.replace(/:/g, "-")}`, [
          {
            data: { username: "service", password: "factory-default" },
            created_time: "2025-01-01T00:00:00Z",
            deletion_time: "",
            destroyed: false,
          },
        ]);
      const failing = forty[7] as (typeof forty)[number];
      sims.devices.failPush.add(failing.mac.replace(/:/g, "-"));
      const r = await h.runtime.engine.start({
        playbookId: "rotate-shared-credentials",
        device: (forty[0] as (typeof forty)[number]).mac,
        inputs: { fingerprint: fp },
      });
      const run = await h.runtime.engine.waitForRun(r.runId, undefined, 60_000);
      assert.equal(run.status, "succeeded", run.error);
      const out = run.steps.rotate?.output as {
        devices: { key: string; status: string }[];
        counts: Record<string, number>;
      };
      assert.deepEqual(out.counts, { rotated: 39, rolled_back: 1 });
      const passwords = new Set<string>();
      for (const f of forty) {
        const key = f.mac.replace(/:/g, "-");
        const versions = sims.vault.secrets.get(`medsoc/devices/${key}`) ?? [];
        const current = versions.at(-1)?.data as { password: string };
        if (f === failing) {
          assert.equal(versions.length, 3, "new version, then the rollback version");
          assert.equal(
            current.password,
            "factory-default",
            "the failed device's entry is back to the old password",
          );
          continue;
        }
        assert.equal(versions.length, 2);
        assert.notEqual(current.password, "factory-default");
        passwords.add(current.password);
        assert.equal(sims.devices.passwords.has(key), true, "pushed to the device");
      }
      assert.equal(passwords.size, 39, "every password is unique");
      assert.equal(run.steps.rotate?.verification?.ok, true);
      for (const f of hard) {
        assert.equal(sims.ise.anc.get(f.mac), "IOMT_RESTRICTED");
        assert.ok(sims.panos.registered.get(f.ip)?.has("iomt-restricted"));
      }
      const vendor = [...sims.servicenow.incidents.values()].find(
        (i) => i.correlation_id === `medsoc:vendor:${fp}`,
      );
      assert.ok(vendor, "vendor ticket opened");
      assert.match(vendor.short_description, /2 device/);
      assert.match(
        vendor.description ?? "",
        /restricted containment verified on Cisco ISE ANC, PAN-OS User-ID tag/,
        "the vendor ticket says what holds the hard-coded devices",
      );
      // The audit trail never holds a password.
      const text = await readFile(h.auditFile, "utf8");
      for (const pw of passwords) assert.equal(text.includes(pw), false);
    } finally {
      await h.close();
    }
  });

  test("5. a worker killed mid-run → the run resumes elsewhere and no completed step repeats", async () => {
    const h = await harness({ workers: false });
    const { spawn } = await import("node:child_process");
    let child: ReturnType<typeof spawn> | undefined;
    try {
      const f = fleet.facts(pumps()[5] as number);
      h.runtime.directory.observe([deviceDoc(f, { inUse: false })]);
      sims.ise.faults.slow = { match: /^PUT \/ers\/config\/ancendpoint\/apply$/, delayMs: 4000 };
      child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/playbook-worker.ts"], {
        env: {
          ...process.env,
          MEDSOC_PB_PREFIX: h.prefix,
          MEDSOC_PB_SYSTEMS: JSON.stringify(sims.systemsConfig()),
        },
        stdio: ["ignore", "pipe", "inherit"],
      });
      await new Promise<void>((resolve) =>
        child?.stdout?.on("data", (d: Buffer) => d.toString().includes("ready") && resolve()),
      );
      const r = await h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: f.mac });
      // The other process is inside the NAC step (its apply call hangs): kill it there.
      await h.runtime.engine.waitForRun(r.runId, (x) => x.steps.isolate?.status === "running", 20_000);
      await new Promise((resolve) => setTimeout(resolve, 500)); // inside the slow apply call
      child.kill("SIGKILL");
      sims.ise.faults.slow = undefined;
      h.runtime.engine.startWorkers({ lockDurationMs: 1000, stalledIntervalMs: 500 });
      const run = await h.runtime.engine.waitForRun(r.runId, undefined, 30_000);
      assert.equal(run.status, "succeeded", run.error);
      assert.equal(sims.ise.anc.get(f.mac), "IOMT_QUARANTINE");
      // The shared chain in Redis holds both processes' entries.
      const { Redis } = await import("ioredis");
      const redis = new Redis(process.env.MEDSOC_TEST_REDIS_URL ?? "redis://127.0.0.1:6379");
      const chain = (await redis.lrange(`${h.prefix}:pb:audit`, 0, -1)).map(
        (l) => JSON.parse(l) as { type: string; stepId?: string; runId?: string },
      );
      redis.disconnect();
      const started = (step: string) =>
        chain.filter((e) => e.runId === r.runId && e.type === "step.started" && e.stepId === step).length;
      assert.equal(started("assess"), 1, "assess ran once");
      assert.equal(started("isolate"), 2, "the interrupted containment step ran again, once");
      assert.equal(run.steps.isolate?.attempts, 2);
      const fwRegisters = sims.panos.log.filter((l) => {
        const form = new URLSearchParams(l.body);
        return (
          form.get("type") === "user-id" &&
          (form.get("cmd") ?? "").includes("<register>") &&
          (form.get("cmd") ?? "").includes("iomt-quarantine") &&
          (form.get("cmd") ?? "").includes(`"${f.ip}"`)
        );
      }).length;
      assert.equal(fwRegisters, 1, "PAN-OS got one register call");
      assert.equal(
        verifyChain(
          chain.map((e) => JSON.stringify(e)),
          AUDIT_TEST_KEY,
        ).ok,
        true,
        "one intact chain across both processes",
      );
    } finally {
      child?.kill("SIGKILL");
      sims.ise.faults.slow = undefined;
      await h.close();
    }
  });

  test("6. blast radius exceeded → the next containment waits for an approval", async () => {
    const h = await harness({ playbooks: { blastRadiusPerHour: 2 } });
    try {
      const ids = pumps()
        .slice(10, 13)
        .map((i) => fleet.facts(i));
      h.runtime.directory.observe(ids.map((f) => deviceDoc(f, { inUse: false })));
      for (const f of ids.slice(0, 2)) {
        const r = await h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: f.mac });
        assert.equal((await h.runtime.engine.waitForRun(r.runId)).status, "succeeded");
      }
      const third = ids[2] as (typeof ids)[number];
      const r = await h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: third.mac });
      const waiting = await h.runtime.engine.waitForRun(r.runId, (x) => x.status === "waiting_approval");
      assert.equal(sims.ise.anc.has(third.mac), false, "nothing applied before the approval");
      assert.equal(sims.panos.registered.has(third.ip), false);
      const approvalId = waiting.steps.isolate?.approvalId as string;
      const a = await h.runtime.store.getApproval(approvalId);
      assert.equal(a?.role, "soc");
      assert.match(a?.reason ?? "", /blast-radius/);
      assert.equal(
        (await h.runtime.engine.decide(approvalId, { approve: true, by: "analyst", role: "soc" })).ok,
        true,
      );
      assert.equal((await h.runtime.engine.waitForRun(r.runId)).status, "succeeded");
      assert.equal(sims.ise.anc.get(third.mac), "IOMT_QUARANTINE");
    } finally {
      await h.close();
    }
  });
});

describe("release", () => {
  test("the automatic release timer starts release-device, which clears the NAC policy and the firewall tags", async () => {
    const h = await harness();
    try {
      const f = fleet.facts(pumps()[20] as number);
      h.runtime.directory.observe([deviceDoc(f, { inUse: false })]);
      const r = await h.runtime.engine.start({
        playbookId: "isolate-infusion-pump",
        device: f.mac,
        inputs: { auto_release_hours: 0.0003 }, // about one second
      });
      assert.equal((await h.runtime.engine.waitForRun(r.runId)).status, "succeeded");
      assert.equal(sims.ise.anc.get(f.mac), "IOMT_QUARANTINE");
      const deadline = Date.now() + 15_000;
      let release: Awaited<ReturnType<typeof h.runtime.store.listRuns>>[number] | undefined;
      while (Date.now() < deadline) {
        release = (await h.runtime.store.listRuns()).find(
          (x) => x.playbookId === "release-device" && x.status === "succeeded",
        );
        if (release) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(release, "release-device ran");
      assert.equal(release.trigger.kind, "timer");
      assert.equal(sims.ise.anc.has(f.mac), false);
      assert.equal(sims.panos.registered.get(f.ip)?.size ?? 0, 0);
      assert.equal(sims.pagerduty.incidents.get(`isolate:${f.mac.replace(/:/g, "-")}`)?.status, "resolved");
    } finally {
      await h.close();
    }
  });
});
