import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  bool,
  docId,
  ipList,
  isIpAddress,
  lowerList,
  mac,
  macList,
  num,
  severityScore,
  str,
  stringCount,
  strList,
  timestamp,
  union,
} from "../../mappings/values.ts";
import { compileObject, fieldTable, snakeCase, vendorObject } from "../../mappings/vendor-fields.ts";

describe("mappings/values: timestamp", () => {
  const cases: Array<[unknown, string | undefined]> = [
    ["2025-03-29T02:02:09.124100+00:00", "2025-03-29T02:02:09.124Z"], // Armis: microseconds, +00:00
    ["2025-03-29T02:02:09.124999+00:00", "2025-03-29T02:02:09.124Z"], // truncated, like Elasticsearch
    ["2025-03-29T03:02:09.124100+01:00", "2025-03-29T02:02:09.124Z"], // other offset
    ["2025-03-29T02:02:09.1+00:00", "2025-03-29T02:02:09.100Z"],
    ["2025-03-29T02:02:09Z", "2025-03-29T02:02:09.000Z"],
    ["2025-03-29 02:02:09", "2025-03-29T02:02:09.000Z"], // naive: UTC, whatever the machine's zone
    ["2025-03-29T02:02:09-0500", "2025-03-29T07:02:09.000Z"],
    ["2025-03-29", "2025-03-29T00:00:00.000Z"],
    ["Tue, 18 Feb 2025 00:29:19 GMT", "2025-02-18T00:29:19.000Z"], // RFC 1123 (protections[])
    ["Tue, 18 Feb 2025 01:29:19 +0100", "2025-02-18T00:29:19.000Z"],
    [1743213729124, "2025-03-29T02:02:09.124Z"], // epoch ms
    [1743213729, "2025-03-29T02:02:09.000Z"], // epoch s
    ["1743213729", "2025-03-29T02:02:09.000Z"],
    ["  2025-03-29T02:02:09Z ", "2025-03-29T02:02:09.000Z"],
    ["2024-02-29T00:00:00+00:00", "2024-02-29T00:00:00.000Z"], // leap day
    ["2025-02-29T00:00:00+00:00", undefined], // not a leap year
    ["2025-02-30T00:00:00.000Z", undefined], // Date would roll over to March
    ["Sun, 30 Feb 2025 00:29:19 GMT", undefined],
    ["2025-13-01T00:00:00Z", undefined],
    ["2025-03-29T24:00:00.000000+00:00", undefined],
    ["1970-01-01T01:00:00.000+01:00", undefined], // epoch zero is a placeholder
    [0, undefined],
    ["Unknown", undefined],
    ["", undefined],
    ["yesterday", undefined],
    ["03/29/2025 02:02", undefined], // no zone: refused rather than read in local time
    [null, undefined],
    [{}, undefined],
    [Number.NaN, undefined],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${expected}`, () => assert.equal(timestamp(input), expected));
  }
});

describe("mappings/values: MAC and IP", () => {
  it("normalises MACs to upper-case dash form from any common notation", () => {
    assert.equal(mac("46:A7:4B:5D:B0:76"), "46-A7-4B-5D-B0-76");
    assert.equal(mac("46:a7:4b:5d:b0:76"), "46-A7-4B-5D-B0-76");
    assert.equal(mac("46-a7-4b-5d-b0-76"), "46-A7-4B-5D-B0-76");
    assert.equal(mac("11228675748e"), "11-22-86-75-74-8E");
    assert.equal(mac("1122.8675.748e"), "11-22-86-75-74-8E");
    assert.equal(mac(" 11:22:86:75:74:8e "), "11-22-86-75-74-8E");
  });
  it("rejects what is not six bytes of hex", () => {
    for (const bad of [
      "",
      "11:22:33:44:55",
      "11:22:33:44:55:66:77",
      "zz:22:33:44:55:66",
      112233445566,
      null,
    ]) {
      assert.equal(mac(bad), undefined, JSON.stringify(bad));
    }
  });
  it("keeps valid MACs of a list, de-duplicated", () => {
    assert.deepEqual(macList(["aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF", "bad"]), ["AA-BB-CC-DD-EE-FF"]);
    assert.equal(macList(["bad"]), undefined);
  });
  it("accepts IPv4 and IPv6, refuses the rest", () => {
    for (const ok of ["175.16.199.0", "0.0.0.0", "255.255.255.255", "::ffff:175.16.199.0", "fe80::1"]) {
      assert.ok(isIpAddress(ok), ok);
    }
    for (const bad of ["256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "a.b.c.d", "", "fe80::zz"]) {
      assert.ok(!isIpAddress(bad), bad);
    }
    assert.deepEqual(ipList(["10.0.0.1", "nope", "fe80::1"]), ["10.0.0.1", "fe80::1"]);
    assert.deepEqual(ipList("10.0.0.1"), ["10.0.0.1"]);
    assert.equal(ipList(["nope"]), undefined);
  });
});

describe("mappings/values: coercion", () => {
  it("str turns numbers into strings and drops placeholders", () => {
    assert.equal(str(469), "469");
    assert.equal(str("469"), "469");
    assert.equal(str("  x "), "x");
    for (const p of ["", " ", "-", "N/A", "Unknown", "unknown", "Irresolvable", null, undefined, {}, []]) {
      assert.equal(str(p), undefined, JSON.stringify(p));
    }
  });
  it("num reads numeric strings and refuses the rest", () => {
    assert.equal(num("80"), 80);
    assert.equal(num(" 4.5 "), 4.5);
    assert.equal(num(80), 80);
    for (const bad of ["high", "", "N/A", null, Number.POSITIVE_INFINITY, true])
      assert.equal(num(bad), undefined);
  });
  it("bool reads the usual spellings", () => {
    assert.equal(bool("true"), true);
    assert.equal(bool("No"), false);
    assert.equal(bool(1), true);
    assert.equal(bool("maybe"), undefined);
  });
  it("lists accept a scalar or an array and drop empties and duplicates", () => {
    assert.deepEqual(strList("Threat Detection"), ["Threat Detection"]);
    assert.deepEqual(strList([19, "19", 469, null, ""]), ["19", "469"]);
    assert.equal(strList([]), undefined);
    assert.equal(strList(null), undefined);
    assert.deepEqual(lowerList(["PUMP-A", "pump-a"]), ["pump-a"]);
    assert.deepEqual(union(["a"], ["b", "a"]), ["a", "b"]);
  });
  it("maps the four severity labels in any case", () => {
    assert.equal(severityScore("Low"), 21);
    assert.equal(severityScore("medium"), 47);
    assert.equal(severityScore("HIGH"), 73);
    assert.equal(severityScore(" Critical "), 99);
    assert.equal(severityScore("Info"), undefined);
    assert.equal(severityScore(99), undefined);
  });
  it("docId is a stable SHA-256 hex", () => {
    assert.equal(docId("armis", "device", "469", "t"), docId("armis", "device", "469", "t"));
    assert.notEqual(docId("armis", "device", "469", "t"), docId("armis", "device", "470", "t"));
    assert.match(docId("x"), /^[0-9a-f]{64}$/);
  });
});

describe("mappings/vendor-fields", () => {
  it("snake_cases keys", () => {
    assert.equal(snakeCase("statusChangeTime"), "status_change_time");
    assert.equal(snakeCase("cvssScoreV4"), "cvss_score_v4");
    assert.equal(snakeCase("HTTPServer"), "http_server");
    assert.equal(snakeCase("already_snake"), "already_snake");
    assert.equal(snakeCase("Bed Number"), "bed_number");
  });
  it("converts recursively, coerces by table and drops empties", () => {
    const table = fieldTable({ deviceId: "id", seen: "date", labels: "list", score: "num" });
    const out = vendorObject(
      {
        deviceId: 7,
        seen: "Tue, 18 Feb 2025 00:29:19 GMT",
        labels: "one",
        score: "9.5",
        nested: { innerKey: "N/A", list: [null, "", {}], ok: { deepKey: 1 } },
        empty: {},
        nothing: null,
      },
      table,
    );
    assert.deepEqual(out, {
      device_id: "7",
      seen: "2025-02-18T00:29:19.000Z",
      labels: ["one"],
      score: 9.5,
      nested: { ok: { deep_key: 1 } },
    });
  });
  it("refuses hostile nesting with a MappingError", () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 100; i++) {
      const next = {};
      deep.a = next;
      deep = next;
    }
    deep.leaf = 1;
    assert.throws(() => vendorObject(root, fieldTable({})), { name: "MappingError", code: "invalid_record" });
  });
  it("compiles an object shape: known fields in schema order, omit bits, nested shapes, unknown keys last", () => {
    const table = fieldTable({ seen: "date", deviceId: "id", ipv6: { name: "ip_v6", kind: "list" } });
    const inner = compileObject(["name", "deviceId"], table);
    const convert = compileObject(
      ["seen", { key: "ipv6", omit: 1 }, { key: "userIds", kind: "ids" }, { key: "site", kind: inner }],
      table,
    );
    const record = {
      extraField: { deepKey: "N/A", kept: 2 },
      site: [{ name: " a ", deviceId: 4, other: "x" }, "plain", null],
      userIds: [3, "3", 4],
      ipv6: "::1",
      seen: "2025-03-29T00:00:00.250000+00:00",
    };
    const out = convert(record);
    assert.deepEqual(out, {
      seen: "2025-03-29T00:00:00.250Z",
      ip_v6: ["::1"],
      user_ids: ["3", "4"],
      site: [{ name: "a", device_id: "4", other: "x" }, "plain"],
      extra_field: { kept: 2 },
    });
    assert.deepEqual(Object.keys(out ?? {}), ["seen", "ip_v6", "user_ids", "site", "extra_field"]);
    assert.equal(convert(record, 1)?.ip_v6, undefined, "omit bit 1 leaves ipv6 out");
    assert.equal(convert({ seen: null, userIds: "", junk: "N/A" }), undefined, "nothing left");
    assert.throws(() => compileObject([{ key: "a", name: "x; process.exit()" }], table), /plain identifier/);
  });
});

describe("mappings/values: stringCount", () => {
  it("counts non-placeholder strings and gives -1 for anything else", () => {
    assert.equal(stringCount("a"), 1);
    assert.equal(stringCount(" N/A "), 0);
    assert.equal(stringCount(undefined), 0);
    assert.equal(stringCount(null), 0);
    assert.equal(stringCount(["a", "", null, "b", "-"]), 2);
    assert.equal(stringCount(["a", 1]), -1);
    assert.equal(stringCount(["a", ["b"]]), -1);
    assert.equal(stringCount(7), -1);
    assert.equal(stringCount({ a: "b" }), -1);
  });
});
