/**
 * Nozomi and Forescout mappings: type drift, placeholders, list fields and the two Forescout host
 * forms. Needs nothing.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { jwtExpiry } from "../../connectors/nozomi/index.ts";
import { createLineMapper, mapRecord } from "../../monitors/index.ts";
import { validateEcs } from "../helpers/ecs.ts";

const ctx = { ingestedAt: "2025-04-14T10:58:03.000Z" };
const map = (source: string, stream: string, record: unknown) => {
  const doc = mapRecord(source, stream, record, ctx);
  assert.deepEqual(validateEcs(doc), [], "valid ECS");
  // biome-ignore lint/suspicious/noExplicitAny: the assertions walk deep into the documents
  return doc as Record<string, any>;
};

describe("nozomi mappings", () => {
  test("alert risk as a string or a number gives the same risk score and severity", () => {
    const base = { id: "a1", time: 1392048082242, name: "New Node", type_id: "INCIDENT:NEW-NODE" };
    const asString = map("nozomi", "alert", { ...base, risk: "9.0" });
    const asNumber = map("nozomi", "alert", { ...base, risk: 9 });
    assert.equal(asString.event.risk_score, 9);
    assert.equal(asString.event.severity, 99);
    assert.deepEqual(asString.event, asNumber.event);
    assert.equal(map("nozomi", "alert", { ...base, risk: "4.5" }).event.severity, 47);
    assert.equal(
      map("nozomi", "alert", { ...base, severity: 7 }).event.severity,
      73,
      "severity when risk is missing",
    );
    assert.equal(asString["@timestamp"], "2014-02-10T16:01:22.242Z");
  });

  test("alert: the victim names the device; dynamic property keys do not become field names", () => {
    const doc = map("nozomi", "alert", {
      id: "a2",
      time: 1392048082242,
      ip_src: "10.0.0.9",
      mac_src: "00:c0:c9:30:04:f1",
      ip_dst: "10.0.0.7",
      mac_dst: "00:02:3e:99:c9:5d",
      properties: { victims: ["10.0.0.7:2404"], "incident_key_confidence:NewNode_10.0.0.7": 1 },
    });
    assert.deepEqual(doc.host, { ip: ["10.0.0.7"], mac: ["00-02-3E-99-C9-5D"] });
    assert.equal(doc.source.mac, "00-C0-C9-30-04-F1");
    assert.deepEqual(doc.nozomi.alert.properties.keyed, [
      { key: "incident_key_confidence:NewNode_10.0.0.7", value: "1" },
    ]);
  });

  test("asset: lists kept whole, MACs upper-dash, placeholders and invalid IPs out of ECS", () => {
    const doc = map("nozomi", "asset", {
      id: "u1",
      name: "pump",
      ip: ["10.1.1.1", "bogus", "fe80::1"],
      mac_address: ["00:09:0f:6d:f1:c1", "0009.0f6d.f1c2"],
      mac_address_level: { "00:09:0f:6d:f1:c1": "confirmed" },
      vendor: "",
      mac_vendor: ["Fortinet Inc."],
      type: "-",
      "vendor:info": { source: "passive" },
      last_activity_time: "1743206400123",
      zones: ["ICU"],
      vlan_id: ["12"],
      serial_number: "SN-1",
      firmware_version: "8.00.01",
    });
    assert.deepEqual(doc.host.ip, ["10.1.1.1", "fe80::1"]);
    assert.deepEqual(doc.host.mac, ["00-09-0F-6D-F1-C1", "00-09-0F-6D-F1-C2"]);
    assert.equal(doc.host.type, undefined, "`-` is a placeholder");
    assert.equal(doc.device.manufacturer, "Fortinet Inc.", "mac_vendor when vendor is empty");
    assert.equal(doc.device.serial_number, "SN-1");
    assert.deepEqual(doc.medsoc.location, { ward: "ICU", vlan: 12 });
    assert.equal(doc.medsoc.device.firmware_version, "8.00.01");
    assert.equal(doc["@timestamp"], "2025-03-29T00:00:00.123Z", "epoch ms as a numeric string");
    assert.deepEqual(
      doc.nozomi.asset.ip,
      ["10.1.1.1", "bogus", "fe80::1"],
      "the vendor list keeps the invalid one",
    );
    assert.deepEqual(doc.nozomi.asset.vendor_info, { source: "passive" });
    assert.deepEqual(doc.nozomi.asset.mac_address_levels, [
      { mac: "00:09:0f:6d:f1:c1", confidence: "confirmed" },
    ]);
  });

  test("node_cve: the score drifts to a string; the device is the asset, not the sensor", () => {
    const doc = map("nozomi", "node_cve", {
      id: "c1",
      cve: "CVE-2017-0144",
      cve_score: "8.1",
      time: 1741889629962,
      asset_id: "asset-1",
      appliance_id: "sensor-1",
      nodes: ["10.2.2.2", "localhost"],
    });
    assert.equal(doc.vulnerability.score.base, 8.1);
    assert.equal(doc.vulnerability.severity, "High");
    assert.equal(doc.host.id, "asset-1");
    assert.deepEqual(doc.host.ip, ["10.2.2.2"]);
    assert.equal(doc.event.kind, "event");
    const bad = createLineMapper("nozomi", "node_cve")(JSON.stringify({ id: "x", time: 1 }), ctx);
    assert.equal(bad.event.kind, "pipeline_error");
  });

  test("jwtExpiry reads exp from a JWT, with or without Bearer", () => {
    const jwt = `e30.${Buffer.from(JSON.stringify({ exp: 1_800_000_000 })).toString("base64url")}.sig`;
    assert.equal(jwtExpiry(jwt), 1_800_000_000_000);
    assert.equal(jwtExpiry(`Bearer ${jwt}`), 1_800_000_000_000);
    assert.equal(jwtExpiry("opaque-token"), undefined);
  });
});

describe("forescout host mapping", () => {
  const pushed = {
    timestamp: "2026-03-20T10:41:23.966575",
    id: 167772166,
    ip: "10.0.0.6",
    mac: "94f81e5dc6d5",
    hostname: "carescape-b450",
    os_classification: "Windows 7",
    vendor_classification: "GE Healthcare/CARESCAPE B450",
    prim_classification: "Medical/Patient Monitors",
    segment_path: "/Segments/Main Campus/ICU",
    user: "Unknown",
    compliance_state: "N/A",
    segment_name: "",
    openports: ["80/TCP", "443/TCP"],
  };

  test("a timestamp without a zone is UTC, truncated to milliseconds; placeholders are dropped", () => {
    const doc = map("forescout", "host", pushed);
    assert.equal(doc["@timestamp"], "2026-03-20T10:41:23.966Z");
    assert.equal(doc.user, undefined);
    assert.equal(doc.forescout.host.compliance_state, undefined);
    assert.equal(doc.forescout.host.segment_name, undefined);
    assert.deepEqual(doc.host.mac, ["94-F8-1E-5D-C6-D5"]);
    assert.deepEqual(doc.device, { manufacturer: "GE Healthcare", model: { name: "CARESCAPE B450" } });
    assert.equal(doc.host.type, "Patient Monitors");
    assert.equal(doc.host.os.family, "windows");
    assert.equal(doc.medsoc.device.vendor_type, "Patient Monitors");
    assert.equal(doc.medsoc.device.vendor_category, "Medical");
    assert.deepEqual(doc.medsoc.location, { site: "Main Campus", ward: "ICU" });
  });

  test("the pulled Web API form of the same host maps to the same document", () => {
    const ts = Math.floor(Date.parse("2026-03-20T10:41:23Z") / 1000);
    const pulled = {
      id: 167772166,
      ip: "10.0.0.6",
      mac: "94f81e5dc6d5",
      fields: {
        hostname: { timestamp: ts, value: "carescape-b450" },
        os_classification: { timestamp: ts - 3600, value: "Windows 7" },
        vendor_classification: { timestamp: ts - 60, value: "GE Healthcare/CARESCAPE B450" },
        prim_classification: { timestamp: ts - 60, value: "Medical/Patient Monitors" },
        segment_path: { timestamp: String(ts - 5), value: "/Segments/Main Campus/ICU" },
        openports: [
          { timestamp: ts - 10, value: "80/TCP" },
          { timestamp: ts - 10, value: "443/TCP" },
        ],
      },
    };
    const fromPull = map("forescout", "host", pulled);
    const fromPush = map("forescout", "host", { ...pushed, timestamp: "2026-03-20T10:41:23.000000" });
    assert.deepEqual(fromPull, fromPush);
    assert.equal(fromPull["@timestamp"], "2026-03-20T10:41:23.000Z", "the newest property time");
  });
});
