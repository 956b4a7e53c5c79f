import type { Cursor } from "./types.ts";

/** How to read a vendor record's id and time. */
export interface RecordAccessors<R> {
  /** The vendor id (stable across polls). */
  id(record: R): string;
  /**
   * The time the vendor filters on: an ISO-8601 string, epoch milliseconds or a Date. Missing or
   * unparsable values return `undefined`/`null` or anything `Date.parse` rejects.
   */
  timestamp(record: R): string | number | Date | null | undefined;
}

export interface AdvanceResult<R> {
  /** The page's records minus those already handed on, in page order. */
  records: R[];
  /** The cursor to store once `records` are durably enqueued. */
  cursor: Cursor;
  /**
   * Records without a usable timestamp. They are kept in `records` (never dropped silently) but do
   * not move the cursor; the caller should log them.
   */
  undated: number;
}

/**
 * Boundary de-duplication for one page (pure: no I/O, no clock). The vendor was queried with an
 * inclusive lower bound `previous.timestamp`, possibly at coarser precision, so the page may repeat
 * records already handed on. A record survives when its time is after `previous.timestamp`, or equal
 * to it with an id not in `previous.idsAtTimestamp`; records before it were handed on by an earlier
 * poll. Repeats of the same (id, time) within the page are dropped too.
 *
 * The next cursor is `{timestamp: newest time, idsAtTimestamp: ids at that time}`, merged with the
 * previous ids when the newest time equals the previous one. Times compare at millisecond precision
 * and the cursor stores them as ISO-8601 UTC (`Date.toISOString()`).
 */
export function advanceCursor<R>(
  previous: Cursor | null,
  records: readonly R[],
  accessors: RecordAccessors<R>,
): AdvanceResult<R> {
  const prevMs = previous?.timestamp ? toMs(previous.timestamp) : undefined;
  const prevIds = new Set(previous?.idsAtTimestamp ?? []);
  const survivors: R[] = [];
  const seen = new Set<string>();
  let undated = 0;
  let maxMs = prevMs;
  let idsAtMax = new Set(prevIds);

  for (const record of records) {
    const id = accessors.id(record);
    const ms = toMs(accessors.timestamp(record));
    if (ms === undefined) {
      undated++;
      survivors.push(record);
      continue;
    }
    if (prevMs !== undefined && (ms < prevMs || (ms === prevMs && prevIds.has(id)))) continue;
    const pair = `${ms} ${id}`;
    if (seen.has(pair)) continue;
    seen.add(pair);
    survivors.push(record);
    if (maxMs === undefined || ms > maxMs) {
      maxMs = ms;
      idsAtMax = new Set([id]);
    } else if (ms === maxMs) {
      idsAtMax.add(id);
    }
  }

  const cursor: Cursor =
    maxMs === undefined
      ? { timestamp: previous?.timestamp ?? null, idsAtTimestamp: [...prevIds] }
      : { timestamp: new Date(maxMs).toISOString(), idsAtTimestamp: [...idsAtMax] };
  return { records: survivors, cursor, undated };
}

function toMs(value: string | number | Date | null | undefined): number | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  const ms = value instanceof Date ? value.getTime() : typeof value === "number" ? value : Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}
