/**
 * The posture report on the simulated hospital (needs nothing but loopback): the figures land
 * near the generator's distributions (DESIGN.md: 53% vulnerable, 33% critical risk, pumps 38% of
 * the fleet and 73% of them vulnerable). Tolerances: shares the generator fixes exactly per
 * 10,000-device period are compared with the fleet's own facts exactly (the monitors report them
 * without loss), and with the published figure within ±2.5 points (a 3,000-device fleet is a
 * sample of the period); the critical share, which medsoc computes itself, within ±3 points.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createFleet } from "../../simulators/fleet.ts";
import { collectSimulatedHospital, renderReport } from "../../worker/commands/report.ts";
import { MemoryDeviceStateStore } from "../../worker/device-state/index.ts";
import type { DeviceState } from "../../worker/device-state/types.ts";
import { buildPostureReport, type PostureReport } from "../../worker/report/posture.ts";
import { armisDocs, secondSourceDoc } from "../helpers/hospital-docs.ts";

const SIZE = 3000;

function near(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: ${(actual * 100).toFixed(1)}% is not within ±${tolerance * 100} points of ${(expected * 100).toFixed(1)}%`,
  );
}

describe("posture report on the simulated hospital (through the pipeline)", () => {
  let report: PostureReport;
  const fleet = createFleet({ size: SIZE });
  let truth = {
    vulnerable: 0,
    pumps: 0,
    pumpsVulnerable: 0,
    oldWindows: 0,
    critical: 0,
    defaultOrShared: 0,
    hardCoded: 0,
  };

  before(async () => {
    const store = await collectSimulatedHospital(SIZE);
    report = await buildPostureReport(() => store.list() as AsyncIterable<DeviceState>);
    for (let i = 0; i < SIZE; i++) {
      const f = fleet.facts(i);
      truth = {
        vulnerable: truth.vulnerable + (f.vulnerable ? 1 : 0),
        pumps: truth.pumps + (f.deviceClass === "infusion_pump" ? 1 : 0),
        pumpsVulnerable: truth.pumpsVulnerable + (f.deviceClass === "infusion_pump" && f.vulnerable ? 1 : 0),
        oldWindows: truth.oldWindows + (f.oldWindows ? 1 : 0),
        critical: truth.critical + (f.criticalRisk ? 1 : 0),
        defaultOrShared:
          truth.defaultOrShared + (f.credential.kind === "default" || f.credential.kind === "shared" ? 1 : 0),
        hardCoded: truth.hardCoded + (f.credential.kind === "hard_coded" ? 1 : 0),
      };
    }
  });

  it("counts every device once", () => {
    assert.equal(report.devices, SIZE);
  });

  it("lands on the generator's distributions", () => {
    const h = report.headline;
    assert.equal(h.vulnerable.count, truth.vulnerable);
    near(h.vulnerable.share, 0.53, 0.025, "vulnerable");
    assert.equal(h.infusionPumps.count, truth.pumps);
    near(h.infusionPumps.share, 0.38, 0.025, "infusion pumps");
    assert.equal(h.infusionPumpsVulnerable.count, truth.pumpsVulnerable);
    near(h.infusionPumpsVulnerable.share, 0.73, 0.025, "pumps vulnerable");
    assert.equal(h.olderThanWindows10.count, truth.oldWindows);
    near(h.criticalRisk.share, truth.critical / SIZE, 0.03, "critical risk");
    near(h.criticalRisk.share, 0.33, 0.03, "critical risk");
  });

  it("counts only credentials the fleet really has", () => {
    // No monitor's inventory says how a device's password is set: the seven monitors see default
    // and shared passwords only in default-credential login alerts (a few percent of devices) and
    // hard-coded ones through advisory CWEs of vulnerable devices. So the counts stay below the
    // fleet's truth, and a login alert never lands on a device with a unique password.
    const h = report.headline;
    assert.ok(h.defaultOrSharedCredentials.count > 0);
    assert.ok(h.defaultOrSharedCredentials.count <= truth.defaultOrShared);
    assert.ok(h.hardCodedCredentials.count > 0.2 * truth.hardCoded, `${h.hardCodedCredentials.count}`);
    assert.ok(h.hardCodedCredentials.count <= truth.hardCoded);
  });

  it("lists top classes, CVEs, KEV hits and the ten riskiest pumps with their reasons", () => {
    assert.equal(report.classes[0]?.class, "infusion_pump");
    assert.ok(report.topCves.length === 10);
    assert.ok(
      report.kev.some((k) => k.id === "CVE-2017-0144"),
      "EternalBlue is a KEV hit",
    );
    assert.equal(report.riskiestPumps.length, 10);
    for (const p of report.riskiestPumps) {
      assert.ok(p.score >= report.criticalRiskScore);
      assert.ok(
        p.why.length >= 2 && p.why.every((w) => /\(\+\d+\)$|^sum \d+, capped at 100$/.test(w)),
        p.why.join("; "),
      );
    }
    const scores = report.riskiestPumps.map((p) => p.score);
    assert.deepEqual(
      scores,
      [...scores].sort((a, b) => b - a),
    );
  });

  it("renders text, JSON and a self-contained HTML file with charts", async () => {
    const text = await renderReport(report, "text");
    assert.match(text, /devices with ≥1 known vulnerability\s+5\d\.\d%/);
    assert.deepEqual(JSON.parse(await renderReport(report, "json")), report);
    const html = await renderReport(report, "html");
    assert.equal(html.match(/<svg /g)?.length, 3);
    assert.doesNotMatch(html, /<script|src="http|href="http|@import/);
    assert.match(html, /Ten riskiest infusion pumps/);
  });
});

describe("posture report with a second monitor", () => {
  let store: MemoryDeviceStateStore;
  after(() => store.close());

  it("counts default and shared credentials from the fleet view", async () => {
    const fleet = createFleet({ size: 1200 });
    store = new MemoryDeviceStateStore();
    const a = armisDocs(fleet);
    const second = Array.from({ length: fleet.size }, (_, i) => secondSourceDoc(fleet, i));
    for (const batch of [a.devices, a.vulnerabilities, a.alerts, second]) await store.upsert(batch);
    const report = await buildPostureReport(() => store.list() as AsyncIterable<DeviceState>);
    let defaultOrShared = 0;
    let hardCoded = 0;
    for (let i = 0; i < fleet.size; i++) {
      const kind = fleet.facts(i).credential.kind;
      if (kind === "default" || kind === "shared") defaultOrShared++;
      if (kind === "hard_coded") hardCoded++;
    }
    assert.equal(report.multiSource, fleet.size);
    assert.equal(report.headline.hardCodedCredentials.count, hardCoded);
    // Unique passwords seen in a default-credential login alert count too (at most the alerted devices).
    const alerted = a.alerts.length;
    const got = report.headline.defaultOrSharedCredentials.count;
    assert.ok(got >= defaultOrShared && got <= defaultOrShared + alerted, `${got} vs ${defaultOrShared}`);
  });
});
