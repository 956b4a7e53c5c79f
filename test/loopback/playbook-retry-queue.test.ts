/**
 * Step and undo retries go through the queue's delay (issue 14), not a sleep inside the step job:
 * the job ends, a delayed job runs the next attempt, with the shared backoff (`retryDelay` in
 * core/http.ts) and never earlier than the system's Retry-After. The next attempt of a device step
 * runs the safety gate again: a pump that started infusing during the backoff is not isolated
 * without clinical engineering. Memory queue; the outside systems are loopback simulators.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { AuditEntry } from "../../playbooks/engine/audit.ts";
import { createFleet, type DeviceFacts } from "../../simulators/fleet/fleet.ts";
import { type ResponseSystems, startResponseSystems } from "../../simulators/response/index.ts";
import { deviceDoc, type Harness, startHarness } from "../helpers/playbooks.ts";

const PLAYBOOKS: Record<string, string> = {
  "isolate-retry.yaml": `
id: isolate-retry
title: Isolate one device through ISE, retried
trigger: { manual: true }
steps:
  - id: isolate
    action: ise.quarantine
    retry: { attempts: 3, backoff: 300ms }
    with: { macs: "{{ device.macs }}", mode: full }
    compensate: true
`,
  "restrict-then-fail.yaml": `
id: restrict-then-fail
title: Restricted containment on ISE, then a firewall tag that fails for good
trigger: { manual: true }
steps:
  - id: nac
    action: ise.quarantine
    with: { macs: "{{ device.macs }}", mode: restricted, clinicalServers: "{{ device.clinicalServers }}" }
    compensate: true
  - id: fw
    action: panos.tag
    retry: { attempts: 1 }
    with: { ips: "{{ device.ips }}", mode: restricted, clinicalServers: "{{ device.clinicalServers }}" }
    compensate: true
`,
};

const fleet = createFleet({ size: 400, seed: 5 });
let sims: ResponseSystems;
let dir: string;
let rules: string;

before(async () => {
  sims = await startResponseSystems({ fleet });
  dir = await mkdtemp(join(tmpdir(), "medsoc-retry-pb-"));
  rules = await mkdtemp(join(tmpdir(), "medsoc-retry-rules-"));
  for (const [name, text] of Object.entries(PLAYBOOKS)) await writeFile(join(dir, name), text);
});
after(async () => {
  await sims.stop();
  await rm(dir, { recursive: true, force: true });
  await rm(rules, { recursive: true, force: true });
});

const harness = (): Promise<Harness> =>
  startHarness({
    driver: "memory",
    fleet,
    sims,
    playbooks: { dir, rulesDir: rules, blastRadiusPerHour: 100 },
  });

/** Idle pumps of the fleet (known to ISE), each used by one test. */
const pumps: DeviceFacts[] = [];
for (let i = 0; i < fleet.size; i++) {
  const f = fleet.facts(i);
  if (f.deviceClass === "infusion_pump" && f.credential.kind !== "hard_coded") pumps.push(f);
}
const pump = (n: number): DeviceFacts => {
  const f = pumps[n];
  assert.ok(f, `pump ${n}`);
  return f;
};

const entries = (h: Harness, runId: string, type?: string): AuditEntry[] =>
  h.runtime.audit.entries.filter((e) => e.runId === runId && (type === undefined || e.type === type));

describe("retries through the queue's delay", () => {
  test("a 500 is retried by a delayed job with the shared backoff; the job is not held meanwhile", async () => {
    const h = await harness();
    try {
      const f = pump(0);
      h.runtime.directory.observe([deviceDoc(f, { inUse: false })]);
      sims.ise.faults.serverErrorNext = 1;
      const r = await h.runtime.engine.start({ playbookId: "isolate-retry", device: f.mac });
      // While the retry waits, the queue holds it as a delayed job and nothing is active.
      let sawDelayed = false;
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && !sawDelayed) {
        const c = await h.runtime.engine.queue.counts();
        if (c.delayed > 0 && c.active === 0) sawDelayed = true;
        else await new Promise((res) => setTimeout(res, 10));
      }
      assert.ok(sawDelayed, "the retry waited as a delayed job, no worker held");
      const run = await h.runtime.engine.waitForRun(r.runId, undefined, 15_000);
      assert.equal(run.status, "succeeded", run.error);
      assert.equal(run.steps.isolate?.attempts, 2);
      const retry = entries(h, r.runId, "step.retry");
      assert.equal(retry.length, 1);
      const wait = Number(/retrying in (\d+) ms/.exec(retry[0]?.message ?? "")?.[1]);
      assert.ok(wait >= 150 && wait <= 300, `backoff ${wait} ms within [base/2, base] of attempt 1`);
      const started = entries(h, r.runId, "step.started").map((e) => Date.parse(e.at));
      assert.equal(started.length, 2);
      assert.ok((started[1] as number) - (started[0] as number) >= wait - 5, "the next attempt waited");
      assert.equal(sims.ise.anc.get(f.mac), "IOMT_QUARANTINE");
      // Reserved once: the retry's gate finds the device already reserved.
      assert.equal(entries(h, r.runId, "blast_radius.reserved").length, 1);
    } finally {
      await h.close();
    }
  });

  test("429 with Retry-After: the next attempt comes no earlier than the system asked", async () => {
    const h = await harness();
    try {
      const f = pump(1);
      h.runtime.directory.observe([deviceDoc(f, { inUse: false })]);
      sims.ise.faults.retryAfterSeconds = 1;
      sims.ise.faults.rateLimitNext = 1;
      const r = await h.runtime.engine.start({ playbookId: "isolate-retry", device: f.mac });
      const run = await h.runtime.engine.waitForRun(r.runId, undefined, 15_000);
      assert.equal(run.status, "succeeded", run.error);
      const retry = entries(h, r.runId, "step.retry");
      assert.equal(retry.length, 1);
      const wait = Number(/retrying in (\d+) ms/.exec(retry[0]?.message ?? "")?.[1]);
      assert.ok(wait >= 1000, `Retry-After honoured (${wait} ms)`);
      const started = entries(h, r.runId, "step.started").map((e) => Date.parse(e.at));
      assert.ok((started[1] as number) - (started[0] as number) >= 995);
    } finally {
      sims.ise.faults.retryAfterSeconds = undefined;
      await h.close();
    }
  });

  test("the gate runs again before the next attempt: a pump in use by then is not isolated", async () => {
    const h = await harness();
    try {
      const f = pump(2);
      h.runtime.directory.observe([deviceDoc(f, { inUse: false })]);
      sims.ise.faults.serverErrorNext = 1;
      const r = await h.runtime.engine.start({ playbookId: "isolate-retry", device: f.mac });
      await h.runtime.engine.waitForRun(
        r.runId,
        (x) => x.steps.isolate?.attempts === 1 && x.steps.isolate.status === "pending",
        5000,
      );
      // The infusion starts during the backoff.
      h.runtime.directory.observe([deviceDoc(f, { inUse: true })]);
      const run = await h.runtime.engine.waitForRun(r.runId, (x) => x.status === "waiting_approval", 10_000);
      assert.equal(run.steps.isolate?.gate?.pending, "clinical");
      assert.equal(run.steps.isolate?.attempts, 1, "no second attempt without clinical engineering");
      assert.notEqual(sims.ise.anc.get(f.mac), "IOMT_QUARANTINE");
      assert.equal(entries(h, r.runId, "gate.clinical").length, 1);
    } finally {
      await h.close();
    }
  });

  test("an undo that fails with a 500 is retried through the queue, then done", async () => {
    const h = await harness();
    try {
      const f = pump(3);
      h.runtime.directory.observe([deviceDoc(f, { inUse: false })]);
      // The firewall step answers slowly, then 500 (one attempt): the run fails and undoes the NAC.
      sims.panos.faults.slow = { match: /./, delayMs: 800 };
      sims.panos.faults.serverErrorNext = 1;
      const r = await h.runtime.engine.start({ playbookId: "restrict-then-fail", device: f.mac });
      await h.runtime.engine.waitForRun(r.runId, (x) => x.steps.nac?.status === "completed", 10_000);
      sims.ise.faults.serverErrorNext = 1; // the undo's first call
      const run = await h.runtime.engine.waitForRun(r.runId, undefined, 20_000);
      assert.equal(run.status, "failed");
      assert.equal(run.steps.fw?.status, "failed");
      assert.equal(run.steps.nac?.undone, true, run.steps.nac?.error);
      assert.equal(run.steps.nac?.undoAttempts, 2, JSON.stringify({ nac: run.steps.nac, fw: run.steps.fw }));
      assert.equal(entries(h, r.runId, "compensation.retry").length, 1);
      assert.equal(entries(h, r.runId, "compensation.completed").length, 1);
      assert.equal(sims.ise.anc.get(f.mac), undefined, "the restricted policy was cleared");
    } finally {
      sims.panos.faults.slow = undefined;
      sims.panos.faults.serverErrorNext = 0;
      await h.close();
    }
  });
});
