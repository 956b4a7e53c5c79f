import type { Cursor } from "../../connectors/types.ts";
import type { CursorStore } from "./types.ts";

/** Cursors in a Map: the embedded default (one process, forgotten on restart). */
export class MemoryCursorStore implements CursorStore {
  readonly #cursors = new Map<string, Cursor>();

  async get(source: string, stream: string): Promise<Cursor | null> {
    const cursor = this.#cursors.get(key(source, stream));
    return cursor ? copy(cursor) : null;
  }

  async set(source: string, stream: string, cursor: Cursor): Promise<void> {
    this.#cursors.set(key(source, stream), copy(cursor));
  }

  async delete(source: string, stream: string): Promise<void> {
    this.#cursors.delete(key(source, stream));
  }

  async close(): Promise<void> {}
}

const key = (source: string, stream: string) => JSON.stringify([source, stream]);

/** Callers may mutate what they get or gave; the store keeps its own copy. */
const copy = (cursor: Cursor): Cursor => ({
  timestamp: cursor.timestamp,
  idsAtTimestamp: [...cursor.idsAtTimestamp],
});
