/**
 * Device-state JSON kept deflated in memory (the embedded default's memory store). A device's JSON
 * is about 10 KB with seven monitors (per-source facts repeat field names, source names and
 * times); raw deflate at level 1 shrinks it about seven times, and holding the result as a
 * latin1 string keeps it in the V8 heap (no Buffer per device, no pooled slab kept alive).
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";

/** JSON text → its raw deflate (level 1) as a latin1 string. */
export const pack = (json: string): string => deflateRawSync(json, { level: 1 }).toString("latin1");
/** The inverse of {@link pack}. */
export const unpack = (packed: string): string =>
  inflateRawSync(Buffer.from(packed, "latin1")).toString("utf8");

/** A `Map<string, string>` of JSON texts, stored deflated. */
export class PackedJsonMap {
  readonly #entries = new Map<string, string>();

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): string | undefined {
    const packed = this.#entries.get(key);
    return packed === undefined ? undefined : unpack(packed);
  }

  set(key: string, json: string): this {
    this.#entries.set(key, pack(json));
    return this;
  }

  /** Stores `json` unless the same text is already there; returns whether it changed. */
  setIfChanged(key: string, json: string): boolean {
    const packed = pack(json);
    if (this.#entries.get(key) === packed) return false;
    this.#entries.set(key, packed);
    return true;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  delete(key: string): boolean {
    return this.#entries.delete(key);
  }

  *values(): IterableIterator<string> {
    for (const packed of this.#entries.values()) yield unpack(packed);
  }
}
