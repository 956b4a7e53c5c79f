/**
 * `contain.apply` across all seven enforcement points at once (ISE, ClearPass, PAN-OS, FortiGate,
 * Armis, xDome, Forescout simulators on loopback; no Redis): undo reverses only what the step
 * applied — an escalation's undo leaves the earlier restricted containment on every point, and a
 * later run's undo leaves an earlier run's containment; transient faults are retried inside the step;
 * a point that refuses is reported, the others still hold.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { silentLogger } from "../../core/log.ts";
import { createActions } from "../../playbooks/actions/index.ts";
import type { ActionContext, AnyAction, DeviceInfo } from "../../playbooks/actions/types.ts";
import { systemsSchema } from "../../playbooks/config.ts";
import { DeviceDirectory } from "../../playbooks/engine/devices.ts";
import { createFleet, type DeviceFacts } from "../../simulators/fleet/fleet.ts";
import {
  type ExtendedResponseSystems,
  startExtendedResponseSystems,
} from "../../simulators/response/enforcement.ts";
import { type ResponseSystems, startResponseSystems } from "../../simulators/response/index.ts";

const fleet = createFleet({ size: 120, seed: 5 });
let base: ResponseSystems;
let ext: ExtendedResponseSystems;
let apply: AnyAction;
let release: AnyAction;

const pumps: DeviceFacts[] = [];
for (let i = 0; i < fleet.size; i++) {
  const f = fleet.facts(i);
  if (f.deviceClass === "infusion_pump" && f.ip) pumps.push(f);
}

const deviceOf = (f: DeviceFacts): DeviceInfo => ({
  key: f.mac.replace(/:/g, "-"),
  macs: [f.mac.replace(/:/g, "-")],
  ips: [f.ip],
  inUse: false,
  clinicalServers: f.clinicalServers,
});
const ctxOf = (runId: string, f: DeviceFacts, stepId = "contain"): ActionContext => ({
  runId,
  stepId,
  idempotencyKey: `${runId}-${stepId}`,
  playbookId: "test",
  device: deviceOf(f),
  dryRun: false,
  record: () => undefined,
  log: silentLogger,
  now: () => new Date(),
});
type Out = { verified: string[]; failed: { label: string; error: string }[]; summary: string };

/** The containment level every point shows for `f`. */
function levels(f: DeviceFacts): Record<string, string> {
  const mac = f.mac.toLowerCase().replace(/:/g, "");
  const tags = base.panos.registered.get(f.ip);
  const armis = ext.armis.devices.get(f.id)?.tags ?? [];
  const fgRestricted = ext.fortigate.groups.get("IoMT-Restricted")?.includes(`medsoc-dev-${f.ip}`);
  const cp = ext.clearpass.endpoints.get(mac)?.attributes;
  return {
    ise: base.ise.anc.get(f.mac) ?? "none",
    clearpass: cp?.["IoMT-Quarantine"] === "true" ? (cp["IoMT-Quarantine-Mode"] ?? "?") : "none",
    panos: tags?.has("iomt-quarantine") ? "full" : tags?.has("iomt-restricted") ? "restricted" : "none",
    fortigate: ext.fortigate.banned.has(f.ip) ? "full" : fgRestricted ? "restricted" : "none",
    armis: armis.includes("medsoc-quarantine")
      ? "full"
      : armis.includes("medsoc-restricted")
        ? "restricted"
        : "none",
    xdome: ext.xdome.devices.get(f.uid)?.custom.medsoc_containment ?? "none",
    forescout: ext.forescout.hosts.get(f.ip)?.properties.get("iomt_quarantine")?.value ?? "none",
  };
}
const ALL_RESTRICTED = {
  ise: "IOMT_RESTRICTED",
  clearpass: "restricted",
  panos: "restricted",
  fortigate: "restricted",
  armis: "restricted",
  xdome: "restricted",
  forescout: "restricted",
};
const ALL_FULL = {
  ise: "IOMT_QUARANTINE",
  clearpass: "full",
  panos: "full",
  fortigate: "full",
  armis: "full",
  xdome: "quarantine",
  forescout: "full",
};

before(async () => {
  [base, ext] = await Promise.all([startResponseSystems({ fleet }), startExtendedResponseSystems({ fleet })]);
  const systems = systemsSchema.parse({ ...base.systemsConfig(), ...ext.systemsConfig() });
  const built = createActions(systems, new DeviceDirectory({}));
  apply = built.registry.get("contain.apply") as AnyAction;
  release = built.registry.get("contain.release") as AnyAction;
});
after(async () => {
  await Promise.all([base.stop(), ext.stop()]);
});

describe("contain.apply on seven enforcement points", () => {
  test("a failed escalation's undo leaves the earlier restricted containment on every point", async () => {
    const f = pumps[0] as DeviceFacts;
    const r = apply.input.parse({ mode: "restricted", clinicalServers: f.clinicalServers });
    const ro = (await apply.execute(r, ctxOf("run-1", f, "restrict"))) as Out;
    assert.equal(ro.verified.length, 7, ro.summary);
    assert.deepEqual(levels(f), ALL_RESTRICTED);
    const full = apply.input.parse({ mode: "full" });
    const fo = (await apply.execute(full, ctxOf("run-1", f, "isolate"))) as Out;
    assert.equal(fo.verified.length, 7, fo.summary);
    assert.equal((await apply.verify(full, fo, ctxOf("run-1", f, "isolate"))).ok, true);
    const after = levels(f);
    assert.equal(after.ise, "IOMT_QUARANTINE");
    assert.equal(after.clearpass, "full");
    assert.equal(after.xdome, "quarantine");
    assert.equal(after.forescout, "full");
    await apply.undo?.(full, fo, ctxOf("run-1", f, "isolate"));
    assert.deepEqual(levels(f), ALL_RESTRICTED, "back to restricted, not released");
    await apply.undo?.(r, ro, ctxOf("run-1", f, "restrict"));
    assert.deepEqual(Object.values(levels(f)), Array(7).fill("none"));
  });

  test("a later run's undo leaves the containment an earlier run applied", async () => {
    const f = pumps[1] as DeviceFacts;
    const full = apply.input.parse({ mode: "full" });
    await apply.execute(full, ctxOf("earlier", f));
    const later = (await apply.execute(full, ctxOf("later", f))) as Out;
    assert.equal(later.verified.length, 7, later.summary);
    await apply.undo?.(full, later, ctxOf("later", f));
    assert.deepEqual(levels(f), ALL_FULL);
  });

  test("restricted containment of a device already fully isolated loosens no point, and its undo leaves full", async () => {
    const f = pumps[5] as DeviceFacts;
    const full = apply.input.parse({ mode: "full" });
    await apply.execute(full, ctxOf("first", f));
    assert.deepEqual(levels(f), ALL_FULL);
    const r = apply.input.parse({ mode: "restricted", clinicalServers: f.clinicalServers });
    const ro = (await apply.execute(r, ctxOf("second", f))) as Out;
    assert.equal(ro.verified.length, 7, ro.summary);
    assert.deepEqual(levels(f), ALL_FULL, "still fully isolated everywhere");
    assert.equal((await apply.verify(r, ro, ctxOf("second", f))).ok, true);
    await apply.undo?.(r, ro, ctxOf("second", f));
    assert.deepEqual(levels(f), ALL_FULL);
  });

  test("transient faults are retried inside the step; a point that refuses is reported while the others hold", async () => {
    const f = pumps[2] as DeviceFacts;
    ext.fortigate.faults.serverErrorNext = 1;
    ext.armis.faults.rateLimitNext = 1;
    ext.armis.faults.retryAfterSeconds = 0;
    const r = apply.input.parse({ mode: "restricted", clinicalServers: f.clinicalServers });
    const ro = (await apply.execute(r, ctxOf("run-3", f, "restrict"))) as Out;
    assert.equal(ro.verified.length, 7, ro.summary);
    // ISE that will not replace a policy: full isolation fails there only; ISE keeps restricted.
    base.ise.modes.refuseReplace = true;
    try {
      const full = apply.input.parse({ mode: "full" });
      const fo = (await apply.execute(full, ctxOf("run-3", f, "isolate"))) as Out;
      assert.deepEqual(
        fo.failed.map((x) => x.label),
        ["Cisco ISE ANC"],
      );
      assert.match(fo.summary, /full containment verified on Aruba ClearPass, PAN-OS User-ID tag, FortiGate/);
      assert.match(fo.summary, /FAILED on Cisco ISE ANC/);
      assert.equal(base.ise.anc.get(f.mac), "IOMT_RESTRICTED");
      assert.equal(levels(f).panos, "full");
    } finally {
      base.ise.modes.refuseReplace = false;
    }
  });

  test("an IPv4-mapped IPv6 address (as some monitors report it) is acted on as the IPv4 host, once", async () => {
    const f = pumps[4] as DeviceFacts;
    const ctx = ctxOf("run-5", f);
    ctx.device = { ...deviceOf(f), ips: [`::ffff:${f.ip}`, f.ip] };
    const o = (await apply.execute(apply.input.parse({ mode: "full" }), ctx)) as Out;
    assert.deepEqual(o.failed, []);
    assert.equal(o.verified.length, 7, o.summary);
    assert.equal(base.panos.registered.has(`::ffff:${f.ip}`), false);
    assert.deepEqual(levels(f), ALL_FULL);
  });

  test("a device known only by its MAC: the IP-keyed points are skipped with the reason, the MAC-keyed ones hold", async () => {
    const f = pumps[7] as DeviceFacts;
    const ctx = ctxOf("run-7", f);
    ctx.device = { ...deviceOf(f), ips: [] };
    const o = (await apply.execute(apply.input.parse({ mode: "full" }), ctx)) as Out & {
      skipped: { label: string; reason: string }[];
    };
    assert.deepEqual(o.verified, [
      "Cisco ISE ANC",
      "Aruba ClearPass",
      "Armis device tag",
      "Claroty xDome attribute",
    ]);
    assert.deepEqual(
      o.skipped.map((x) => `${x.label}: ${x.reason}`),
      [
        "PAN-OS User-ID tag: no IP address known",
        "FortiGate: no IP address known",
        "Forescout property: no IP address known",
      ],
    );
    assert.match(o.summary, /; skipped PAN-OS User-ID tag \(no IP address known\)/);
    await apply.undo?.(apply.input.parse({ mode: "full" }), o, ctx);
    assert.deepEqual(Object.values(levels(f)), Array(7).fill("none"));
  });

  test("release: a point that does not know the device has nothing to release (skipped, not a failure)", async () => {
    const f = pumps[6] as DeviceFacts;
    const full = apply.input.parse({ mode: "full" });
    const o = (await apply.execute(full, ctxOf("run-6", f))) as Out;
    assert.equal(o.verified.length, 7, o.summary);
    const known = ext.armis.devices.get(f.id);
    ext.armis.devices.delete(f.id); // Armis no longer sees the device
    try {
      const r = (await release.execute({}, ctxOf("release-6", f))) as {
        released: string[];
        skipped: { label: string; reason: string }[];
      };
      assert.equal(r.released.length, 6);
      assert.equal(r.skipped[0]?.label, "Armis device tag");
      assert.match(r.skipped[0]?.reason ?? "", /knows no device/);
      const after = levels(f);
      for (const p of ["ise", "clearpass", "panos", "fortigate", "xdome", "forescout"])
        assert.equal(after[p], "none", p);
    } finally {
      if (known) ext.armis.devices.set(f.id, known);
    }
  });

  test("no point holds → the step fails and leaves nothing unrecorded behind", async () => {
    const f = pumps[3] as DeviceFacts;
    base.ise.modes.ignoreApply = true;
    base.panos.modes.ignoreRegister = true;
    ext.clearpass.modes.ignorePatch = true;
    ext.fortigate.modes.ignoreBan = true;
    ext.armis.modes.ignoreTagWrites = true;
    ext.xdome.modes.ignoreSet = true;
    ext.forescout.modes.ignoreUpdate = true;
    try {
      const full = apply.input.parse({ mode: "full" });
      await assert.rejects(() => apply.execute(full, ctxOf("run-4", f)), /no enforcement point contained/);
      assert.deepEqual(Object.values(levels(f)), Array(7).fill("none"));
    } finally {
      base.ise.modes.ignoreApply = false;
      base.panos.modes.ignoreRegister = false;
      ext.clearpass.modes.ignorePatch = false;
      ext.fortigate.modes.ignoreBan = false;
      ext.armis.modes.ignoreTagWrites = false;
      ext.xdome.modes.ignoreSet = false;
      ext.forescout.modes.ignoreUpdate = false;
    }
  });
});
