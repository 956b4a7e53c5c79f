import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { advanceCursor } from "../../connectors/cursor-advance.ts";
import type { Cursor } from "../../connectors/types.ts";

interface Rec {
  id: string;
  ts?: string | number | null;
}

const acc = { id: (r: Rec) => r.id, timestamp: (r: Rec) => r.ts };
const ids = (records: Rec[]) => records.map((r) => r.id);

describe("advanceCursor", () => {
  test("first poll: everything survives, cursor at the newest time with its ids", () => {
    const page: Rec[] = [
      { id: "a", ts: "2026-11-28T15:05:00Z" },
      { id: "b", ts: "2026-11-28T15:06:00Z" },
      { id: "c", ts: "2026-11-28T15:06:00.000Z" },
    ];
    const r = advanceCursor(null, page, acc);
    assert.deepEqual(ids(r.records), ["a", "b", "c"]);
    assert.deepEqual(r.cursor, { timestamp: "2026-11-28T15:06:00.000Z", idsAtTimestamp: ["b", "c"] });
    assert.equal(r.undated, 0);
  });

  test("drops boundary ids already handed on and older records; keeps new ids at the boundary", () => {
    const prev: Cursor = { timestamp: "2026-11-28T15:06:00.000Z", idsAtTimestamp: ["b", "c"] };
    const page: Rec[] = [
      { id: "a", ts: "2026-11-28T15:05:00Z" },
      { id: "b", ts: "2026-11-28T15:06:00Z" },
      { id: "c", ts: "2026-11-28T15:06:00Z" },
      { id: "d", ts: "2026-11-28T15:06:00Z" },
    ];
    const r = advanceCursor(prev, page, acc);
    assert.deepEqual(ids(r.records), ["d"]);
    // Same max time: previous ids merged with the new one.
    assert.deepEqual(r.cursor, { timestamp: "2026-11-28T15:06:00.000Z", idsAtTimestamp: ["b", "c", "d"] });
  });

  test("a newer max time replaces the boundary ids", () => {
    const prev: Cursor = { timestamp: "2026-11-28T15:06:00.000Z", idsAtTimestamp: ["b", "c"] };
    const page: Rec[] = [
      { id: "c", ts: "2026-11-28T15:06:00Z" },
      { id: "e", ts: "2026-11-28T15:07:30+01:00" }, // 14:07:30Z: older than the cursor
      { id: "f", ts: "2026-11-28T15:08:00Z" },
      { id: "g", ts: "2026-11-28T15:08:00Z" },
    ];
    const r = advanceCursor(prev, page, acc);
    assert.deepEqual(ids(r.records), ["f", "g"]);
    assert.deepEqual(r.cursor, { timestamp: "2026-11-28T15:08:00.000Z", idsAtTimestamp: ["f", "g"] });
  });

  test("an empty or fully repeated page keeps the cursor", () => {
    const prev: Cursor = { timestamp: "2026-11-28T15:06:00.000Z", idsAtTimestamp: ["b"] };
    assert.deepEqual(advanceCursor(prev, [], acc), { records: [], cursor: prev, undated: 0 });
    const r = advanceCursor(prev, [{ id: "b", ts: "2026-11-28T15:06:00Z" }], acc);
    assert.deepEqual(r.records, []);
    assert.deepEqual(r.cursor, prev);
    assert.deepEqual(advanceCursor(null, [], acc).cursor, { timestamp: null, idsAtTimestamp: [] });
  });

  test("repeats of the same (id, time) within a page are dropped", () => {
    const page: Rec[] = [
      { id: "a", ts: "2026-11-28T15:05:00Z" },
      { id: "a", ts: "2026-11-28T15:05:00.000Z" },
      { id: "a", ts: "2026-11-28T15:05:01Z" },
    ];
    const r = advanceCursor(null, page, acc);
    assert.equal(r.records.length, 2);
    assert.deepEqual(r.cursor, { timestamp: "2026-11-28T15:05:01.000Z", idsAtTimestamp: ["a"] });
  });

  test("epoch milliseconds and Date timestamps work; the cursor is ISO-8601 UTC", () => {
    const ms = Date.UTC(2026, 10, 28, 15, 5);
    const r = advanceCursor(null, [{ id: "a", ts: ms }], acc);
    assert.deepEqual(r.cursor, { timestamp: "2026-11-28T15:05:00.000Z", idsAtTimestamp: ["a"] });
    const d = advanceCursor(null, [new Date(ms)], { id: () => "x", timestamp: (v: Date) => v });
    assert.equal(d.cursor.timestamp, "2026-11-28T15:05:00.000Z");
  });

  test("records without a usable time are kept but do not move the cursor", () => {
    const prev: Cursor = { timestamp: "2026-11-28T15:06:00.000Z", idsAtTimestamp: ["b"] };
    const page: Rec[] = [{ id: "x", ts: null }, { id: "y", ts: "not a date" }, { id: "z" }];
    const r = advanceCursor(prev, page, acc);
    assert.deepEqual(ids(r.records), ["x", "y", "z"]);
    assert.equal(r.undated, 3);
    assert.deepEqual(r.cursor, prev);
  });

  test("does not mutate its inputs", () => {
    const prev: Cursor = Object.freeze({
      timestamp: "2026-11-28T15:06:00.000Z",
      idsAtTimestamp: Object.freeze(["b"]) as string[],
    });
    const page = Object.freeze([{ id: "c", ts: "2026-11-28T15:06:00Z" }]);
    const r = advanceCursor(prev, page, acc);
    assert.deepEqual(r.cursor.idsAtTimestamp, ["b", "c"]);
    assert.deepEqual(prev.idsAtTimestamp, ["b"]);
  });
});
