/**
 * Generated scenarios for `contain.apply` over all seven enforcement points (fast-check; loopback
 * simulators, no Redis). Each scenario draws, per point, the containment a device already has
 * (none / restricted / full, put there by an earlier run) and a fault (none, a 2xx that applies
 * nothing, one transient 5xx, the point down), and a mode to apply. Invariants:
 *
 * 1. the step succeeds exactly when at least one point holds the requested containment, and
 *    `verified` names exactly those points;
 * 2. when it fails, every point is left as it was before (nothing unrecorded left behind);
 * 3. no point is ever weaker after the step than before it (a containment never loosens);
 * 4. undo brings every point back to exactly the state before the step.
 *
 * `MEDSOC_PROPERTY_RUNS` sets the number of scenarios (default 30).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { silentLogger } from "../../core/log.ts";
import { type ContainOutput, containActions, ENFORCEMENT_POINTS } from "../../playbooks/actions/contain.ts";
import { createActions } from "../../playbooks/actions/index.ts";
import type { ActionContext, AnyAction } from "../../playbooks/actions/types.ts";
import { type SystemsConfig, systemsSchema } from "../../playbooks/config.ts";
import { DeviceDirectory } from "../../playbooks/engine/devices.ts";
import { createFleet, type DeviceFacts } from "../../simulators/fleet/fleet.ts";
import {
  type ExtendedResponseSystems,
  startExtendedResponseSystems,
} from "../../simulators/response/enforcement.ts";
import { type ResponseSystems, startResponseSystems } from "../../simulators/response/index.ts";

const RUNS = Number(process.env.MEDSOC_PROPERTY_RUNS ?? 30);
const fleet = createFleet({ size: Math.max(400, RUNS * 4), seed: 17 });
let base: ResponseSystems;
let ext: ExtendedResponseSystems;
let systems: SystemsConfig;
let registry: ReturnType<typeof createActions>["registry"];
let apply: AnyAction;

type Level = "none" | "restricted" | "full";
type Fault = "none" | "ignore" | "transient" | "down";
type Point = "ise" | "clearpass" | "panos" | "fortigate" | "armis" | "xdome" | "forescout";
const POINTS = ENFORCEMENT_POINTS.map((p) => p.system as Point);
const RANK: Record<Level, number> = { none: 0, restricted: 1, full: 2 };

const ctxOf = (runId: string, f: DeviceFacts, stepId = "contain"): ActionContext => ({
  runId,
  stepId,
  idempotencyKey: `${runId}-${stepId}`,
  playbookId: "property",
  device: {
    key: f.mac.replace(/:/g, "-"),
    macs: [f.mac.replace(/:/g, "-")],
    ips: [f.ip],
    inUse: null,
    clinicalServers: f.clinicalServers,
  },
  dryRun: false,
  record: () => undefined,
  log: silentLogger,
  now: () => new Date(),
});

/** Everything each point holds about `f`, exactly (every marker, not just the strongest). */
function snapshot(f: DeviceFacts): Record<Point, string> {
  const cp = ext.clearpass.endpoints.get(f.mac.toLowerCase().replace(/:/g, ""))?.attributes ?? {};
  return {
    ise: base.ise.anc.get(f.mac) ?? "",
    clearpass: cp["IoMT-Quarantine"] === "true" ? (cp["IoMT-Quarantine-Mode"] ?? "") : "",
    panos: [...(base.panos.registered.get(f.ip)?.keys() ?? [])].sort().join(","),
    fortigate: `${ext.fortigate.banned.has(f.ip) ? "ban" : ""}/${ext.fortigate.groups.get("IoMT-Restricted")?.includes(`medsoc-dev-${f.ip}`) ? "grp" : ""}`,
    armis: [...(ext.armis.devices.get(f.id)?.tags ?? [])].sort().join(","),
    xdome: ext.xdome.devices.get(f.uid)?.custom.medsoc_containment ?? "",
    forescout: ext.forescout.hosts.get(f.ip)?.properties.get("iomt_quarantine")?.value ?? "",
  };
}
/** The strongest containment each point holds. */
function strength(f: DeviceFacts): Record<Point, Level> {
  const s = snapshot(f);
  const pick = (full: boolean, restricted: boolean): Level =>
    full ? "full" : restricted ? "restricted" : "none";
  return {
    ise: pick(s.ise === "IOMT_QUARANTINE", s.ise === "IOMT_RESTRICTED"),
    clearpass: pick(s.clearpass === "full", s.clearpass === "restricted"),
    panos: pick(s.panos.includes("iomt-quarantine"), s.panos.includes("iomt-restricted")),
    fortigate: pick(s.fortigate.startsWith("ban"), s.fortigate.endsWith("grp")),
    armis: pick(s.armis.includes("medsoc-quarantine"), s.armis.includes("medsoc-restricted")),
    xdome: pick(s.xdome === "quarantine", s.xdome === "restricted"),
    forescout: pick(s.forescout === "full", s.forescout === "restricted"),
  };
}

/** The simulator of a point and its "2xx but nothing applied" switch for `mode`. */
function sim(p: Point): { s: { faults: { serverErrorNext?: number } }; ignore: (on: boolean) => void } {
  const all = {
    ise: { s: base.ise, ignore: (on: boolean) => (base.ise.modes.ignoreApply = on) },
    panos: { s: base.panos, ignore: (on: boolean) => (base.panos.modes.ignoreRegister = on) },
    clearpass: { s: ext.clearpass, ignore: (on: boolean) => (ext.clearpass.modes.ignorePatch = on) },
    fortigate: { s: ext.fortigate, ignore: (on: boolean) => (ext.fortigate.modes.ignoreBan = on) },
    armis: { s: ext.armis, ignore: (on: boolean) => (ext.armis.modes.ignoreTagWrites = on) },
    xdome: { s: ext.xdome, ignore: (on: boolean) => (ext.xdome.modes.ignoreSet = on) },
    forescout: { s: ext.forescout, ignore: (on: boolean) => (ext.forescout.modes.ignoreUpdate = on) },
  };
  return all[p];
}
function clearFaults() {
  for (const p of POINTS) {
    sim(p).ignore(false);
    sim(p).s.faults.serverErrorNext = 0;
  }
}

/** Whether point `p` holds `mode` after the step, from what it held before and its fault. */
function expectHolds(p: Point, pre: Level, fault: Fault, mode: "full" | "restricted"): boolean {
  if (fault === "down") return false;
  // FortiGate's restricted path (address group) has no "ignore" switch: it applies.
  const ignored = fault === "ignore" && !(p === "fortigate" && mode === "restricted");
  if (!ignored) return true;
  // One value per device (ISE, ClearPass, xDome, Forescout): full already satisfies restricted.
  const singleValued = p === "ise" || p === "clearpass" || p === "xdome" || p === "forescout";
  return pre === mode || (singleValued && pre === "full" && mode === "restricted");
}

before(async () => {
  [base, ext] = await Promise.all([startResponseSystems({ fleet }), startExtendedResponseSystems({ fleet })]);
  systems = systemsSchema.parse({ ...base.systemsConfig(), ...ext.systemsConfig() });
  registry = createActions(systems, new DeviceDirectory({})).registry;
  // The same fan-out with a fast in-step backoff (the "down" points fail after their retries).
  apply = containActions(systems, registry, { backoff: { baseMs: 1, maxMs: 4 } })[0] as AnyAction;
});
after(async () => {
  clearFaults();
  await Promise.all([base.stop(), ext.stop()]);
});

const level = fc.constantFrom<Level>("none", "restricted", "full");
const fault = fc.constantFrom<Fault>("none", "none", "ignore", "transient", "down");
const scenario = fc.record({
  mode: fc.constantFrom<"full" | "restricted">("full", "restricted"),
  pre: fc.record(Object.fromEntries(POINTS.map((p) => [p, level])) as Record<Point, fc.Arbitrary<Level>>),
  faults: fc.record(Object.fromEntries(POINTS.map((p) => [p, fault])) as Record<Point, fc.Arbitrary<Fault>>),
});

describe("contain.apply, generated scenarios", () => {
  test(`${RUNS} scenarios: verified = the points that hold; failure leaves nothing; never weaker; undo restores`, async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async ({ mode, pre, faults }) => {
        const f = fleet.facts(n++ % fleet.size);
        clearFaults();
        // What earlier runs put there.
        for (const p of POINTS) {
          const want = pre[p];
          if (want === "none") continue;
          const point = ENFORCEMENT_POINTS.find((x) => x.system === p);
          const a = registry.get(point?.apply ?? "") as AnyAction;
          const raw = point?.applyInput(
            { key: f.mac, macs: [f.mac.replace(/:/g, "-")], ips: [f.ip] },
            want,
            f.clinicalServers,
          );
          await a.execute(a.input.parse(raw), ctxOf(`earlier-${n}`, f));
        }
        const before = snapshot(f);
        const beforeStrength = strength(f);
        for (const p of POINTS) {
          if (faults[p] === "ignore") sim(p).ignore(true);
          if (faults[p] === "transient") sim(p).s.faults.serverErrorNext = 1;
          if (faults[p] === "down") sim(p).s.faults.serverErrorNext = 1_000_000;
        }
        const input = apply.input.parse({ mode, clinicalServers: f.clinicalServers });
        const ctx = ctxOf(`run-${n}`, f);
        const expected = ENFORCEMENT_POINTS.filter((p) => {
          const k = p.system as Point;
          return expectHolds(k, pre[k], faults[k], mode);
        });
        let out: ContainOutput | undefined;
        let error: unknown;
        try {
          out = (await apply.execute(input, ctx)) as ContainOutput;
        } catch (e) {
          error = e;
        }
        clearFaults();
        // 1. success exactly when some point holds; verified names exactly those.
        if (expected.length === 0) {
          assert.ok(error, `no point should hold, yet the step returned ${out?.summary}`);
          // 2. failure leaves every point as it was.
          assert.deepEqual(snapshot(f), before, "a failed step left something behind");
          return;
        }
        assert.equal(error, undefined, `expected success: ${(error as Error | undefined)?.message}`);
        assert.deepEqual(
          out?.verified,
          expected.map((p) => p.label),
          out?.summary,
        );
        // 3. never weaker than before.
        const afterStrength = strength(f);
        for (const p of POINTS)
          assert.ok(
            RANK[afterStrength[p]] >= RANK[beforeStrength[p]],
            `${p} loosened: ${beforeStrength[p]} → ${afterStrength[p]}`,
          );
        // 4. undo restores exactly the state before the step.
        await apply.undo?.(input, out, ctx);
        assert.deepEqual(snapshot(f), before, "undo did not restore the state before the step");
      }),
      { numRuns: RUNS },
    );
  });
});
