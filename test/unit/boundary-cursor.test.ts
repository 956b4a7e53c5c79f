import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BoundaryCursor, MICROS_AS_MILLIS, MILLIS, vendorTimeMs } from "../../connectors/boundary-cursor.ts";

describe("BoundaryCursor on both time scales", () => {
  test("milliseconds: inclusive lower bound with the ids already handed on", () => {
    const start = Date.parse("2026-01-01T00:00:00.000Z");
    const c = new BoundaryCursor(
      { timestamp: "2026-01-01T00:00:00.000Z", idsAtTimestamp: ["a"] },
      "x",
      MILLIS,
    );
    assert.equal(c.lowerBound, start);
    assert.equal(c.isNew(start - 1, "z"), false, "older than the bound");
    assert.equal(c.isNew(start, "a"), false, "handed on before this poll");
    assert.equal(c.isNew(start, "b"), true, "same instant, new id");
    c.advance(start, "b");
    assert.deepEqual(c.snapshot(), { timestamp: "2026-01-01T00:00:00.000Z", idsAtTimestamp: ["a", "b"] });
    c.advance(start + 5, "c");
    c.advance(start + 1, "late");
    assert.equal(c.current, start + 5, "an out-of-order record never moves it back");
    assert.deepEqual(c.snapshot(), { timestamp: "2026-01-01T00:00:00.005Z", idsAtTimestamp: ["c"] });
    assert.deepEqual(c.startSnapshot(), { timestamp: "2026-01-01T00:00:00.000Z", idsAtTimestamp: ["a"] });
  });

  test("microseconds written back as milliseconds; jumpTo; differsFrom", () => {
    const c = new BoundaryCursor(null, "x", MICROS_AS_MILLIS);
    assert.equal(c.lowerBound, undefined);
    assert.deepEqual(c.snapshot(), { timestamp: null, idsAtTimestamp: [] });
    const taken = c.snapshot();
    c.advance(1_767_225_600_123_456, "a");
    assert.equal(c.differsFrom(taken), true);
    assert.deepEqual(c.snapshot(), { timestamp: "2026-01-01T00:00:00.123Z", idsAtTimestamp: ["a"] });
    assert.equal(c.differsFrom(c.snapshot()), false);
    c.jumpTo(1_767_225_600_124_000);
    assert.deepEqual(c.snapshot(), { timestamp: "2026-01-01T00:00:00.124Z", idsAtTimestamp: [] });
  });

  test("keepNew keeps new and untimed records in order, drops seen and pre-floor ones", () => {
    const c = new BoundaryCursor(
      { timestamp: "1970-01-01T00:00:00.010Z", idsAtTimestamp: ["a"] },
      "x",
      MILLIS,
    );
    const page = [
      { id: "a", t: 10 }, // handed on before this poll
      { id: "b", t: 10 },
      { id: "n", t: undefined }, // no time: kept, cursor unmoved
      { id: "old", t: 9 }, // before the bound
      { id: "c", t: 12 },
      { id: "c", t: 12 }, // duplicate within the page
      { id: "f", t: 11 }, // out of order: kept, cursor stays at 12
    ];
    const kept = c.keepNew(
      page,
      (r) => r.t,
      (r) => r.id,
    );
    assert.deepEqual(
      kept.records.map((r) => r.id),
      ["b", "n", "c", "f"],
    );
    assert.equal(kept.untimed, 1);
    assert.deepEqual(c.snapshot(), { timestamp: "1970-01-01T00:00:00.012Z", idsAtTimestamp: ["c"] });
    const floored = new BoundaryCursor(null, "x", MILLIS).keepNew(
      [{ t: 5 }, { t: 20 }],
      (r) => r.t,
      () => undefined,
      10,
    );
    assert.deepEqual(floored.records, [{ t: 20 }]);
  });

  test("an unparsable stored cursor is a clear error naming the cursor", () => {
    assert.throws(
      () => new BoundaryCursor({ timestamp: "soon", idsAtTimestamp: [] }, "cynerio asset", MILLIS),
      /reading the cynerio asset cursor: unparsable timestamp "soon"/,
    );
  });

  test("vendorTimeMs reads seconds, milliseconds, numeric strings and zone-less ISO as UTC", () => {
    assert.equal(vendorTimeMs(1_767_225_600), 1_767_225_600_000);
    assert.equal(vendorTimeMs(1_767_225_600_000), 1_767_225_600_000);
    assert.equal(vendorTimeMs("1767225600"), 1_767_225_600_000);
    assert.equal(vendorTimeMs("2026-01-01 00:00:00"), 1_767_225_600_000);
    assert.equal(vendorTimeMs(""), undefined);
    assert.equal(vendorTimeMs(-5), undefined);
  });
});
