/**
 * The device-state contract, run against every store (memory in test/unit, Redis in
 * test/redis): identity resolution order, merges, provenance, conflicts, exposure, the
 * fleet view of credentials, the key written back, and the two-monitor merge of the simulated
 * hospital.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { DeviceState, DeviceStateStore } from "../../mappings/device-state.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import { createFleet } from "../../simulators/fleet/fleet.ts";
import { deriveDevice } from "../../worker/device-state/derive.ts";
import { fingerprintCounts } from "../../worker/device-state/index.ts";
import { armisDocs, secondSourceDoc } from "./hospital-docs.ts";

let n = 0;
/** A minimal mapped document in the mapping contract. */
export function doc(
  source: string,
  fields: Record<string, unknown>,
  kind = "asset",
  at = "2025-03-29T10:00:00.000Z",
): EcsDocument {
  return {
    "@timestamp": at,
    event: { kind, ...(fields.event as object) },
    medsoc: { doc_id: `d${++n}`, source, stream: "device", ...(fields.medsoc as object) },
    ...Object.fromEntries(Object.entries(fields).filter(([k]) => k !== "event" && k !== "medsoc")),
  };
}

const keyOf = (d: EcsDocument) => (d.medsoc as unknown as { device?: { key?: unknown } }).device?.key;

async function all(store: DeviceStateStore): Promise<DeviceState[]> {
  const out: DeviceState[] = [];
  for await (const s of store.list()) out.push(s);
  return out;
}

export function deviceStateSuite(make: () => Promise<DeviceStateStore>): void {
  it("merges by MAC across sources, keeps per-source facts and records conflicts", async () => {
    const store = await make();
    try {
      const a = doc("armis", {
        host: { id: "17", mac: ["00-11-22-33-44-55"], ip: ["10.0.0.5"], name: ["pump-1"] },
        device: { manufacturer: "BD", model: { name: "Alaris 8015 PC Unit" } },
      });
      const b = doc(
        "claroty_xdome",
        {
          host: { id: "uuid-1", mac: ["00:11:22:33:44:55"] },
          device: { manufacturer: "BD", model: { name: "Alaris 8100 LVP Module" }, serial_number: "SN1" },
        },
        "asset",
        "2025-03-29T11:00:00.000Z",
      );
      await store.upsert([a]);
      await store.upsert([b]);
      assert.equal(await store.count(), 1);
      assert.equal(keyOf(a), keyOf(b));
      const state = await store.get(keyOf(a) as string);
      assert.ok(state);
      assert.deepEqual(state.identifiers.vendorIds, { armis: "17", claroty_xdome: "uuid-1" });
      assert.deepEqual(state.identifiers.serials, ["SN1"]);
      const model = state.facts["device.model.name"];
      assert.deepEqual(
        model?.map((f) => [f.source, f.value]),
        [
          ["claroty_xdome", "Alaris 8100 LVP Module"],
          ["armis", "Alaris 8015 PC Unit"],
        ],
      );
      assert.deepEqual(state.conflicts, ["device.model.name"]);
      assert.equal(await store.resolve({ serial: "sn1" }), state.key);
      assert.equal(await store.resolve({ mac: "00:11:22:33:44:55" }), state.key);
      assert.equal(await store.resolve({ mac: "66:11:22:33:44:55" }), null);
    } finally {
      await store.close();
    }
  });

  it("falls back to serial, then IP + hostname within a site", async () => {
    const store = await make();
    try {
      const bySerial1 = doc("a", { host: { id: "1" }, device: { serial_number: "X9" } });
      const bySerial2 = doc("b", { host: { id: "2" }, device: { serial_number: "x9" } });
      const ipA = doc("a", {
        host: { id: "3", ip: ["10.1.1.1"], name: ["ws-1"] },
        medsoc: { location: { site: "North" } },
      });
      const ipB = doc("b", {
        host: { id: "4", ip: ["10.1.1.1"], name: ["WS-1"] },
        medsoc: { location: { site: "North" } },
      });
      const otherSite = doc("c", {
        host: { id: "5", ip: ["10.1.1.1"], name: ["ws-1"] },
        medsoc: { location: { site: "South" } },
      });
      await store.upsert([bySerial1, bySerial2, ipA]);
      await store.upsert([ipB, otherSite]);
      assert.equal(keyOf(bySerial1), keyOf(bySerial2));
      assert.equal(keyOf(ipA), keyOf(ipB));
      assert.notEqual(keyOf(ipA), keyOf(otherSite));
      assert.equal(await store.count(), 3);
      assert.equal(
        await store.resolve({ ip: "10.1.1.1", hostname: "ws-1", site: "South" }),
        keyOf(otherSite),
      );
    } finally {
      await store.close();
    }
  });

  it("attaches findings and alerts by the source's own id, even before the inventory, and merges later", async () => {
    const store = await make();
    try {
      const finding = doc(
        "armis",
        {
          event: { category: ["vulnerability"] },
          host: { id: "42" },
          vulnerability: { id: "CVE-2017-0144", score: { base: 8.1 } },
          medsoc: { vulnerability: { known_exploited: true } },
        },
        "event",
      );
      const alert = doc(
        "armis",
        {
          host: { id: ["42", "43"] },
          event: { severity: 99 },
          rule: { name: "Default credentials" },
          medsoc: { credential: { observed: "default" } },
        },
        "alert",
      );
      await store.upsert([finding, alert]);
      assert.equal(await store.count(), 2);
      assert.ok(Array.isArray(keyOf(alert)) && (keyOf(alert) as string[]).length === 2);
      // xDome knows the MAC first; then Armis' inventory names MAC and id 42: the three become one.
      const xdome = doc("claroty_xdome", {
        host: { id: "u-42", mac: ["AA-BB-CC-00-00-42"] },
        medsoc: { credential: { observed: "default", fingerprint: "fp-1" } },
      });
      await store.upsert([xdome]);
      const inventory = doc("armis", {
        host: { id: "42", mac: ["AA-BB-CC-00-00-42"], risk: { static_score: 95 } },
        medsoc: { device: { vendor_type: "Infusion Pumps", class: "infusion_pump" } },
      });
      await store.upsert([inventory]);
      assert.equal(await store.count(), 2);
      const state = await store.get(keyOf(inventory) as string);
      assert.ok(state?.exposure);
      assert.equal(keyOf(xdome), state.key);
      assert.deepEqual(Object.keys(state.exposure.vulnerabilities), ["CVE-2017-0144"]);
      assert.equal(state.exposure.alertCount, 1);
      assert.deepEqual(state.exposure.credentialsObserved, ["default"]);
      // The written-back view on the inventory document is the device's, not the document's.
      const m = inventory.medsoc as unknown as {
        device: Record<string, unknown>;
        risk: { factors: string[] };
      };
      assert.equal(m.device.credentials, "default");
      assert.ok(m.risk.factors.some((f) => f.startsWith("known exploited CVE-2017-0144")));
      const view = deriveDevice(state);
      assert.equal(view.class, "infusion_pump");
      assert.deepEqual(view.knownExploited, ["CVE-2017-0144"]);
      assert.deepEqual(view.sources, ["armis", "claroty_xdome"]);
    } finally {
      await store.close();
    }
  });

  it("sees shared credentials only in the fleet view", async () => {
    const store = await make();
    try {
      const docs = [1, 2, 3].map((i) =>
        doc("claroty_xdome", {
          host: { id: `u${i}`, mac: [`AA-BB-CC-00-00-0${i}`] },
          medsoc: { credential: { fingerprint: "same" } },
        }),
      );
      await store.upsert(docs.slice(0, 2));
      assert.equal(
        ((docs[1] as EcsDocument).medsoc as unknown as { device: { credentials: string } }).device
          .credentials,
        "unknown",
      );
      await store.upsert(docs.slice(2));
      assert.equal(await store.fingerprintCount?.("same"), 3);
      assert.equal(
        ((docs[2] as EcsDocument).medsoc as unknown as { device: { credentials: string } }).device
          .credentials,
        "shared",
      );
    } finally {
      await store.close();
    }
  });

  it("merges two monitors' views of the same simulated fleet into one device each", async () => {
    const store = await make();
    try {
      const fleet = createFleet({ size: 600 });
      const armis = armisDocs(fleet);
      const second = Array.from({ length: fleet.size }, (_, i) => secondSourceDoc(fleet, i));
      // Findings first (no MAC yet), then the second monitor, then Armis' inventory: worst order.
      for (const batch of [armis.vulnerabilities, armis.alerts, second, armis.devices])
        for (let i = 0; i < batch.length; i += 250) await store.upsert(batch.slice(i, i + 250));
      assert.equal(await store.count(), fleet.size);
      const states = await all(store);
      const counts = await fingerprintCounts(states as unknown as AsyncIterable<DeviceState>);
      let vulnerable = 0;
      let defaultOrShared = 0;
      for (const s of states) {
        assert.deepEqual(Object.keys(s.identifiers.vendorIds).sort(), ["armis", "claroty_xdome"], s.key);
        const v = deriveDevice(s, (fp) => counts.get(fp) ?? 1);
        const i = Number(s.identifiers.vendorIds.armis) - 1;
        const f = fleet.facts(i);
        assert.equal(s.identifiers.serials[0], f.serial.toUpperCase());
        assert.equal(v.class, f.deviceClass);
        assert.deepEqual(v.cves, [...f.cves].sort());
        if (v.cves.length > 0) vulnerable++;
        if (f.credential.kind === "hard_coded") assert.equal(v.credentials, "hard_coded");
        if (f.credential.kind === "shared") assert.equal(v.credentials, "shared");
        // A unique password may still have been seen as a default login by an Armis alert.
        if (f.credential.kind === "unique")
          assert.ok(["unknown", "default"].includes(v.credentials), v.credentials);
        if (v.credentials === "default" || v.credentials === "shared") defaultOrShared++;
        // Same model in both vocabularies: no conflict.
        assert.deepEqual(s.conflicts, [], s.key);
      }
      let expected = 0;
      for (let i = 0; i < fleet.size; i++) if (fleet.facts(i).vulnerable) expected++;
      assert.equal(vulnerable, expected);
      assert.ok(defaultOrShared > 0.3 * fleet.size, `default or shared: ${defaultOrShared}`);
    } finally {
      await store.close();
    }
  });
}
