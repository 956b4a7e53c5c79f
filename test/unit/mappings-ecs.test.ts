import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadEcsFields, validateEcs } from "../helpers/ecs.ts";

const valid = {
  "@timestamp": "2025-03-29T02:02:09.124Z",
  event: { kind: "asset", category: ["host"], type: ["change", "device"], severity: 73 },
  host: {
    id: "469",
    ip: ["175.16.199.0", "::ffff:175.16.199.0"],
    mac: ["46-A7-4B-5D-B0-76"],
    risk: { static_score: 80 },
  },
  medsoc: { anything: { goes: [1, "x"] } },
  armis: { device: { whatever: true } },
};

describe("test/helpers/ecs: validateEcs", () => {
  it("loads the ECS 9.4.0 field list", () => {
    const fields = loadEcsFields();
    assert.ok(fields.size > 2000);
    assert.equal(fields.get("host.ip")?.type, "ip");
  });
  it("accepts a valid document, custom namespaces and event.type device with host", () => {
    assert.deepEqual(validateEcs(valid), []);
  });
  it("reports unknown fields, wrong types, bad enums and empty values", () => {
    const problems = validateEcs({
      "@timestamp": "not a date",
      event: { kind: "signal2", category: ["host"], type: ["indicator"], severity: "high", original: "" },
      host: { ip: ["999.1.1.1"], nonsense: "x", risk: { static_score: "80" } },
      related: { hosts: [] },
      medsoc: {},
    });
    const fields = problems.map((p) => p.field).sort();
    assert.deepEqual(fields, [
      "@timestamp",
      "event.kind",
      "event.original",
      "event.severity",
      "event.type",
      "host.ip",
      "host.nonsense",
      "host.risk.static_score",
      "related.hosts",
    ]);
  });
  it("takes the custom namespaces as a parameter", () => {
    const doc = { "@timestamp": "2025-01-01T00:00:00.000Z", vendorx: { a: 1 } };
    assert.equal(validateEcs(doc).length, 1);
    assert.deepEqual(validateEcs(doc, { customNamespaces: ["vendorx"] }), []);
  });
  it("checks integer types and object-typed fields", () => {
    const problems = validateEcs({
      "@timestamp": "2025-01-01T00:00:00.000Z",
      process: { pid: 1.5 },
      labels: { team: "soc" },
    });
    assert.deepEqual(
      problems.map((p) => p.field),
      ["process.pid"],
    );
  });
});
