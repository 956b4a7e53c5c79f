import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { matchDevice } from "../../mappings/advisories/match.ts";
import { defaultAdvisoryIndex } from "../../mappings/advisories/store.ts";
import { armisRecords } from "../../simulators/armis/records.ts";
import { createFleet, PERIOD, TIE_GROUP } from "../../simulators/fleet/fleet.ts";

const here = dirname(fileURLToPath(import.meta.url));
const REFERENCE = resolve(here, "../../../shared/reference/data/vendors/armis");

test("the fleet is deterministic in (seed, i) and the seed matters", () => {
  const a = createFleet({ size: 50_000, seed: 3 });
  const b = createFleet({ size: 50_000, seed: 3 });
  const c = createFleet({ size: 50_000, seed: 4 });
  for (const i of [0, 1, 2, 999, 10_001, 49_999]) {
    assert.deepEqual(armisRecords(a).device(i), armisRecords(b).device(i));
    assert.deepEqual(a.profile(i), b.profile(i));
  }
  assert.deepEqual(armisRecords(a).alert(17), armisRecords(b).alert(17));
  assert.deepEqual(armisRecords(a).vulnerabilities(), armisRecords(b).vulnerabilities());
  let differ = 0;
  for (let i = 0; i < 100; i++) if (a.profile(i).model !== c.profile(i).model) differ++;
  assert.ok(differ > 30, `only ${differ} of 100 devices changed with the seed`);
  // Device i does not depend on the fleet size.
  assert.deepEqual(armisRecords(createFleet({ size: 5, seed: 3 })).device(4), armisRecords(a).device(4));
});

test("the fast serialiser is exactly JSON.stringify of the device record", () => {
  const fleet = createFleet({ size: 3000, seed: 9 });
  for (let i = 0; i < 3000; i++)
    assert.equal(armisRecords(fleet).deviceJson(i), JSON.stringify(armisRecords(fleet).device(i)));
});

test("proportions over 10k devices follow the 2022 report within tolerance", () => {
  const fleet = createFleet({ size: 10_000, seed: 11 });
  const classes = new Map<string, number>();
  let vulnerable = 0;
  let oldWindows = 0;
  let pumps = 0;
  let pumpsVulnerable = 0;
  const pumpMakers = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const p = fleet.profile(i);
    classes.set(p.deviceClass, (classes.get(p.deviceClass) ?? 0) + 1);
    if (p.vulnerable) vulnerable++;
    if (p.oldWindows) oldWindows++;
    if (p.deviceClass === "infusion_pump") {
      pumps++;
      pumpMakers.add(p.manufacturer);
      if (p.vulnerable) pumpsVulnerable++;
    }
    if (p.vulnerable) assert.ok(p.cves.length >= 1);
  }
  const near = (actual: number, expected: number, tolerance: number, what: string) =>
    assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual.toFixed(3)} vs ${expected}`);
  near(pumps / 10_000, 0.38, 0.02, "infusion pumps");
  near(vulnerable / 10_000, 0.53, 0.03, "vulnerable devices");
  near(pumpsVulnerable / pumps, 0.73, 0.03, "vulnerable pumps");
  near(oldWindows / 10_000, 0.25, 0.07, "old Windows");
  for (const cls of [
    "patient_monitor",
    "imaging",
    "lab_analyzer",
    "nurse_call",
    "medication_dispensing",
    "clinical_workstation",
    "building_iot",
    "it",
  ])
    assert.ok((classes.get(cls) ?? 0) > 200, `class ${cls}`);
  for (const maker of ["BD", "Baxter", "B. Braun", "Fresenius Kabi", "Smiths Medical"])
    assert.ok(pumpMakers.has(maker));
});

test("lastSeen is non-decreasing with several devices per second and exact ties", () => {
  const fleet = createFleet({ size: 20_000, seed: 5 });
  let previous = "";
  let ties = 0;
  const perSecond = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const { lastSeen } = armisRecords(fleet).device(i);
    assert.ok(lastSeen >= previous, `device ${i}: ${lastSeen} < ${previous}`);
    if (lastSeen === previous) ties++;
    previous = lastSeen;
    const second = lastSeen.slice(0, 19);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  assert.ok(ties > 10_000, `${ties} exact ties`);
  const sizes = [...perSecond.values()];
  assert.ok(sizes.reduce((a, b) => a + b, 0) / sizes.length > 6, "several devices per second");
  assert.match(previous, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/);
  // The binary search agrees with a linear scan.
  const target = fleet.lastSeenUs(7_777);
  assert.equal(fleet.firstDeviceAtOrAfter(target), Math.floor(7_777 / TIE_GROUP) * TIE_GROUP);
});

test("devices have the reference shape and field types", () => {
  const fleet = createFleet({ size: 1000, seed: 1 });
  const device = armisRecords(fleet).device(123) as unknown as Record<string, unknown>;
  const file = resolve(REFERENCE, "elastic_test-device.log");
  if (existsSync(file)) {
    const reference = JSON.parse(readFileSync(file, "utf8").split("\n")[0] as string) as Record<
      string,
      unknown
    >;
    assert.deepEqual(Object.keys(device).sort(), Object.keys(reference).sort());
    for (const [key, value] of Object.entries(reference)) {
      if (value === null || device[key] === null) continue;
      assert.equal(typeof device[key], typeof value, key);
      assert.equal(Array.isArray(device[key]), Array.isArray(value), key);
    }
  }
  assert.equal(typeof device.id, "number");
  assert.equal(typeof device.names, "string");
  assert.match(device.macAddress as string, /^([0-9A-F]{2}:){5}[0-9A-F]{2}$/);
  assert.match(device.firstSeen as string, /\.\d{6}\+00:00$/);
  const withProtection = Array.from({ length: 1000 }, (_, i) => armisRecords(fleet).device(i)).find(
    (d) => d.protections.length,
  );
  assert.match(
    withProtection?.protections[0]?.creationTime ?? "",
    /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/,
  );
});

test("alerts are ordered by time, have unique ids, and drift in policyLabels and mitreAttackLabels", () => {
  const fleet = createFleet({ size: 30_000, seed: 2 });
  const n = fleet.alertCount;
  assert.ok(n > 500 && n < 30_000 * 0.2, `${n} alerts`);
  let previous = "";
  const labelKinds = new Set<string>();
  const mitreKinds = new Set<string>();
  for (let k = 0; k < n; k++) {
    const alert = armisRecords(fleet).alert(k);
    assert.equal(alert.alertId, k + 1);
    assert.ok(alert.time >= previous);
    previous = alert.time;
    labelKinds.add(
      alert.policyLabels === null ? "null" : Array.isArray(alert.policyLabels) ? "array" : "string",
    );
    mitreKinds.add(alert.mitreAttackLabels === null ? "null" : typeof alert.mitreAttackLabels);
    assert.ok(alert.deviceIds.every((id) => id >= 1 && id <= 30_000));
  }
  assert.deepEqual([...labelKinds].sort(), ["array", "null", "string"]);
  assert.deepEqual([...mitreKinds].sort(), ["null", "string"]);
  assert.equal(fleet.firstAlertAtOrAfter(fleet.alertTimeUs(100)) <= 100, true);
});

test("vulnerability matches are exactly the devices whose profile carries the CVE", () => {
  const size = PERIOD + 2_345;
  const fleet = createFleet({ size, seed: 8 });
  const expected = new Map<string, number[]>();
  for (let i = 0; i < size; i++)
    for (const cve of fleet.profile(i).cves)
      expected.set(cve, [...(expected.get(cve) ?? []), fleet.deviceId(i)]);
  const vulns = armisRecords(fleet).vulnerabilities();
  assert.equal(vulns.length, expected.size);
  let previous = "";
  for (const v of vulns) {
    assert.ok(v.lastDetected >= previous);
    previous = v.lastDetected;
    const ids = expected.get(v.cveUid) ?? [];
    assert.equal(fleet.matchCount(v.cveUid), ids.length);
    assert.equal(v.affectedDevicesCount, ids.length);
    const matched = Array.from(
      { length: ids.length },
      (_, k) => armisRecords(fleet).match(v.cveUid, k).deviceId,
    );
    assert.deepEqual(matched, ids);
  }
});

test("a 5-million-device fleet is cheap to build and any device is computed directly", () => {
  const fleet = createFleet({ size: 5_000_000, seed: 1 });
  const last = armisRecords(fleet).device(4_999_999);
  assert.equal(last.id, 5_000_000);
  assert.ok(fleet.alertCount > 100_000);
  assert.equal(fleet.firstDeviceAtOrAfter(fleet.lastSeenUs(4_999_999)), 4_999_998);
  assert.ok(armisRecords(fleet).vulnerabilities().length > 30);
});

test("firmware versions agree with `vulnerable` and the models' CSAF product trees", () => {
  const index = defaultAdvisoryIndex();
  const fleet = createFleet({ size: PERIOD });
  const seen = { matched: 0, fixed: 0 };
  for (let i = 0; i < PERIOD; i++) {
    const f = fleet.facts(i);
    const result = matchDevice(index, {
      manufacturer: f.manufacturer,
      model: f.model,
      version: f.firmwareVersion,
    });
    // Not vulnerable: outside every range of every advisory (no match for any model).
    if (!f.vulnerable) assert.equal(result.matches.length, 0, `${f.model} ${f.firmwareVersion}`);
    // Vulnerable devices of the models whose product trees name versions run an affected one.
    if (f.model === "Alaris 8015 PC Unit" || f.model === "Medfusion 4000") {
      if (f.vulnerable) {
        assert.ok(result.matches.length > 0, `${f.model} ${f.firmwareVersion}`);
        seen.matched++;
      } else seen.fixed++;
    }
    // Hard-coded credentials (CWE-798/259 in the advisories) on every device of those models.
    if (["Medfusion 4000", "Sigma Spectrum 35700", "CARESCAPE B450"].includes(f.model))
      assert.equal(f.credential.kind, "hard_coded", f.model);
  }
  assert.ok(seen.matched > 100 && seen.fixed > 30, JSON.stringify(seen));
});

test("a default-credential login only lands on a device with a default or shared password", () => {
  const fleet = createFleet({ size: 20_000, seed: 5 });
  let logins = 0;
  for (let k = 0; k < fleet.alertCount; k++) {
    const a = fleet.alertFacts(k);
    // The Armis rendering tells the same story as the vendor-neutral facts.
    assert.equal(armisRecords(fleet).alert(k).title, a.title);
    if (a.kind !== "default_credential_login") continue;
    logins++;
    const kind = fleet.facts(a.device).credential.kind;
    assert.ok(kind === "default" || kind === "shared", `alert ${k} on a ${kind} password`);
    assert.deepEqual(armisRecords(fleet).alert(k).deviceIds, [a.device + 1], "a login names one device");
  }
  assert.ok(logins > 20, `${logins} default-credential logins`);
});
