/**
 * The second set of response actions driven by the playbook engine (memory queue; the HTTP systems
 * are loopback simulators, no Redis needed): a dry run records every plan() and calls nothing; an idle
 * device is contained through ClearPass, FortiGate, Armis, xDome and Forescout with every step read
 * back; a 2xx that applied nothing fails its step and the completed containments are undone.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createFleet } from "../../simulators/fleet/fleet.ts";
import {
  type ExtendedResponseSystems,
  startExtendedResponseSystems,
} from "../../simulators/response/enforcement.ts";
import { type ResponseSystems, startResponseSystems } from "../../simulators/response/index.ts";
import { deviceDoc, type Harness, startHarness } from "../helpers/playbooks.ts";

const PLAYBOOK = `
id: contain-multi-vendor
title: Contain a device through ClearPass, FortiGate, Armis, xDome and Forescout
trigger: { manual: true }
steps:
  - id: assess
    action: device.assess
  - id: nac
    action: clearpass.quarantine
    when: "systems.clearpass and $count(device.macs) > 0"
    with: { macs: "{{ device.macs }}", mode: "{{ steps.assess.output.mode }}", clinicalServers: "{{ device.clinicalServers }}" }
    compensate: true
  - id: fw
    action: fortigate.quarantine
    when: "systems.fortigate and $count(device.ips) > 0"
    with: { ips: "{{ device.ips }}", mode: "{{ steps.assess.output.mode }}", clinicalServers: "{{ device.clinicalServers }}" }
    compensate: true
  - id: armis
    action: armis.tag
    when: systems.armis
    with: { macs: "{{ device.macs }}", mode: "{{ steps.assess.output.mode }}" }
    compensate: true
  - id: xdome
    action: xdome.mark
    when: systems.xdome
    with: { macs: "{{ device.macs }}", mode: "{{ steps.assess.output.mode }}" }
    compensate: true
  - id: forescout
    action: forescout.mark
    when: systems.forescout
    retry: { attempts: 1 }
    with: { ips: "{{ device.ips }}", mode: "{{ steps.assess.output.mode }}" }
    compensate: true
`;

const fleet = createFleet({ size: 300, seed: 3 });
let base: ResponseSystems;
let ext: ExtendedResponseSystems;
let dir: string;

before(async () => {
  [base, ext] = await Promise.all([
    startResponseSystems({ fleet, knownDevices: 50 }),
    startExtendedResponseSystems({ fleet, knownDevices: 300 }),
  ]);
  dir = await mkdtemp(join(tmpdir(), "medsoc-ext-pb-"));
  await writeFile(join(dir, "contain-multi-vendor.yaml"), PLAYBOOK);
});
after(async () => {
  await Promise.all([base.stop(), ext.stop()]);
  await rm(dir, { recursive: true, force: true });
});

async function harness(): Promise<Harness> {
  const rules = await mkdtemp(join(tmpdir(), "medsoc-ext-rules-"));
  const h = await startHarness({
    driver: "memory",
    fleet,
    sims: base,
    playbooks: { dir, rulesDir: rules, systems: { ...ext.systemsConfig() } },
  });
  const close = h.close;
  h.close = async () => {
    await close();
    await rm(rules, { recursive: true, force: true });
  };
  return h;
}

const idle = () => {
  for (let i = 0; i < fleet.size; i++) {
    const f = fleet.facts(i);
    if (f.deviceClass === "infusion_pump") return [f, fleet.facts(i + 1)] as const;
  }
  throw new Error("no pump in the fleet");
};

describe("extended actions through the engine (memory queue)", () => {
  test("dry run: every step records its plan and no simulator is called", async () => {
    const h = await harness();
    try {
      const [f] = idle();
      h.runtime.directory.observe([deviceDoc(f, { inUse: false })]);
      const counts = () =>
        [ext.clearpass, ext.fortigate, ext.armis, ext.xdome, ext.forescout].map((s) => s.log.length);
      const before = counts();
      const r = await h.runtime.engine.start({
        playbookId: "contain-multi-vendor",
        device: f.mac,
        dryRun: true,
      });
      const run = await h.runtime.engine.waitForRun(r.runId);
      assert.equal(run.status, "succeeded", run.error);
      for (const id of ["nac", "fw", "armis", "xdome", "forescout"]) {
        const out = run.steps[id]?.output as { dryRun?: boolean; plan?: { summary: string } } | undefined;
        assert.equal(out?.dryRun, true, id);
        assert.ok(out?.plan?.summary, `${id} has a plan`);
      }
      assert.deepEqual(counts(), before);
    } finally {
      await h.close();
    }
  });

  test("an idle device is fully contained in every system, each step verified", async () => {
    const h = await harness();
    try {
      const [f] = idle();
      h.runtime.directory.observe([deviceDoc(f, { inUse: false })]);
      const r = await h.runtime.engine.start({ playbookId: "contain-multi-vendor", device: f.mac });
      const run = await h.runtime.engine.waitForRun(r.runId);
      assert.equal(run.status, "succeeded", run.error);
      for (const id of ["nac", "fw", "armis", "xdome", "forescout"])
        assert.equal(run.steps[id]?.verification?.ok, true, `${id}: ${run.steps[id]?.verification?.detail}`);
      const mac = f.mac.toLowerCase().replace(/:/g, "");
      assert.equal(ext.clearpass.endpoints.get(mac)?.attributes["IoMT-Quarantine-Mode"], "full");
      assert.ok(ext.fortigate.banned.has(f.ip));
      assert.deepEqual(ext.armis.devices.get(f.id)?.tags, ["medsoc-quarantine"]);
      assert.equal(ext.xdome.devices.get(f.uid)?.custom.medsoc_containment, "quarantine");
      assert.equal(ext.forescout.hosts.get(f.ip)?.properties.get("iomt_quarantine")?.value, "full");
      const calls = h.runtime.audit.entries.filter((e) => e.runId === r.runId && e.type === "call");
      assert.ok(calls.length >= 10);
      const text = JSON.stringify(calls);
      for (const s of [
        ext.clearpass.clientSecret,
        ext.fortigate.token,
        ext.armis.secret,
        ext.xdome.token,
        ext.forescout.dexPassword,
      ])
        assert.ok(!text.includes(s), "no secret in the audit trail");
    } finally {
      await h.close();
    }
  });

  test("Forescout answers FSAPI_OK but applies nothing → the step fails and the other containments are undone", async () => {
    const h = await harness();
    try {
      const [, f] = idle();
      h.runtime.directory.observe([deviceDoc(f, { inUse: false })]);
      ext.forescout.modes.ignoreUpdate = true;
      const r = await h.runtime.engine.start({ playbookId: "contain-multi-vendor", device: f.mac });
      const run = await h.runtime.engine.waitForRun(r.runId);
      ext.forescout.modes.ignoreUpdate = false;
      assert.equal(run.status, "failed");
      assert.match(run.steps.forescout?.error ?? "", /verification of forescout failed/);
      for (const id of ["nac", "fw", "armis", "xdome"])
        assert.equal(run.steps[id]?.undone, true, `${id} undone`);
      const mac = f.mac.toLowerCase().replace(/:/g, "");
      assert.equal(ext.clearpass.endpoints.get(mac)?.attributes["IoMT-Quarantine"], "false");
      assert.equal(ext.fortigate.banned.has(f.ip), false);
      assert.deepEqual(ext.armis.devices.get(f.id)?.tags, []);
      assert.equal(ext.xdome.devices.get(f.uid)?.custom.medsoc_containment, undefined);
    } finally {
      await h.close();
    }
  });
});
