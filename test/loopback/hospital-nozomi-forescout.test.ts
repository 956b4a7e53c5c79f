/**
 * The simulated hospital with the Nozomi and Forescout monitors: each entry of HOSPITAL_MONITORS
 * yields a config its connector polls as is, and the same devices (same MACs and IPs) come out of
 * both monitors and match the fleet's facts. Needs nothing but loopback.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createConnector, mapRecord } from "../../monitors/index.ts";
import { HOSPITAL_MONITORS, startHospital } from "../../simulators/hospital.ts";

test("nozomi and forescout join the hospital and see the same devices", async () => {
  assert.ok(HOSPITAL_MONITORS.nozomi && HOSPITAL_MONITORS.forescout);
  const hospital = await startHospital({ devices: 90, monitors: ["nozomi", "forescout"] });
  try {
    const macsBy: Record<string, Set<string>> = {};
    for (const monitor of hospital.monitors) {
      const connector = createConnector(monitor.source, monitor.sourceConfig);
      const stream = monitor.source === "nozomi" ? "asset" : "host";
      const macs = new Set<string>();
      for await (const page of connector.poll(stream, null))
        for (const record of page.records) {
          const doc = mapRecord(monitor.source, stream, record, { ingestedAt: new Date(0).toISOString() });
          for (const mac of (doc.host as { mac?: string[] }).mac ?? []) macs.add(mac);
        }
      await connector.close();
      macsBy[monitor.source] = macs;
    }
    const fleetMacs = new Set(
      Array.from({ length: hospital.fleet.size }, (_, i) => hospital.fleet.facts(i).mac.replaceAll(":", "-")),
    );
    assert.deepEqual([...(macsBy.nozomi ?? [])].sort(), [...fleetMacs].sort());
    assert.deepEqual([...(macsBy.forescout ?? [])].sort(), [...fleetMacs].sort());
    assert.equal(typeof hospital.monitors.find((m) => m.source === "forescout")?.push, "function");
    assert.equal(
      hospital.monitors.find((m) => m.source === "nozomi")?.push,
      undefined,
      "nozomi is pull-only",
    );
  } finally {
    await hospital.stop();
  }
});
