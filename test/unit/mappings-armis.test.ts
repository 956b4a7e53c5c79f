import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { PermanentError } from "../../core/errors.ts";
import { stampStream } from "../../mappings/stream.ts";
import {
  createLineMapper,
  getMapper,
  listStreams,
  MappingError,
  mapRecord,
  pipelineErrorDocument,
  registry,
  UnknownStreamError,
} from "../../monitors/index.ts";
import { formatProblems, REFERENCE_DATA_DIR, validateEcs } from "../helpers/ecs.ts";

const INGESTED_AT = "2025-04-14T10:58:03.000Z";
const FIXTURES = join(REFERENCE_DATA_DIR, "elastic", "fixtures", "armis");
const deviceLine = readFileSync(join(FIXTURES, "device", "test-device.log"), "utf8").split("\n")[0] as string;
const alertLine = readFileSync(join(FIXTURES, "alert", "test-alert.log"), "utf8").split("\n")[0] as string;
const device = (): Record<string, unknown> => JSON.parse(deviceLine);
const alert = (): Record<string, unknown> => JSON.parse(alertLine);
const opts = { ingestedAt: INGESTED_AT };

describe("mappings registry", () => {
  it("lists the Armis streams explicitly", () => {
    assert.deepEqual(
      listStreams().filter((s) => s.source === "armis"),
      [
        { source: "armis", stream: "device" },
        { source: "armis", stream: "alert" },
        { source: "armis", stream: "vulnerability" },
      ],
    );
    // getMapper wraps the registry's mapper once (syslog CEF/LEEF records → mappings/syslog); REST
    // records map exactly as the registry's mapper maps them, then get their SIEM stream stamped.
    assert.equal(getMapper("armis", "device"), getMapper("armis", "device"));
    const ctx = { source: "armis", stream: "device", ingestedAt: INGESTED_AT };
    const raw = (registry.armis?.device ?? assert.fail("no armis/device mapping"))(device(), ctx);
    assert.equal(raw.data_stream, undefined);
    stampStream(raw);
    assert.deepEqual(getMapper("armis", "device")(device(), ctx), raw);
  });
  it("refuses unknown pairs with a permanent error listing the valid ones", () => {
    for (const [source, stream] of [
      ["armis", "nope"],
      ["nope", "device"],
      ["armis", "constructor"],
      ["__proto__", "device"],
    ] as const) {
      assert.throws(
        () => getMapper(source, stream),
        (error: unknown) =>
          error instanceof UnknownStreamError &&
          error instanceof PermanentError &&
          error.message.includes("armis/device, armis/alert, armis/vulnerability"),
      );
    }
  });
});

describe("armis mappings", () => {
  it("maps a device snapshot as an asset with every ECS field valid", () => {
    const doc = mapRecord("armis", "device", device(), opts);
    assert.equal(doc.event.kind, "asset");
    assert.equal(doc["@timestamp"], "2025-03-29T02:02:09.124Z");
    assert.deepEqual(doc.event.category, ["host"]);
    assert.equal(doc.event.dataset, "medsoc.device");
    // event.module names the integration package (Elastic: `armis` for armis.*), medsoc's is `medsoc`.
    assert.equal(doc.event.module, "medsoc");
    assert.deepEqual(doc.data_stream, { type: "logs", dataset: "medsoc.device", namespace: "default" });
    assert.equal(doc.event.ingested, INGESTED_AT);
    assert.deepEqual(doc.host, {
      id: "469",
      ip: ["175.16.199.0"],
      mac: ["46-A7-4B-5D-B0-76"],
      name: ["49f9ef97_1b8"],
      // host.os.type: the family when ECS allows it as an OS type (Elastic's armis pipeline).
      os: { family: "windows", type: "windows", version: "Server 2016 Standard" },
      risk: { static_score: 80 },
      type: "Computers",
    });
    assert.deepEqual(doc.observer, { vendor: "Armis", product: "Asset Management and Security" });
    assert.equal(doc.medsoc.source, "armis");
    assert.equal(doc.medsoc.stream, "device");
    assert.equal(doc.event.original, undefined, "event.original only when asked for");
    assert.deepEqual(validateEcs(doc), [], formatProblems(validateEcs(doc)));
  });

  it("keeps the raw line in event.original when asked to", () => {
    const doc = createLineMapper("armis", "device")(deviceLine, { ...opts, preserveOriginal: true });
    assert.equal(doc.event.original, deviceLine);
    const fromRecord = mapRecord("armis", "alert", alert(), { ...opts, preserveOriginal: true });
    assert.deepEqual(JSON.parse(fromRecord.event.original as string), alert());
  });

  it("derives the same doc_id for re-delivery and for number/string drift, another for another time", () => {
    const a = mapRecord("armis", "device", device(), opts);
    const b = mapRecord(
      "armis",
      "device",
      { ...device(), id: "469" },
      { ingestedAt: "2030-01-01T00:00:00.000Z" },
    );
    const c = mapRecord(
      "armis",
      "device",
      { ...device(), lastSeen: "2025-03-29T02:02:10.000000+00:00" },
      opts,
    );
    assert.equal(a.medsoc.doc_id, b.medsoc.doc_id);
    assert.notEqual(a.medsoc.doc_id, c.medsoc.doc_id);
    const alertA = mapRecord("armis", "alert", alert(), opts);
    const alertB = mapRecord("armis", "alert", { ...alert(), alertId: "71", status: "Resolved" }, opts);
    assert.equal(alertA.medsoc.doc_id, alertB.medsoc.doc_id, "same (alertId, time) as Elastic's fingerprint");
    assert.notEqual(alertA.medsoc.doc_id, a.medsoc.doc_id);
  });

  it("does not mutate the vendor record", () => {
    const record = device();
    const before = JSON.stringify(record);
    mapRecord("armis", "device", record, opts);
    assert.equal(JSON.stringify(record), before);
  });

  it("maps an alert with severity, rule, hosts and technique", () => {
    const doc = mapRecord("armis", "alert", { ...alert(), severity: "medium", policyLabels: "One" }, opts);
    assert.equal(doc.event.kind, "alert");
    assert.equal(doc.event.severity, 47);
    assert.equal(doc.event.id, "71");
    assert.deepEqual(doc.host, { id: ["19", "469"] });
    assert.deepEqual(doc.rule, { id: "345", name: "Unusual Network Scanning Activity" });
    assert.deepEqual((doc.armis as { alert: { policy_labels: unknown } }).alert.policy_labels, ["One"]);
  });

  it("maps a vulnerability match to a vulnerability event on the matched device", () => {
    const doc = mapRecord(
      "armis",
      "vulnerability",
      {
        id: "CVE-2023-40455",
        cvssScore: 10,
        severity: "Critical",
        description: "d",
        lastDetected: "2025-04-03T13:08:51.667361+00:00",
        vulnerability_match: { deviceId: 109, lastDetected: "2025-04-03T10:38:59.297015+00:00" },
      },
      opts,
    );
    assert.equal(doc.event.kind, "event");
    assert.deepEqual(doc.event.category, ["vulnerability"]);
    assert.deepEqual(doc.event.type, ["info"]);
    assert.equal(doc["@timestamp"], "2025-04-03T10:38:59.297Z");
    assert.deepEqual(doc.vulnerability, {
      id: "CVE-2023-40455",
      enumeration: "CVE",
      classification: "CVSS",
      scanner: { vendor: "Armis" },
      score: { base: 10 },
      severity: "Critical",
      description: "d",
    });
    assert.deepEqual(doc.host, { id: "109" });
    assert.deepEqual(validateEcs(doc), []);
  });

  it("leaves out vendor fields copied to ECS by default and keeps them with preserveDuplicateVendorFields", () => {
    const lean = mapRecord("armis", "device", device(), opts);
    const full = mapRecord("armis", "device", device(), { ...opts, preserveDuplicateVendorFields: true });
    const leanVendor = (lean.armis as { device: Record<string, unknown> }).device;
    const fullVendor = (full.armis as { device: Record<string, unknown> }).device;
    // (a) default: the MAC is in host.mac only
    assert.deepEqual((lean.host as { mac: unknown }).mac, ["46-A7-4B-5D-B0-76"]);
    assert.equal(leanVendor.mac_address, undefined);
    // (b) with the flag: in both
    assert.deepEqual((full.host as { mac: unknown }).mac, ["46-A7-4B-5D-B0-76"]);
    assert.deepEqual(fullVendor.mac_address, ["46:A7:4B:5D:B0:76"]);
    const dropped = [
      "category",
      "first_seen",
      "id",
      "ip_address",
      "last_seen",
      "mac_address",
      "manufacturer",
      "model",
      "names",
      "operating_system",
      "operating_system_version",
      "risk_level",
      "user_ids",
    ];
    for (const key of dropped) {
      assert.equal(leanVendor[key], undefined, key);
      assert.notEqual(fullVendor[key], undefined, key);
    }
    assert.deepEqual(
      Object.keys(fullVendor).filter((k) => !dropped.includes(k)),
      Object.keys(leanVendor),
    );
    // Everything outside the vendor namespace is the same in both modes.
    const { armis: _a, ...leanEcs } = lean;
    const { armis: _b, ...fullEcs } = full;
    assert.deepEqual(leanEcs, fullEcs);
    for (const doc of [lean, full]) assert.deepEqual(validateEcs(doc), [], formatProblems(validateEcs(doc)));
  });

  it("keeps a duplicated vendor field when its ECS copy lost something", () => {
    const record = {
      ...device(),
      macAddress: ["46:A7:4B:5D:B0:76", "not-a-mac"],
      ipAddress: ["175.16.199.0", "not-an-ip"],
      names: ["A", 7],
      model: ["two", "models"],
    };
    const vendor = (mapRecord("armis", "device", record, opts).armis as { device: Record<string, unknown> })
      .device;
    assert.deepEqual(vendor.mac_address, ["46:A7:4B:5D:B0:76", "not-a-mac"]);
    assert.deepEqual(vendor.ip_address, ["175.16.199.0", "not-an-ip"]);
    assert.deepEqual(vendor.names, ["A", 7]);
    assert.deepEqual(vendor.model, ["two", "models"]);
    assert.equal(vendor.id, undefined);
  });

  it("leaves out duplicated alert and vulnerability fields but keeps the alert severity label", () => {
    const lean = mapRecord("armis", "alert", alert(), opts);
    const vendor = (lean.armis as { alert: Record<string, unknown> }).alert;
    for (const key of [
      "alert_id",
      "description",
      "device_ids",
      "mitre_attack_labels",
      "policy_id",
      "policy_title",
      "time",
    ]) {
      assert.equal(vendor[key], undefined, key);
    }
    assert.equal(vendor.severity, "Critical");
    assert.equal(vendor.title, "[Threat] Heavy Port Scan in Network");
    const full = mapRecord("armis", "alert", alert(), { ...opts, preserveDuplicateVendorFields: true });
    assert.equal((full.armis as { alert: Record<string, unknown> }).alert.alert_id, "71");

    const vulnerability = {
      id: "CVE-2023-40455",
      cveUid: "CVE-2023-40455",
      cvssScore: 10,
      score: 10,
      severity: "Critical",
      status: "Open",
      description: "d",
      lastDetected: "2025-04-03T13:08:51.667361+00:00",
      vulnerability_match: {
        deviceId: 109,
        lastDetected: "2025-04-03T10:38:59.297015+00:00",
        status: "Open",
      },
    };
    const v = mapRecord("armis", "vulnerability", vulnerability, opts);
    assert.deepEqual((v.armis as { vulnerability: unknown }).vulnerability, {
      last_detected: "2025-04-03T13:08:51.667Z",
      score: 10,
      status: "Open",
      vulnerability_match: { status: "Open" },
    });
    const vFull = mapRecord("armis", "vulnerability", vulnerability, {
      ...opts,
      preserveDuplicateVendorFields: true,
    });
    assert.equal(
      (vFull.armis as { vulnerability: { vulnerability_match: { device_id: string } } }).vulnerability
        .vulnerability_match.device_id,
      "109",
    );
    for (const doc of [lean, full, v, vFull]) assert.deepEqual(validateEcs(doc), []);
  });

  it("throws a typed MappingError for records it cannot map", () => {
    const cases: Array<[string, unknown, string]> = [
      ["device", [1, 2], "not_an_object"],
      ["device", "x", "not_an_object"],
      ["device", null, "not_an_object"],
      ["device", { name: "no identity", lastSeen: "N/A" }, "missing_identity"],
      ["alert", { title: "no identity" }, "missing_identity"],
      ["vulnerability", { description: "no CVE" }, "invalid_record"],
    ];
    for (const [stream, record, code] of cases) {
      assert.throws(
        () => mapRecord("armis", stream, record, opts),
        (error: unknown) =>
          error instanceof MappingError && error instanceof PermanentError && error.code === code,
        `${stream} ${JSON.stringify(record)}`,
      );
    }
  });

  it("never leaves null, empty strings, empty arrays or empty objects", () => {
    const record = {
      ...device(),
      accessSwitch: null,
      customProperties: {},
      ipv6: [],
      userIds: [],
      tags: [""],
      manufacturer: "Unknown",
      sensor: { name: "", type: null },
    };
    const doc = mapRecord("armis", "device", record, opts);
    const walk = (v: unknown, path: string): void => {
      assert.notEqual(v, null, path);
      assert.notEqual(v, "", path);
      assert.notEqual(v, undefined, path);
      if (Array.isArray(v)) {
        assert.ok(v.length > 0, path);
        for (const [i, x] of v.entries()) walk(x, `${path}[${i}]`);
      } else if (typeof v === "object" && v !== null) {
        assert.ok(Object.keys(v).length > 0, path);
        for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
      }
    };
    walk(doc, "doc");
    assert.equal((doc.device as Record<string, unknown>).manufacturer, undefined);
  });
});

describe("pipelineErrorDocument", () => {
  const ctx = { source: "armis", stream: "alert", ingestedAt: INGESTED_AT };
  it("keeps the raw line and the reason, with a deterministic id", () => {
    const doc = pipelineErrorDocument("{oops", new MappingError("malformed_json", "parsing JSON: boom"), ctx);
    assert.equal(doc.event.kind, "pipeline_error");
    assert.equal(doc.event.original, "{oops");
    assert.equal(doc["@timestamp"], INGESTED_AT);
    assert.deepEqual(doc.error, {
      message: "parsing JSON: boom",
      type: "MappingError",
      code: "malformed_json",
    });
    assert.equal(doc.medsoc.source, "armis");
    assert.equal(doc.medsoc.stream, "alert");
    const again = pipelineErrorDocument("{oops", "other reason", {
      ...ctx,
      ingestedAt: "2030-01-01T00:00:00.000Z",
    });
    assert.equal(again.medsoc.doc_id, doc.medsoc.doc_id);
    assert.deepEqual(again.error, { message: "other reason", type: "MappingError" });
    assert.deepEqual(validateEcs(doc), []);
  });
  it("records the class of an unexpected error", () => {
    const doc = pipelineErrorDocument("x", new TypeError("bad"), ctx);
    assert.deepEqual(doc.error, { message: "bad", type: "TypeError" });
  });
  it("turns every kind of bad line into a pipeline_error via the line mapper", () => {
    const map = createLineMapper("armis", "alert");
    for (const [line, code] of [
      ["", "empty_line"],
      ["   ", "empty_line"],
      ["{not json", "malformed_json"],
      ["42", "not_an_object"],
      ['{"title":"x"}', "missing_identity"],
    ] as const) {
      const doc = map(line, opts);
      assert.equal(doc.event.kind, "pipeline_error", line);
      assert.equal((doc.error as { code: string }).code, code, line);
      assert.deepEqual(validateEcs(doc), [], line);
    }
  });
});
