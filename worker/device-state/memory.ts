/**
 * In-process device state (the embedded default). Devices are held as JSON, deflated (packed.ts):
 * a fraction of the heap of live objects, and every read returns an independent copy.
 */

import type { DeviceLookup, DeviceState, DeviceStateStore } from "../../mappings/device-state.ts";
import { DEFAULT_ENRICHMENT, type EnrichmentOptions } from "../../mappings/enrich/options.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import {
  type CommitChanges,
  INDEX_KINDS,
  type IndexKind,
  indexEntries,
  type StateBackend,
  upsertDocuments,
} from "./core.ts";
import { resolveLookup } from "./lookup.ts";
import { PackedJsonMap } from "./packed.ts";

export class MemoryDeviceStateStore implements DeviceStateStore, StateBackend {
  readonly #devices = new PackedJsonMap();
  readonly #index = new Map<IndexKind, Map<string, string>>(INDEX_KINDS.map((k) => [k, new Map()]));
  readonly #fingerprints = new Map<string, Set<string>>();
  readonly #options: EnrichmentOptions;
  /** Serialises upserts: one batch merges at a time, as a single worker would. */
  #chain: Promise<void> = Promise.resolve();

  constructor(options: { enrichment?: EnrichmentOptions } = {}) {
    this.#options = options.enrichment ?? DEFAULT_ENRICHMENT;
  }

  async lookup(kind: IndexKind, values: readonly string[]): Promise<(string | null)[]> {
    const index = this.#index.get(kind) as Map<string, string>;
    return values.map((v) => index.get(v) ?? null);
  }

  async load(keys: readonly string[]): Promise<(DeviceState | null)[]> {
    return keys.map((k) => {
      const json = this.#devices.get(k);
      return json === undefined ? null : (JSON.parse(json) as DeviceState);
    });
  }

  async commit(changes: CommitChanges): Promise<boolean> {
    const survivors = new Set(changes.removed.map((r) => r.into));
    for (const r of changes.removed) {
      this.#devices.delete(r.key);
      for (const fp of r.fingerprints) this.#fingerprints.get(fp)?.delete(r.key);
    }
    for (const state of changes.saved) {
      // Unchanged since it was loaded: its index entries and fingerprints are already in place.
      // (Deflate is deterministic: the same JSON packs to the same text.)
      if (!this.#devices.setIfChanged(state.key, JSON.stringify(state)) && !survivors.has(state.key))
        continue;
      for (const e of indexEntries(state))
        (this.#index.get(e.kind) as Map<string, string>).set(e.value, state.key);
      for (const fp of state.exposure?.credentialFingerprints ?? []) {
        const set = this.#fingerprints.get(fp) ?? new Set<string>();
        set.add(state.key);
        this.#fingerprints.set(fp, set);
      }
    }
    return true;
  }

  async fingerprintCount(fingerprint: string): Promise<number> {
    return this.#fingerprints.get(fingerprint)?.size ?? 0;
  }

  upsert(docs: readonly EcsDocument[]): Promise<void> {
    const run = this.#chain.then(() => upsertDocuments(this, docs, this.#options));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async get(key: string): Promise<DeviceState | null> {
    const [state] = await this.load([key]);
    return state ?? null;
  }

  resolve(lookup: DeviceLookup): Promise<string | null> {
    return resolveLookup(this, lookup);
  }

  async *list(): AsyncIterable<DeviceState> {
    for (const json of this.#devices.values()) yield JSON.parse(json) as DeviceState;
  }

  async count(): Promise<number> {
    return this.#devices.size;
  }

  async close(): Promise<void> {}
}
