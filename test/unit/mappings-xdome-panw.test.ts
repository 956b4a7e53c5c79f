/**
 * Claroty xDome and PANW IoT Security mappings, their coercions and the shared pieces they use
 * (credential text, boundary cursor, FastAPI error messages). Needs nothing.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { BoundaryCursor, isoToMicros, microsToIsoMillis } from "../../connectors/boundary-cursor.ts";
import { queryBody, streamSpec } from "../../connectors/claroty_xdome/streams.ts";
import { vendorMessage } from "../../connectors/http.ts";
import { fdaClass, percent, stripIpAnnotations, utilization } from "../../mappings/claroty_xdome/clinical.ts";
import { credentialFromText } from "../../mappings/credential-text.ts";
import { listStreams, mapLine, mapRecord } from "../../monitors/index.ts";
import { formatProblems, validateEcs } from "../helpers/ecs.ts";

const ctx = { ingestedAt: "2025-04-14T10:58:03.000Z" };
const GOLDEN = resolve(dirname(fileURLToPath(import.meta.url)), "..", "golden");

const pumpRelation = {
  alert_id: 41,
  alert_name: "Weak/Default Password",
  alert_type_name: "Weak/Default Password",
  alert_description:
    "Login with the vendor default password. Username: service; credential fingerprint: df-0a1b2c3d.",
  device_alert_updated_time: "2025-03-29T00:00:05.000013+00:00",
  device_uid: "7ba971df-330d-422c-84f8-d29e27fa8e41",
  device_name: "ALARIS-PCU-ICU-000017",
  device_ip_list: ["10.0.0.17 / (DHCP)"],
  device_mac_list: ["28:65:f4:45:f4:91"],
  device_category: "Medical",
  device_subcategory: "Patient Devices",
  device_type: "Infusion Pump",
  device_manufacturer: "BD",
  device_model: "Alaris 8015 PC Unit",
  device_serial_number: "ALARIS0A1B2C3D",
  device_os_category: "Windows",
  device_os_name: "Windows",
  device_os_version: "CE 5.0",
  device_combined_os: "Windows CE 5.0",
  device_software_or_firmware_version: "9.33.1",
  device_risk_score: "Critical",
  device_risk_score_points: 96.37,
  device_fda_class: "Class II",
  device_phi: "Yes",
  device_equipment_class: "Infusion Device",
  device_consequence_of_failure: "Life Support",
  device_battery_level: "57%",
  device_utilization_rate: 64,
  device_site_name: "Main Campus",
  device_cmms_department: "ICU",
  device_vlan_list: ["114"],
};

describe("xdome/panw mappings", () => {
  test("every stream of both sources is registered for `medsoc normalize`", () => {
    const pairs = listStreams().map((s) => `${s.source}/${s.stream}`);
    for (const p of [
      "claroty_xdome/device",
      "claroty_xdome/alert",
      "claroty_xdome/vulnerability",
      "claroty_xdome/event",
      "panw_iot/device",
      "panw_iot/alert",
      "panw_iot/vulnerability",
    ]) {
      assert.ok(pairs.includes(p), p);
      const dir = join(GOLDEN, p);
      assert.ok(
        existsSync(dir) && readdirSync(dir).some((f) => f.endsWith(".ndjson")),
        `golden files for ${p}`,
      );
    }
  });

  test("an xDome alert relation fills the whole device contract, clinical fields and the credential", () => {
    const doc = mapRecord("claroty_xdome", "alert", pumpRelation, ctx);
    assert.deepEqual(validateEcs(doc), [], formatProblems(validateEcs(doc)));
    assert.equal(doc.event.kind, "alert");
    assert.equal(doc.event.severity, 99);
    assert.equal(doc.event.risk_score, 96.37);
    assert.deepEqual(doc.host, {
      id: pumpRelation.device_uid,
      name: "ALARIS-PCU-ICU-000017",
      mac: ["28-65-F4-45-F4-91"],
      ip: ["10.0.0.17"],
      type: "Infusion Pump",
      os: { name: "Windows", version: "CE 5.0", full: "Windows CE 5.0", family: "windows" },
      risk: { static_score: 96.37, static_level: "Critical" },
    });
    assert.deepEqual(doc.device, {
      id: pumpRelation.device_uid,
      manufacturer: "BD",
      // The model code is also device.model.identifier, as Elastic's xDome package writes it.
      model: { name: "Alaris 8015 PC Unit", identifier: "Alaris 8015 PC Unit" },
      serial_number: "ALARIS0A1B2C3D",
    });
    const m = doc.medsoc as Record<string, unknown>;
    // The mapper's contract fields; enrichment adds class, criticality, … next to them.
    const { vendor_category, vendor_type, firmware_version } = m.device as Record<string, unknown>;
    assert.deepEqual(
      { vendor_category, vendor_type, firmware_version },
      { vendor_category: "Medical", vendor_type: "Infusion Pump", firmware_version: "9.33.1" },
    );
    assert.deepEqual(m.clinical, {
      fda_class: 2,
      phi: true,
      equipment_class: "Infusion Device",
      consequence_of_failure: "Life Support",
      battery_level: 57,
      utilization_rate: 0.64,
    });
    assert.deepEqual(m.location, { site: "Main Campus", ward: "ICU", vlan: "114" });
    assert.deepEqual(m.credential, { observed: "default", username: "service", fingerprint: "df-0a1b2c3d" });
    // The medical fields survive in the vendor namespace, one type each.
    const vendor = (doc.claroty_xdome as { alert: Record<string, unknown> }).alert;
    assert.equal(vendor.device_fda_class, 2);
    assert.equal(vendor.device_phi, true);
    assert.equal(vendor.device_battery_level, 57);
    assert.equal(vendor.device_equipment_class, "Infusion Device");
    assert.equal(vendor.device_consequence_of_failure, "Life Support");
    assert.equal(vendor.device_utilization_rate, 64);
    assert.equal(vendor.device_uid, undefined, "copied to host.id, left out by default");
    const kept = mapRecord("claroty_xdome", "alert", pumpRelation, {
      ...ctx,
      preserveDuplicateVendorFields: true,
    });
    assert.equal(
      (kept.claroty_xdome as { alert: Record<string, unknown> }).alert.device_uid,
      pumpRelation.device_uid,
    );
  });

  test("the same alert re-delivered gets the same document id; another device gets another", () => {
    const a = mapRecord("claroty_xdome", "alert", pumpRelation, ctx);
    const b = mapRecord("claroty_xdome", "alert", { ...pumpRelation, alert_id: "41" }, ctx);
    const c = mapRecord("claroty_xdome", "alert", { ...pumpRelation, device_uid: "other" }, ctx);
    assert.equal(a.medsoc.doc_id, b.medsoc.doc_id);
    assert.notEqual(a.medsoc.doc_id, c.medsoc.doc_id);
  });

  test("xDome vulnerability with several CVEs keeps them all; v2-only scores are used", () => {
    const doc = mapRecord(
      "claroty_xdome",
      "vulnerability",
      {
        vulnerability_id: "ALKIFVSA",
        vulnerability_cve_ids: ["CVE-2020-24586", "CVE-2020-24587"],
        vulnerability_cvss_v2_score: 7.5,
        device_vulnerability_detection_date: "2025-03-29T00:00:00Z",
        device_uid: "u-1",
      },
      ctx,
    );
    const v = doc.vulnerability as Record<string, unknown>;
    assert.deepEqual(v.id, ["CVE-2020-24586", "CVE-2020-24587"]);
    assert.deepEqual(v.score, { base: 7.5, version: "2.0" });
    assert.equal(v.severity, "High");
    assert.equal(doc.event.severity, 73);
    assert.deepEqual(validateEcs(doc), []);
  });

  test("PANW records: MAC ids, drifted numbers and dates, credential in the description", () => {
    const device = mapRecord(
      "panw_iot",
      "device",
      {
        deviceid: "00:40:9D:10:15:B7",
        ip_address: "10.0.0.5",
        risk_score: "91",
        last_activity: "2025-03-29T00:00:01.250+00:00",
      },
      ctx,
    );
    assert.deepEqual((device.host as Record<string, unknown>).mac, ["00-40-9D-10-15-B7"]);
    assert.deepEqual((device.host as Record<string, unknown>).risk, { static_score: 91 });
    assert.equal(device["@timestamp"], "2025-03-29T00:00:01.250Z");
    const alert = mapRecord(
      "panw_iot",
      "alert",
      {
        zb_ticketid: "alert-1",
        date: "2025-03-29T00:00:05.000Z",
        name: "Default credentials used to log in",
        description: "Username: admin; credential fingerprint: sh-1234abcd; password type: shared.",
        deviceid: "00:40:9d:10:15:b7",
        severity: "critical",
      },
      ctx,
    );
    assert.deepEqual((alert.medsoc as Record<string, unknown>).credential, {
      observed: "shared",
      username: "admin",
      fingerprint: "sh-1234abcd",
    });
    assert.equal(alert.event.severity, 99);
    for (const d of [device, alert]) assert.deepEqual(validateEcs(d), []);
  });

  test("unmappable lines become pipeline errors, never exceptions", () => {
    for (const [source, stream] of [
      ["claroty_xdome", "event"],
      ["panw_iot", "vulnerability"],
    ] as const) {
      assert.equal(mapLine(source, stream, "{not json", ctx).event.kind, "pipeline_error");
      assert.equal(mapLine(source, stream, "{}", ctx).event.kind, "pipeline_error");
      assert.equal(mapLine(source, stream, '"text"', ctx).event.kind, "pipeline_error");
    }
  });
});

describe("coercions", () => {
  test("FDA class, percentages, utilization and annotated IPs", () => {
    assert.deepEqual([2, "2", "II", "Class II", "class 3", "Class 2", 4, "IV", "", null].map(fdaClass), [
      2,
      2,
      2,
      2,
      3,
      2,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    assert.deepEqual([57, "57", "57%", " 57 % ", "N/A"].map(percent), [57, 57, 57, 57, undefined]);
    assert.deepEqual([0.64, 64, "64", "64%", 150, -1].map(utilization), [
      0.64,
      0.64,
      0.64,
      0.64,
      undefined,
      undefined,
    ]);
    assert.deepEqual(stripIpAnnotations(["10.1.2.3 / (DHCP)", "10.1.2.4"]), ["10.1.2.3", "10.1.2.4"]);
  });

  test("credential text: explicit password type, keywords, fallbacks", () => {
    assert.deepEqual(credentialFromText("password type: hard-coded. Username: svc"), {
      observed: "hard_coded",
      username: "svc",
    });
    assert.deepEqual(credentialFromText("A login with the vendor default password was observed."), {
      observed: "default",
    });
    assert.deepEqual(credentialFromText("user=biomed fingerprint=hc-99aa", true), {
      observed: "weak",
      username: "biomed",
      fingerprint: "hc-99aa",
    });
    assert.equal(credentialFromText("Port scan from 10.0.0.1"), undefined);
    assert.equal(credentialFromText(undefined), undefined);
  });

  test("boundary cursor: timestamps with and without micros and zones compare as instants", () => {
    assert.equal(isoToMicros("2025-03-29T00:00:00.250013+00:00"), isoToMicros("2025-03-29T00:00:00.250013Z"));
    assert.equal(isoToMicros("2025-03-29T01:00:00+01:00"), isoToMicros("2025-03-29T00:00:00"));
    assert.equal(isoToMicros("yesterday"), undefined);
    assert.equal(
      microsToIsoMillis(isoToMicros("2025-03-29T00:00:00.250913Z") as number),
      "2025-03-29T00:00:00.250Z",
    );
    const c = new BoundaryCursor({ timestamp: "2025-03-29T00:00:00.5Z", idsAtTimestamp: ["a"] }, "test");
    const t = isoToMicros("2025-03-29T00:00:00.500000+00:00") as number;
    assert.equal(c.isNew(t, "a"), false);
    assert.equal(c.isNew(t, "b"), true);
    assert.equal(c.isNew(t - 1, "c"), false);
    assert.throws(
      () => new BoundaryCursor({ timestamp: "garbage", idsAtTimestamp: [] }, "test"),
      /test cursor/,
    );
  });

  test("xDome query body: greater_or_equal and the retired filter under one `and`", () => {
    const spec = streamSpec("alert", {
      deviceCursorField: "updated_time",
      vulnerabilityCursorField: "device_vulnerability_detection_date",
    });
    const body = queryBody(spec, isoToMicros("2025-03-29T00:00:00.000013Z"), true, 2000, 1000);
    assert.deepEqual(body.filter_by, {
      operation: "and",
      operands: [
        {
          field: "device_alert_updated_time",
          operation: "greater_or_equal",
          value: "2025-03-29T00:00:00.000013Z",
        },
        { field: "device_retired", operation: "in", value: [false] },
      ],
    });
    assert.deepEqual(body.sort_by, [{ field: "device_alert_updated_time", order: "asc" }]);
    assert.equal(body.offset, 2000);
    assert.ok((body.fields as string[]).includes("device_fda_class"));
    assert.equal(queryBody(spec, undefined, false, 0, 10).filter_by, undefined);
  });

  test("a FastAPI 422 body gives its messages with their locations", () => {
    const body = {
      detail: [
        {
          loc: ["body", "limit"],
          msg: "ensure this value is less than or equal to 5000",
          type: "value_error",
        },
        {
          loc: ["body", "fields", 3],
          msg: "value is not a valid enumeration member",
          type: "type_error.enum",
        },
      ],
    };
    assert.equal(
      vendorMessage(body, JSON.stringify(body)),
      "body.limit: ensure this value is less than or equal to 5000; body.fields.3: value is not a valid enumeration member",
    );
    // The reference 422 sample.
    assert.equal(
      vendorMessage({ detail: [{ loc: ["string"], msg: "string", type: "string" }] }, ""),
      "string: string",
    );
  });
});
