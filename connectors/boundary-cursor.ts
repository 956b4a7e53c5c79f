/**
 * Cursor bookkeeping shared by every connector whose API filters with an inclusive lower bound on
 * a record time (monitors.md §1 rule 1, DESIGN.md "Contracts"): the cursor is the newest time
 * handed on plus the ids already handed on at exactly that time.
 *
 * One class serves two time scales, chosen by the `parse`/`format` pair given to it:
 * - epoch microseconds (the default: Armis, xDome, PANW IoT), so microsecond vendor timestamps
 *   keep their tie-break precision, which a `Date` would round away;
 * - epoch milliseconds ({@link MILLIS}: Cynerio epoch seconds, Asimily milliseconds).
 */
import { PermanentError } from "../core/errors.ts";
import type { Cursor } from "./types.ts";

const TS_RE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * An ISO-8601 timestamp as epoch microseconds, with or without fractional seconds, with `Z`, an
 * offset or no zone (UTC). Undefined when unparsable.
 */
export function isoToMicros(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const m = TS_RE.exec(value.trim());
  if (!m) return undefined;
  const raw = m[4];
  const zone = raw === undefined ? "Z" : raw.length === 5 ? `${raw.slice(0, 3)}:${raw.slice(3)}` : raw;
  const ms = Date.parse(`${m[1]}T${m[2]}${zone.toUpperCase()}`);
  if (Number.isNaN(ms)) return undefined;
  const micros = m[3] === undefined ? 0 : Number(m[3].padEnd(6, "0").slice(0, 6));
  return ms * 1000 + micros;
}

/** Epoch microseconds as `YYYY-MM-DDTHH:MM:SS.ffffffZ`. */
export function microsToIsoMicros(us: number): string {
  const sec = Math.floor(us / 1_000_000);
  const frac = us - sec * 1_000_000;
  return `${new Date(sec * 1000).toISOString().slice(0, 19)}.${String(frac).padStart(6, "0")}Z`;
}

/** Epoch microseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ` (sub-millisecond digits dropped). */
export function microsToIsoMillis(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString();
}

/** Epoch milliseconds from epoch seconds, epoch milliseconds, a numeric string or ISO-8601; undefined otherwise. */
export function vendorTimeMs(value: unknown): number | undefined {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value <= 0) return undefined;
    // Below 1e11 the number can only be seconds (1e11 s is the year 5138; 1e11 ms is 1973).
    return Math.round(Math.abs(value) < 1e11 ? value * 1000 : value);
  }
  if (typeof value !== "string") return undefined;
  const s = value.trim();
  if (s === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return vendorTimeMs(Number(s));
  // No zone means UTC (monitors.md §1 rule 6).
  const iso = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s) ? `${s.replace(" ", "T")}Z` : s;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) || ms <= 0 ? undefined : ms;
}

/** Epoch milliseconds as the cursor's canonical `YYYY-MM-DDTHH:MM:SS.mmmZ`. */
export function msToIso(ms: number): string {
  return new Date(ms).toISOString();
}

/** How a cursor's stored timestamp is read and written, in the time unit of the stream. */
export interface CursorScale {
  /** The stored timestamp in the stream's unit; undefined when unparsable. */
  parse(timestamp: string): number | undefined;
  /** The stream's unit back to the stored timestamp. */
  format(t: number): string;
}

/** Epoch microseconds, written back with all six fraction digits. */
export const MICROS: CursorScale = { parse: isoToMicros, format: microsToIsoMicros };

/** Epoch microseconds, written back with milliseconds only (PANW IoT's `stime` precision). */
export const MICROS_AS_MILLIS: CursorScale = { parse: isoToMicros, format: microsToIsoMillis };

/** Epoch milliseconds (any `Date.parse`-able stored timestamp), written back as `msToIso`. */
export const MILLIS: CursorScale = {
  parse: (timestamp) => {
    const ms = Date.parse(timestamp);
    return Number.isNaN(ms) ? undefined : ms;
  },
  format: msToIso,
};

/** Cursor bookkeeping for one poll (see the module comment). Times are in the unit of its scale. */
export class BoundaryCursor {
  readonly #start: number | undefined;
  readonly #startIds: ReadonlySet<string>;
  readonly #format: (t: number) => string;
  #t: number | undefined;
  #ids: Set<string>;

  /**
   * @param cursor the stored cursor (null before the first poll)
   * @param component lowercase name used in the error for an unparsable stored cursor ("cynerio asset")
   * @param scale the time unit and how the timestamp is stored @defaultValue {@link MICROS}
   */
  constructor(cursor: Cursor | null, component: string, scale: CursorScale = MICROS) {
    const t = cursor?.timestamp ? scale.parse(cursor.timestamp) : undefined;
    if (cursor?.timestamp && t === undefined)
      throw new PermanentError(
        `reading the ${component} cursor: unparsable timestamp ${JSON.stringify(cursor.timestamp)}`,
      );
    this.#format = scale.format;
    this.#start = t;
    this.#startIds = new Set(t === undefined ? [] : cursor?.idsAtTimestamp);
    this.#t = t;
    this.#ids = new Set(this.#startIds);
  }

  /** The stored cursor time (the next query's inclusive lower bound), if any. */
  get lowerBound(): number | undefined {
    return this.#start;
  }

  /** The ids stored with the cursor. */
  get startIds(): ReadonlySet<string> {
    return this.#startIds;
  }

  /** Newest time handed on so far in this poll (or the stored one). */
  get current(): number | undefined {
    return this.#t;
  }

  /** False when the record was already handed on (before this poll or earlier in it). */
  isNew(t: number, id: string | undefined): boolean {
    if (this.#start !== undefined) {
      if (t < this.#start) return false;
      if (t === this.#start && id !== undefined && this.#startIds.has(id)) return false;
    }
    if (t === this.#t && id !== undefined && this.#ids.has(id)) return false;
    return true;
  }

  /** Records a handed-on record; older records (out of order) never move the cursor back. */
  advance(t: number, id: string | undefined): void {
    this.jumpTo(t);
    if (t === this.#t && id !== undefined) this.#ids.add(id);
  }

  /** Moves the cursor to `t` with no ids (the XSOAR "+1 ms" step once a timestamp is complete); never back. */
  jumpTo(t: number): void {
    if (this.#t === undefined || t > this.#t) {
      this.#t = t;
      this.#ids = new Set();
    }
  }

  /**
   * Sorts one page: a record with a readable time that was not handed on yet is kept and moves
   * the cursor; one handed on already, or older than `floor` when given, is dropped; one without
   * a readable time is kept (the mapping reports it) without moving the cursor, and counted in
   * `untimed` for the connector's warning. Order is preserved.
   */
  keepNew<R>(
    page: Iterable<R>,
    timeOf: (record: R) => number | undefined,
    idOf: (record: R) => string | undefined,
    floor?: number,
  ): { records: R[]; untimed: number } {
    const records: R[] = [];
    let untimed = 0;
    for (const record of page) {
      const t = timeOf(record);
      if (t === undefined) {
        untimed++;
        records.push(record);
        continue;
      }
      if (floor !== undefined && t < floor) continue;
      const id = idOf(record);
      if (!this.isNew(t, id)) continue;
      this.advance(t, id);
      records.push(record);
    }
    return { records, untimed };
  }

  snapshot(): Cursor {
    return {
      timestamp: this.#t === undefined ? null : this.#format(this.#t),
      idsAtTimestamp: [...this.#ids],
    };
  }

  /** The cursor the poll started from (unchanged), for pages that must not move it yet. */
  startSnapshot(): Cursor {
    return {
      timestamp: this.#start === undefined ? null : this.#format(this.#start),
      idsAtTimestamp: [...this.#startIds],
    };
  }

  /** True when the cursor moved since `other` was taken. */
  differsFrom(other: Cursor): boolean {
    const timestamp = this.#t === undefined ? null : this.#format(this.#t);
    return other.timestamp !== timestamp || other.idsAtTimestamp.length !== this.#ids.size;
  }
}

/** A vendor id as a string (numbers stringified), or undefined. */
export function asId(v: unknown): string | undefined {
  if (typeof v === "string" && v.length > 0) return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return undefined;
}
