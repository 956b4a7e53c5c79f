/**
 * The advisory store format: parsed advisories plus the KEV catalog in one JSON file. The same format
 * is shipped as the default snapshot (`mappings/data/advisories-snapshot.json`, built from the
 * reference advisories by `scripts/build-advisory-snapshot.ts`) and written by
 * `medsoc advisories import` to the local store. Pure: reading and writing files is the command's job.
 */
import snapshot from "../data/advisories-snapshot.json" with { type: "json" };
import { type Advisory, isNewerRevision } from "./csaf.ts";
import type { KevCatalog } from "./kev.ts";
import { type AdvisoryIndex, buildAdvisoryIndex } from "./match.ts";

export const STORE_FORMAT = "medsoc-advisories/1";

export interface AdvisoryStore {
  format: typeof STORE_FORMAT;
  /** Where the advisories came from (`snapshot of …`, import sources). */
  sources: string[];
  advisories: Advisory[];
  kev?: KevCatalog;
}

/** Checks the envelope of a store file (its content was validated when imported). */
export function parseStore(json: unknown, what: string): AdvisoryStore {
  const o = json as Partial<AdvisoryStore> | null;
  if (typeof o !== "object" || o === null || o.format !== STORE_FORMAT) {
    throw new Error(`${what}: not a medsoc advisory store (expected "format": "${STORE_FORMAT}")`);
  }
  if (!Array.isArray(o.advisories)) throw new Error(`${what}: "advisories" must be an array`);
  if (o.kev !== undefined && (typeof o.kev !== "object" || !Array.isArray(o.kev.entries))) {
    throw new Error(`${what}: "kev.entries" must be an array`);
  }
  return {
    format: STORE_FORMAT,
    sources: Array.isArray(o.sources) ? o.sources : [],
    advisories: o.advisories,
    kev: o.kev,
  };
}

/** What {@link mergeIntoStore} did with each incoming advisory. */
export interface MergeReport {
  added: string[];
  replaced: string[];
  /** Already present in the same or a newer revision. */
  kept: string[];
  /** `replaced`, `kept`, or `added` for the KEV catalog. */
  kev?: "added" | "replaced" | "kept";
}

/**
 * Merges advisories (keyed on `tracking.id`, newer revision wins) and a KEV catalog (newer
 * `catalogVersion`/`dateReleased` wins) into a copy of the store.
 */
export function mergeIntoStore(
  store: AdvisoryStore,
  incoming: { advisories: readonly Advisory[]; kev?: KevCatalog; source?: string },
): { store: AdvisoryStore; report: MergeReport } {
  const byId = new Map(store.advisories.map((a) => [a.id, a]));
  const report: MergeReport = { added: [], replaced: [], kept: [] };
  for (const a of incoming.advisories) {
    const prev = byId.get(a.id);
    if (prev === undefined) report.added.push(a.id);
    else if (isNewerRevision(a, prev)) report.replaced.push(a.id);
    else {
      report.kept.push(a.id);
      continue;
    }
    byId.set(a.id, a);
  }
  let kev = store.kev;
  if (incoming.kev !== undefined) {
    const k = incoming.kev;
    if (kev === undefined) report.kev = "added";
    else if (
      k.dateReleased > kev.dateReleased ||
      (k.dateReleased === kev.dateReleased && k.entries.length > kev.entries.length)
    )
      report.kev = "replaced";
    else report.kev = "kept";
    if (report.kev !== "kept") kev = k;
  }
  const sources = incoming.source !== undefined ? [...store.sources, incoming.source] : store.sources;
  const advisories = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const next: AdvisoryStore = { format: STORE_FORMAT, sources, advisories };
  if (kev !== undefined) next.kev = kev;
  return { store: next, report };
}

/** The store shipped with medsoc: the reference ICSMA advisories and the KEV subset. */
export function snapshotStore(): AdvisoryStore {
  return parseStore(snapshot, "advisories-snapshot.json");
}

/** Builds the match index of a store. */
export function indexOfStore(store: AdvisoryStore): AdvisoryIndex {
  return buildAdvisoryIndex(store.advisories, store.kev);
}

let defaultIndex: AdvisoryIndex | undefined;

/** The index of the shipped snapshot, built on first use (enrichment without a loaded store). */
export function defaultAdvisoryIndex(): AdvisoryIndex {
  defaultIndex ??= indexOfStore(snapshotStore());
  return defaultIndex;
}
