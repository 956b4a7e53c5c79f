/**
 * The engine's safety gate helpers (playbooks/engine/guards.ts): what a step does is read from the
 * action's kind and input (never its name), which devices it touches, and how refused devices are
 * left out of its input.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { DeviceInfo } from "../../playbooks/actions/types.ts";
import { DeviceDirectory } from "../../playbooks/engine/devices.ts";
import {
  clinicalApprovalNeeded,
  effectOf,
  resolveTargets,
  withoutDevices,
} from "../../playbooks/engine/guards.ts";
import type { RunState } from "../../playbooks/engine/store.ts";

const pump = (over: Partial<DeviceInfo> = {}): DeviceInfo => ({
  key: "AA-BB-CC-00-00-01",
  macs: ["AA-BB-CC-00-00-01"],
  ips: ["10.0.0.1"],
  deviceClass: "infusion_pump",
  inUse: true,
  inUseSeenAt: new Date().toISOString(),
  clinicalServers: ["10.9.9.9"],
  ...over,
});
const run = (device?: DeviceInfo): RunState =>
  ({ id: "r1", device, deviceKey: device?.key, steps: {} }) as unknown as RunState;

describe("safety gate helpers", () => {
  test("the effect comes from the kind and the mode; an unknown or missing mode is full isolation", () => {
    assert.equal(effectOf("containment", { mode: "restricted" }), "containment:restricted");
    assert.equal(effectOf("containment", { mode: "full" }), "containment:full");
    assert.equal(effectOf("containment", {}), "containment:full");
    assert.equal(effectOf("containment", { mode: "quarantine-lite" }), "containment:full");
    assert.equal(effectOf("credential", { devices: [] }), "credential");
    assert.equal(effectOf("release", { mode: "full" }), undefined);
    assert.equal(effectOf("notify", {}), undefined);
  });

  test("targets: devices named by key, MAC or IP are resolved and assessed; unknown identifiers are unknown devices; no identifiers → the run's device", async () => {
    const dir = new DeviceDirectory({ clinicalMaxAgeMs: 30 * 60_000 });
    const d = pump();
    const t1 = await resolveTargets({ macs: ["aa:bb:cc:00:00:01"], mode: "full" }, run(d), dir, new Date());
    assert.deepEqual(
      t1.map((t) => [t.key, t.state]),
      [[d.key, "in_use"]],
    );
    const t2 = await resolveTargets({ ips: ["10.0.0.1", "10.7.7.7"] }, run(d), dir, new Date());
    assert.deepEqual(
      t2.map((t) => [t.key, t.state]),
      [
        [d.key, "in_use"],
        ["10.7.7.7", "unknown"],
      ],
    );
    const t3 = await resolveTargets({ accountIds: ["42"] }, run(d), dir, new Date());
    assert.deepEqual(
      t3.map((t) => t.key),
      [d.key],
    );
    const t4 = await resolveTargets({ accountIds: ["42"] }, run(), dir, new Date());
    assert.equal(t4[0]?.state, "unknown");
  });

  test("who needs clinical engineering: full or credential on a device that may be in use; restricted only without clinical servers", async () => {
    const dir = new DeviceDirectory({ clinicalMaxAgeMs: 30 * 60_000 });
    const [inUse] = await resolveTargets({}, run(pump()), dir, new Date());
    const [noServers] = await resolveTargets({}, run(pump({ clinicalServers: [] })), dir, new Date());
    const [idle] = await resolveTargets({}, run(pump({ inUse: false })), dir, new Date());
    const old = new Date(Date.now() - 86_400_000).toISOString();
    const [stale] = await resolveTargets({}, run(pump({ inUse: false, inUseSeenAt: old })), dir, new Date());
    if (!inUse || !noServers || !idle || !stale) throw new Error("no target");
    assert.equal(clinicalApprovalNeeded("containment:restricted", inUse), undefined);
    assert.match(clinicalApprovalNeeded("containment:restricted", noServers) ?? "", /no clinical servers/);
    assert.match(clinicalApprovalNeeded("containment:full", inUse) ?? "", /full isolation/);
    assert.match(clinicalApprovalNeeded("credential", inUse) ?? "", /credential change/);
    assert.equal(clinicalApprovalNeeded("containment:full", idle), undefined);
    assert.equal(stale.state, "stale");
    assert.match(clinicalApprovalNeeded("containment:full", stale) ?? "", /stale/);
  });

  test("refused devices are left out of the input; nothing left → undefined", async () => {
    const dir = new DeviceDirectory();
    const a = pump();
    const input = {
      devices: [
        { key: a.key, mac: a.macs[0] },
        { key: "OTHER", mac: "AA-BB-CC-00-00-02" },
      ],
      concurrency: 4,
    };
    const targets = await resolveTargets(input, run(a), dir, new Date());
    const refused = targets.filter((t) => t.key === a.key);
    assert.deepEqual(withoutDevices(input, refused), {
      devices: [{ key: "OTHER", mac: "AA-BB-CC-00-00-02" }],
      concurrency: 4,
    });
    assert.equal(withoutDevices(input, targets), undefined);
    const ips = { ips: ["10.0.0.1"], mode: "restricted" };
    assert.equal(withoutDevices(ips, await resolveTargets(ips, run(a), dir, new Date())), undefined);
  });
});
