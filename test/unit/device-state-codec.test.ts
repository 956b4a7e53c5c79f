/** The compact device encoding of the Redis store (worker/device-state/codec.ts) loses nothing. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { DeviceState } from "../../mappings/device-state.ts";
import { createFleet } from "../../simulators/fleet/fleet.ts";
import { decodeState, encodeState } from "../../worker/device-state/codec.ts";
import { recomputeConflicts } from "../../worker/device-state/core.ts";
import { MemoryDeviceStateStore } from "../../worker/device-state/index.ts";
import { FACT_FIELDS } from "../../worker/device-state/observe.ts";
import { armisDocs, secondSourceDoc } from "../helpers/hospital-docs.ts";

function roundTrips(state: DeviceState): number {
  const bytes = encodeState(state);
  const back = decodeState(state.key, bytes);
  assert.deepStrictEqual(back, state, state.key);
  // Re-encoding what was read gives the same bytes: an unchanged device is recognised as such.
  assert.ok(encodeState(back).equals(bytes), state.key);
  return bytes.length;
}

describe("device state encoding", () => {
  it("round-trips every device of two monitors' views of a fleet, with findings and alerts, in a fifth of the JSON", async () => {
    const fleet = createFleet({ size: 300 });
    const store = new MemoryDeviceStateStore();
    const armis = armisDocs(fleet);
    const second = Array.from({ length: fleet.size }, (_, i) => secondSourceDoc(fleet, i));
    for (const batch of [armis.devices, armis.vulnerabilities, armis.alerts, second])
      for (let i = 0; i < batch.length; i += 100) await store.upsert(batch.slice(i, i + 100));
    let encoded = 0;
    let json = 0;
    let withExposure = 0;
    for await (const state of store.list()) {
      encoded += roundTrips(state);
      json += JSON.stringify(state).length;
      if (state.exposure) withExposure++;
    }
    assert.ok(withExposure > 50, `devices with exposure: ${withExposure}`);
    assert.ok(encoded * 4 < json, `encoded ${encoded} B vs JSON ${json} B`);
  });

  it("round-trips arbitrary states (several sources per field, odd times, unknown fields, shared strings)", () => {
    const iso = fc.oneof(
      fc
        .integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) })
        .map((ms) => new Date(ms).toISOString()),
      fc.constantFrom("2025-03-29T10:00:00Z", "yesterday", ""),
    );
    const word = fc.constantFrom("armis", "xdome", "pump-1", "BD", "Computers", "ab", "#x", "");
    const value = fc.oneof(
      word,
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.array(word, { maxLength: 2 }),
    );
    const fact = fc.record({
      value,
      source: fc.constantFrom("armis", "claroty_xdome", "nozomi"),
      seenAt: iso,
    });
    const field = fc.oneof(fc.constantFrom(...FACT_FIELDS), fc.constantFrom("x.custom", "device.model.name"));
    const state = fc
      .record({
        updatedAt: iso,
        macs: fc.array(fc.constantFrom("00-11-22-33-44-55", "AA-BB-CC-DD-EE-FF"), { maxLength: 2 }),
        hostnames: fc.array(word, { maxLength: 2 }),
        site: fc.option(word, { nil: undefined }),
        vendorIds: fc.dictionary(fc.constantFrom("armis", "nozomi"), fc.string({ maxLength: 5 })),
        facts: fc.dictionary(field, fc.array(fact, { minLength: 1, maxLength: 3 })),
        exposure: fc.option(
          fc.record({
            vulnerabilities: fc.dictionary(
              fc.constantFrom("CVE-2020-1", "ICSMA-1", "7"),
              fc.record(
                {
                  cvss: fc.double({ min: 0, max: 10, noNaN: true }),
                  kev: fc.boolean(),
                  cwes: fc.array(fc.constantFrom("CWE-798", "CWE-521")),
                  advisory: fc.constantFrom("ICSMA-1"),
                  cves: fc.array(fc.constantFrom("CVE-1", "CVE-2")),
                  source: fc.constantFrom("armis", "xdome"),
                  seenAt: iso,
                },
                { requiredKeys: ["source", "seenAt"] },
              ),
            ),
            alerts: fc.dictionary(
              fc.string({ minLength: 1, maxLength: 4 }),
              fc.record(
                { severity: fc.integer({ min: 0, max: 99 }), title: word, source: word, seenAt: iso },
                { requiredKeys: ["severity", "source", "seenAt"] },
              ),
            ),
            alertCount: fc.nat(),
            credentialsObserved: fc.array(fc.constantFrom("default", "weak")),
            credentialFingerprints: fc.array(fc.constantFrom("fp-1", "fp-2")),
          }),
          { nil: undefined },
        ),
      })
      .map((r) => {
        const s: DeviceState = {
          key: "dev-0123456789abcdef0123",
          identifiers: {
            macs: r.macs,
            serials: [],
            ips: ["10.0.0.1"],
            hostnames: r.hostnames,
            vendorIds: r.vendorIds,
          },
          facts: r.facts,
          conflicts: [],
          updatedAt: r.updatedAt,
        };
        if (r.site !== undefined) s.identifiers.site = r.site;
        if (r.exposure) s.exposure = r.exposure;
        recomputeConflicts(s);
        // As stored and read: plain JSON-like objects (fast-check builds null-prototype ones).
        return JSON.parse(JSON.stringify(s)) as DeviceState;
      });
    fc.assert(
      fc.property(state, (s) => {
        roundTrips(s);
      }),
      { numRuns: 500 },
    );
  });
});
