/**
 * Cursor bookkeeping shared by connectors whose vendor times fit in milliseconds (Cynerio: epoch
 * seconds, Asimily: milliseconds): an inclusive lower bound plus the ids already handed on at it
 * (DESIGN.md "Contracts", monitors.md §1 rule 1). Armis keeps its own microsecond variant.
 */
import { PermanentError } from "../core/errors.ts";
import type { Cursor } from "./types.ts";

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

/** Cursor state of one poll: what was handed on before it and what it handed on so far. */
export class CursorState {
  readonly #startMs: number | undefined;
  readonly #startIds: ReadonlySet<string>;
  #ms: number | undefined;
  #ids: Set<string>;

  /** `what` names the cursor in errors ("cynerio asset"). */
  constructor(cursor: Cursor | null, what: string) {
    const ms = cursor?.timestamp ? Date.parse(cursor.timestamp) : undefined;
    if (cursor?.timestamp && (ms === undefined || Number.isNaN(ms)))
      throw new PermanentError(
        `reading the ${what} cursor: unparsable timestamp ${JSON.stringify(cursor.timestamp)}`,
      );
    this.#startMs = ms;
    this.#startIds = new Set(ms === undefined ? [] : (cursor?.idsAtTimestamp ?? []));
    this.#ms = ms;
    this.#ids = new Set(this.#startIds);
  }

  /** The inclusive lower bound this poll started from (epoch ms), if any. */
  get startMs(): number | undefined {
    return this.#startMs;
  }

  /** The newest time handed on so far (epoch ms), if any. */
  get currentMs(): number | undefined {
    return this.#ms;
  }

  /** False when the record was handed on already (before this poll, or earlier in it at the boundary). */
  isNew(ms: number, id: string | undefined): boolean {
    if (this.#startMs !== undefined) {
      if (ms < this.#startMs) return false;
      if (ms === this.#startMs && id !== undefined && this.#startIds.has(id)) return false;
    }
    if (ms === this.#ms && id !== undefined && this.#ids.has(id)) return false;
    return true;
  }

  /** Records a handed-on record; an older one (out of order) never moves the cursor back. */
  advance(ms: number, id: string | undefined): void {
    if (this.#ms === undefined || ms > this.#ms) {
      this.#ms = ms;
      this.#ids = new Set();
    }
    if (ms === this.#ms && id !== undefined) this.#ids.add(id);
  }

  snapshot(): Cursor {
    return { timestamp: this.#ms === undefined ? null : msToIso(this.#ms), idsAtTimestamp: [...this.#ids] };
  }

  /** The cursor the poll started from (unchanged), for pages that must not move it yet. */
  startSnapshot(): Cursor {
    return {
      timestamp: this.#startMs === undefined ? null : msToIso(this.#startMs),
      idsAtTimestamp: [...this.#startIds],
    };
  }
}
