/**
 * Cursor bookkeeping shared by the connectors whose APIs filter with an inclusive lower bound on a
 * record timestamp (monitors.md §1 rule 1): the cursor is the newest timestamp handed on plus the
 * ids already handed on at exactly that timestamp. Timestamps are compared as epoch microseconds
 * so that xDome's microsecond timestamps keep their tie-break precision.
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

/** Cursor bookkeeping for one poll (see the module comment). */
export class BoundaryCursor {
  readonly #startUs: number | undefined;
  readonly #startIds: ReadonlySet<string>;
  readonly #format: (us: number) => string;
  #us: number | undefined;
  #ids: Set<string>;

  /**
   * @param cursor the stored cursor (null before the first poll)
   * @param component lowercase name used in the error for an unparsable stored cursor
   * @param format how the cursor timestamp is written back @defaultValue microsecond ISO
   */
  constructor(cursor: Cursor | null, component: string, format: (us: number) => string = microsToIsoMicros) {
    const us = cursor?.timestamp ? isoToMicros(cursor.timestamp) : undefined;
    if (cursor?.timestamp && us === undefined)
      throw new PermanentError(
        `reading the ${component} cursor: unparsable timestamp ${JSON.stringify(cursor.timestamp)}`,
      );
    this.#format = format;
    this.#startUs = us;
    this.#startIds = new Set(us === undefined ? [] : cursor?.idsAtTimestamp);
    this.#us = us;
    this.#ids = new Set(this.#startIds);
  }

  /** The stored cursor timestamp (the next query's inclusive lower bound), if any. */
  get lowerBoundUs(): number | undefined {
    return this.#startUs;
  }

  /** The ids stored with the cursor. */
  get startIds(): ReadonlySet<string> {
    return this.#startIds;
  }

  /** Newest timestamp handed on so far in this poll (or the stored one). */
  get currentUs(): number | undefined {
    return this.#us;
  }

  /** False when the record was already handed on (before this poll or earlier in it). */
  isNew(us: number, id: string | undefined): boolean {
    if (this.#startUs !== undefined) {
      if (us < this.#startUs) return false;
      if (us === this.#startUs && id !== undefined && this.#startIds.has(id)) return false;
    }
    if (us === this.#us && id !== undefined && this.#ids.has(id)) return false;
    return true;
  }

  /** Records a handed-on record; older records (out of order) never move the cursor back. */
  advance(us: number, id: string | undefined): void {
    if (this.#us === undefined || us > this.#us) {
      this.#us = us;
      this.#ids = new Set();
    }
    if (us === this.#us && id !== undefined) this.#ids.add(id);
  }

  /** Moves the cursor to `us` with no ids (the XSOAR "+1 ms" step once a timestamp is complete). */
  jumpTo(us: number): void {
    if (this.#us === undefined || us > this.#us) {
      this.#us = us;
      this.#ids = new Set();
    }
  }

  snapshot(): Cursor {
    return {
      timestamp: this.#us === undefined ? null : this.#format(this.#us),
      idsAtTimestamp: [...this.#ids],
    };
  }
}

/** A vendor id as a string (numbers stringified), or undefined. */
export function asId(v: unknown): string | undefined {
  if (typeof v === "string" && v.length > 0) return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return undefined;
}
