/** Enrichment (needs nothing): classification, criticality, credentials, OS age, risk, the enrichers. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import table from "../../mappings/data/device-classes.json" with { type: "json" };
import {
  classifyDevice,
  credentialCwesOf,
  credentialExposure,
  criticalityOf,
  DEVICE_CLASSES,
  olderThanWindows10,
  RISK_WEIGHTS,
  riskScore,
} from "../../mappings/enrich/index.ts";
import { enrich } from "../../mappings/enrich.ts";
import { createLineMapper, mapRecord } from "../../mappings/index.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import { armisRecords } from "../../simulators/armis/records.ts";
import { createFleet } from "../../simulators/fleet/fleet.ts";

const opts = { ingestedAt: "2025-04-14T10:58:03.000Z" };

describe("device classification", () => {
  it("covers every vendor's vocabulary for the same kinds of device", () => {
    const cases: [Parameters<typeof classifyDevice>[0], string][] = [
      // Armis type / typeEnum
      [{ vendorType: "Infusion Pumps", vendorCategory: "Medical" }, "infusion_pump"],
      [{ vendorType: "INFUSION_PUMP" }, "infusion_pump"],
      [{ vendorType: "PATIENT_MONITOR" }, "patient_monitor"],
      // Armis files IP cameras under category "Imaging": the type decides.
      [{ vendorType: "IP Cameras", vendorCategory: "Imaging" }, "building_iot"],
      [{ vendorType: "Personal Computers", vendorCategory: "Computers" }, "clinical_workstation"],
      [{ vendorType: "Servers", vendorCategory: "Computers" }, "it"],
      // xDome device_type / subcategory
      [{ vendorType: "Infusion Pump", vendorCategory: "Medical" }, "infusion_pump"],
      [{ vendorType: "Nurse Call", vendorCategory: "Medical" }, "nurse_call"],
      [{ vendorCategory: "Patient Devices" }, "medical_other"],
      // Nozomi type
      [{ hostType: "OT_device" }, "building_iot"],
      [{ hostType: "printer" }, "it"],
      // Forescout prim_classification path: the most specific segment wins.
      [{ vendorType: "Medical Devices/Infusion Pumps" }, "infusion_pump"],
      [{ vendorType: "Information Technology/Computers" }, "it"],
      // Cynerio type_display_name, Asimily deviceFamily, PANW profile_type
      [{ vendorType: "Patient Monitor" }, "patient_monitor"],
      [{ vendorType: "X-Ray" }, "imaging"],
      [{ vendorType: "Non_IoT" }, "it"],
      [{ vendorType: "Blood Gas Analyzer" }, "lab_analyzer"],
    ];
    for (const [input, expected] of cases)
      assert.equal(classifyDevice(input).class, expected, JSON.stringify(input));
  });

  it("uses model hints when the type is missing or generic", () => {
    assert.deepEqual(classifyDevice({ manufacturer: "BD", model: "Alaris 8015 PC Unit" }), {
      class: "infusion_pump",
      by: "model",
    });
    assert.equal(
      classifyDevice({ vendorType: "Medical Device", model: "Sigma Spectrum 35700" }).class,
      "infusion_pump",
    );
    assert.equal(classifyDevice({ vendorType: "Medical Device", model: "Something" }).class, "medical_other");
    assert.equal(classifyDevice({ vendorCategory: "Network Equipment" }).class, "it");
    assert.deepEqual(classifyDevice({}), { class: "unknown", by: "none" });
    assert.equal(classifyDevice({ vendorType: "Quantum Toaster" }).class, "unknown");
  });

  it("keeps every class of the data file in the taxonomy", () => {
    for (const c of [...Object.values(table.types), ...Object.values(table.categories)])
      assert.ok(DEVICE_CLASSES.includes(c as never), c);
  });

  it("classifies every device of the simulated hospital as the generator meant", () => {
    const fleet = createFleet({ size: 2000 });
    for (let i = 0; i < fleet.size; i++) {
      const doc = mapRecord("armis", "device", armisRecords(fleet).device(i), opts);
      const medsoc = doc.medsoc as unknown as { device?: { class?: string } };
      assert.equal(medsoc.device?.class, fleet.facts(i).deviceClass, `device ${i} ${fleet.facts(i).model}`);
    }
  });
});

describe("clinical criticality", () => {
  it("starts from the class and is raised by consequence, equipment, FDA class, business impact", () => {
    assert.equal(criticalityOf({ deviceClass: "infusion_pump" }).level, "life_sustaining");
    assert.equal(criticalityOf({ deviceClass: "it" }).level, "low");
    assert.equal(criticalityOf({ deviceClass: "imaging", consequenceOfFailure: "High" }).level, "high");
    assert.equal(
      criticalityOf({ deviceClass: "medical_other", consequenceOfFailure: "Life Support" }).level,
      "life_sustaining",
    );
    assert.equal(
      criticalityOf({ deviceClass: "medical_other", equipmentClass: "Life Support" }).level,
      "life_sustaining",
    );
    assert.equal(criticalityOf({ deviceClass: "lab_analyzer", fdaClass: 3 }).level, "life_sustaining");
    assert.equal(criticalityOf({ deviceClass: "building_iot", fdaClass: 2 }).level, "medium");
    assert.equal(criticalityOf({ deviceClass: "it", businessImpact: "Critical" }).level, "high");
    const r = criticalityOf({ deviceClass: "imaging", consequenceOfFailure: "High" });
    assert.deepEqual(r.reasons, ["class imaging", "consequence of failure High"]);
  });

  it("raises medical devices in configured wards one level, by whole word", () => {
    assert.equal(criticalityOf({ deviceClass: "patient_monitor", ward: "ICU" }).level, "life_sustaining");
    assert.equal(criticalityOf({ deviceClass: "imaging", ward: "Main ICU-3" }).level, "high");
    assert.equal(criticalityOf({ deviceClass: "imaging", ward: "PICURE" }).level, "medium");
    // IT in an ICU stays low; custom wards replace the defaults.
    assert.equal(criticalityOf({ deviceClass: "it", ward: "ICU" }).level, "low");
    assert.equal(
      criticalityOf({ deviceClass: "imaging", ward: "RAD" }, { criticalWards: ["RAD"] }).level,
      "high",
    );
    assert.equal(
      criticalityOf({ deviceClass: "imaging", ward: "ICU" }, { criticalWards: ["RAD"] }).level,
      "medium",
    );
  });
});

describe("credential exposure", () => {
  it("reads monitor observations, credential CWEs and the fleet view; hard-coded wins", () => {
    assert.equal(credentialExposure({ observed: [], cwes: [] }).value, "unknown");
    assert.equal(credentialExposure({ observed: ["weak"], cwes: [] }).value, "default");
    assert.equal(credentialExposure({ observed: ["default"], cwes: [] }).value, "default");
    assert.equal(credentialExposure({ observed: [], cwes: ["CWE-1392"] }).value, "default");
    assert.equal(credentialExposure({ observed: [], cwes: ["798"] }).value, "hard_coded");
    assert.equal(credentialExposure({ observed: ["default"], cwes: ["CWE-259"] }).value, "hard_coded");
    assert.equal(
      credentialExposure({ observed: ["default"], cwes: [], fingerprintDevices: 3 }).value,
      "shared",
    );
    assert.equal(
      credentialExposure({ observed: ["default"], cwes: [], fingerprintDevices: 2 }).value,
      "default",
    );
    assert.equal(
      credentialExposure({ observed: [], cwes: [], fingerprintDevices: 5, sharedThreshold: 6 }).value,
      "unknown",
    );
    assert.deepEqual(credentialExposure({ observed: [], cwes: [], fingerprintDevices: 9 }).reasons, [
      "same credential on 9 devices",
    ]);
  });

  it("picks the credential CWEs out of any CWE list", () => {
    assert.deepEqual(credentialCwesOf(["CWE-79", "cwe-798", "521", "CWE-798", "CWE-20"]), [
      "CWE-798",
      "CWE-521",
    ]);
  });
});

describe("OS age", () => {
  it("tells Windows older than 10 from 10, 11, Server 2016+ and non-Windows", () => {
    const old = [
      { family: "windows", version: "XP" },
      { family: "windows", version: "7" },
      { family: "windows", version: "CE 5.0" },
      { family: "windows", version: "Embedded Standard 7" },
      { name: "Windows", version: "Server 2012 R2" },
      { full: "Microsoft Windows Server 2008 R2" },
      { full: "Windows 8.1 Pro" },
    ];
    const current = [
      { family: "windows", version: "10" },
      { family: "windows", version: "11" },
      { name: "Windows", version: "Server 2016 Standard" },
      { full: "Windows 10 IoT Enterprise" },
      { family: "linux", version: "2.6.38" },
      { name: "VxWorks", version: "6.5" },
      { name: "Embedded", version: "9.33" },
      {},
    ];
    for (const os of old) assert.equal(olderThanWindows10(os), true, JSON.stringify(os));
    for (const os of current) assert.equal(olderThanWindows10(os), false, JSON.stringify(os));
  });
});

describe("risk score", () => {
  it("adds explainable factors and caps at 100", () => {
    const r = riskScore({
      vendorRisk: 92,
      maxCvss: { score: 9.8, id: "CVE-2017-0144" },
      vulnerabilities: 3,
      knownExploited: "CVE-2017-0144",
      criticality: "life_sustaining",
      osEol: "Windows 7",
      credentials: "shared",
      alerts: { count: 2, maxSeverity: 99 },
    });
    assert.equal(r.score, 100);
    assert.deepEqual(r.factors, [
      `monitor risk 92/100 (+${Math.round(92 * RISK_WEIGHTS.vendorRisk)})`,
      `3 known vulnerabilities, worst CVE-2017-0144 CVSS 9.8 (+${Math.round(9.8 * RISK_WEIGHTS.cvss)})`,
      `known exploited CVE-2017-0144 (+${RISK_WEIGHTS.knownExploited})`,
      `life-sustaining device (+${RISK_WEIGHTS.criticality.life_sustaining})`,
      `Windows 7 is past end of life (+${RISK_WEIGHTS.osEol})`,
      `shared credentials (+${RISK_WEIGHTS.credentials.shared})`,
      `2 open alerts, critical (+${RISK_WEIGHTS.alertCritical})`,
      `sum ${
        Math.round(92 * RISK_WEIGHTS.vendorRisk) +
        Math.round(9.8 * RISK_WEIGHTS.cvss) +
        RISK_WEIGHTS.knownExploited +
        RISK_WEIGHTS.criticality.life_sustaining +
        RISK_WEIGHTS.osEol +
        RISK_WEIGHTS.credentials.shared +
        RISK_WEIGHTS.alertCritical
      }, capped at 100`,
    ]);
    assert.deepEqual(riskScore({}), { score: 0, factors: [] });
    const small = riskScore({
      criticality: "medium",
      credentials: "unknown",
      alerts: { count: 1, maxSeverity: 21 },
    });
    assert.deepEqual(small, {
      score: RISK_WEIGHTS.criticality.medium,
      factors: [`medium device (+${RISK_WEIGHTS.criticality.medium})`],
    });
  });
});

describe("enrichers on mapped documents", () => {
  it("fills class, criticality, PHI, credentials and risk on an Armis device", () => {
    const doc = mapRecord(
      "armis",
      "device",
      {
        id: 7,
        category: "Medical",
        type: "Infusion Pumps",
        manufacturer: "BD",
        model: "Alaris 8015 PC Unit",
        operatingSystem: "Windows",
        operatingSystemVersion: "CE 5.0",
        riskLevel: 90,
        businessImpact: "Critical",
        site: { name: "Main Campus", location: "Boston" },
        sensor: { name: "Main Campus ICU", type: "Access Switch" },
        lastSeen: "2025-03-29T00:00:00+00:00",
      },
      opts,
    );
    const m = doc.medsoc as Record<string, Record<string, unknown>>;
    assert.deepEqual(m.location, { site: "Main Campus", ward: "ICU" });
    assert.equal(m.device?.class, "infusion_pump");
    assert.equal(m.device?.criticality, "life_sustaining");
    assert.equal(m.device?.phi, true);
    assert.equal(m.device?.credentials, "unknown");
    assert.equal(m.device?.vendor_type, "Infusion Pumps");
    assert.equal(m.device?.business_impact, "Critical");
    assert.equal(m.risk?.score, 45 + 15 + 10);
  });

  it("marks credentials from an alert and known exploitation from a finding", () => {
    const alert = mapRecord(
      "armis",
      "alert",
      {
        alertId: 1,
        title: "Default credentials used to log in",
        severity: "Critical",
        deviceIds: [3],
        time: "2025-03-29T00:00:00+00:00",
      },
      opts,
    );
    assert.deepEqual((alert.medsoc as Record<string, unknown>).credential, { observed: "default" });
    assert.equal(
      (alert.medsoc as unknown as { device?: { credentials?: string } }).device?.credentials,
      "default",
    );
    const finding = mapRecord(
      "armis",
      "vulnerability",
      {
        id: "CVE-2017-0144",
        cvssScore: 8.1,
        cisaDueDate: "2022-05-03T00:00:00+00:00",
        vulnerability_match: { deviceId: 3 },
      },
      opts,
    );
    // The shipped KEV catalog (reference kev_subset.json, 2025.08.25) decides the KEV block: its
    // due date 2022-08-10 wins over the monitor's own cisaDueDate.
    assert.deepEqual((finding.medsoc as Record<string, unknown>).vulnerability, {
      known_exploited: true,
      kev: {
        date_added: "2022-02-10",
        due_date: "2022-08-10",
        ransomware: true,
        catalog_version: "2025.08.25",
      },
    });
    assert.match(
      String((finding.medsoc as unknown as { risk: { factors: string[] } }).risk.factors[1]),
      /known exploited CVE-2017-0144/,
    );
  });

  it("reads credential CWEs of matched advisories and leaves pipeline errors alone", () => {
    const doc = mapRecord(
      "armis",
      "device",
      { id: 9, model: "Medfusion 4000", lastSeen: "2025-03-29T00:00:00+00:00" },
      opts,
    );
    (doc.medsoc as Record<string, unknown>).advisories = [
      { id: "ICSMA-17-250-02", cves: ["CVE-2017-12725"], cwes: ["CWE-798"] },
    ];
    delete (doc.medsoc as Record<string, unknown>).device;
    enrich(doc, { source: "armis", stream: "device", ingestedAt: opts.ingestedAt });
    assert.equal(
      (doc.medsoc as unknown as { device: { credentials: string } }).device.credentials,
      "hard_coded",
    );
    const error: EcsDocument = {
      "@timestamp": "x",
      event: { kind: "pipeline_error" },
      medsoc: { doc_id: "e", source: "armis", stream: "device" },
    };
    enrich(error, { source: "armis", stream: "device", ingestedAt: opts.ingestedAt });
    assert.deepEqual(Object.keys(error.medsoc).sort(), ["doc_id", "source", "stream"]);
  });

  it("stays off with normalize --no-enrich (the raw mapping)", () => {
    const line = JSON.stringify({
      id: 1,
      type: "Infusion Pumps",
      riskLevel: 50,
      lastSeen: "2025-03-29T00:00:00+00:00",
    });
    const raw = createLineMapper("armis", "device", { enrich: false })(line, opts);
    const enriched = createLineMapper("armis", "device")(line, opts);
    assert.equal((raw.medsoc as Record<string, unknown>).risk, undefined);
    assert.equal((raw.medsoc as unknown as { device: Record<string, unknown> }).device.class, undefined);
    assert.equal(
      (enriched.medsoc as unknown as { device: Record<string, unknown> }).device.class,
      "infusion_pump",
    );
  });
});
