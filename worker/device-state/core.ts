/**
 * The merge algorithm both stores share: resolve each observation to a device (MAC first, then
 * serial, then IP + hostname within a site, then the source's own id), merge devices that turn
 * out to be one, fold in facts with per-source provenance, record conflicts and exposure, and
 * write the key and the device view back onto the documents. A store supplies only a
 * {@link StateBackend} (where devices and indexes live).
 */
import { createHash } from "node:crypto";
import { type DeviceExposure, type DeviceState, MAX_ALERTS_PER_DEVICE } from "../../mappings/device-state.ts";
import { DEFAULT_ENRICHMENT, type EnrichmentOptions } from "../../mappings/enrich/options.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import { deriveDevice } from "./derive.ts";
import { CONFLICT_FIELDS, type Identifiers, type Observation, observe } from "./observe.ts";

/** Identifier kinds, in resolution order. */
export const INDEX_KINDS = ["mac", "serial", "iphost", "vendor"] as const;
export type IndexKind = (typeof INDEX_KINDS)[number];

const idsOf = (ids: Identifiers): Record<IndexKind, string[]> => ({
  mac: ids.macs,
  serial: ids.serials,
  iphost: ids.ipHosts,
  vendor: ids.vendorIds,
});

/** What one merge attempt writes. */
export interface CommitChanges {
  /** Every device the batch read or created (a store may skip those that did not change). */
  saved: DeviceState[];
  /** Devices merged away; `into` is the survivor (its index entries must be rewritten). */
  removed: { key: string; fingerprints: string[]; into?: string }[];
}

/** Where a store keeps devices, identifier indexes and credential fingerprints. */
export interface StateBackend {
  /** Device key per identifier value (null when unknown), in the order asked. */
  lookup(kind: IndexKind, values: readonly string[]): Promise<(string | null)[]>;
  /** The lookups of several kinds at once (one round trip); `lookup` per kind when absent. */
  lookupAll?(asks: readonly { kind: IndexKind; values: readonly string[] }[]): Promise<(string | null)[][]>;
  load(keys: readonly string[]): Promise<(DeviceState | null)[]>;
  /**
   * Saves devices, points every identifier of each at it, adds each to its fingerprints' sets,
   * and deletes the devices merged away (their index entries now point at the survivor). A store
   * may skip what did not change since it was loaded.
   * Resolves false when another writer changed one of the devices or identifiers read since they
   * were loaded (optimistic concurrency): nothing was written and the batch is merged again.
   */
  commit(changes: CommitChanges): Promise<boolean>;
  /** Starts one merge attempt (a store forgets what the previous attempt read). */
  begin?(): void;
  fingerprintCount(fingerprint: string): Promise<number>;
  /** Several fingerprint counts in one round trip; `fingerprintCount` each when absent. */
  fingerprintCounts?(fingerprints: readonly string[]): Promise<number[]>;
}

/** Index entries of a device. */
export function indexEntries(state: DeviceState): { kind: IndexKind; value: string }[] {
  const out: { kind: IndexKind; value: string }[] = [];
  const id = state.identifiers;
  for (const m of id.macs) out.push({ kind: "mac", value: m });
  for (const s of id.serials) out.push({ kind: "serial", value: s });
  const site = id.site ?? "";
  for (const ip of id.ips)
    for (const h of id.hostnames) out.push({ kind: "iphost", value: `${site}|${ip}|${h}` });
  for (const [source, v] of Object.entries(id.vendorIds))
    out.push({ kind: "vendor", value: `${source}|${v}` });
  return out;
}

/** A stable key from the identifier that created the device. */
export function deviceKeyFor(kind: IndexKind, value: string): string {
  return `dev-${createHash("sha1").update(`${kind}:${value}`).digest("hex").slice(0, 20)}`;
}

function emptyState(key: string, at: string): DeviceState {
  return {
    key,
    identifiers: { macs: [], serials: [], ips: [], hostnames: [], vendorIds: {} },
    facts: {},
    conflicts: [],
    updatedAt: at,
  };
}

function emptyExposure(): DeviceExposure {
  return {
    vulnerabilities: {},
    alerts: {},
    alertCount: 0,
    credentialsObserved: [],
    credentialFingerprints: [],
  };
}

const addAll = (into: string[], values: readonly string[]) => {
  for (const v of values) if (!into.includes(v)) into.push(v);
};

const normalised = (v: unknown): string =>
  JSON.stringify(
    Array.isArray(v) ? [...v].map((x) => String(x).toLowerCase()).sort() : String(v).toLowerCase().trim(),
  );

/** `state.conflicts` from its facts (a pure function of them). */
export function recomputeConflicts(state: DeviceState): void {
  const conflicts: string[] = [];
  for (const field of CONFLICT_FIELDS) {
    if ((state.facts[field]?.length ?? 0) < 2) continue;
    const values = new Set(
      (state.facts[field] ?? [])
        .filter((f) => !(field === "medsoc.device.class" && f.value === "unknown"))
        .map((f) => normalised(f.value)),
    );
    if (values.size > 1) conflicts.push(field);
  }
  state.conflicts = conflicts;
}

/** Folds device `from` into `into` (identifiers, facts per source, exposure). */
export function mergeInto(into: DeviceState, from: DeviceState): void {
  const a = into.identifiers;
  const b = from.identifiers;
  addAll(a.macs, b.macs);
  addAll(a.serials, b.serials);
  addAll(a.ips, b.ips);
  addAll(a.hostnames, b.hostnames);
  a.site ??= b.site;
  for (const [s, v] of Object.entries(b.vendorIds)) a.vendorIds[s] ??= v;
  for (const [field, facts] of Object.entries(from.facts))
    for (const f of facts) putFact(into, field, f.value, f.source, f.seenAt);
  if (from.exposure) {
    into.exposure ??= emptyExposure();
    const e = into.exposure;
    for (const [id, v] of Object.entries(from.exposure.vulnerabilities)) e.vulnerabilities[id] ??= v;
    Object.assign(e.alerts, from.exposure.alerts);
    trimAlerts(e);
    e.alertCount += from.exposure.alertCount;
    addAll(e.credentialsObserved, from.exposure.credentialsObserved);
    addAll(e.credentialFingerprints, from.exposure.credentialFingerprints);
  }
  if (from.updatedAt > into.updatedAt) into.updatedAt = from.updatedAt;
  recomputeConflicts(into);
}

function putFact(state: DeviceState, field: string, value: unknown, source: string, seenAt: string): void {
  state.facts[field] ??= [];
  const list = state.facts[field];
  const i = list.findIndex((f) => f.source === source);
  if (i >= 0) {
    if ((list[i]?.seenAt ?? "") > seenAt) return;
    list.splice(i, 1);
  }
  // Freshest first.
  let at = 0;
  while (at < list.length && (list[at]?.seenAt ?? "") >= seenAt) at++;
  list.splice(at, 0, { value, source, seenAt });
}

function trimAlerts(e: DeviceExposure): void {
  const entries = Object.entries(e.alerts);
  if (entries.length <= MAX_ALERTS_PER_DEVICE) return;
  entries.sort((x, y) => (x[1].seenAt < y[1].seenAt ? 1 : -1));
  e.alerts = Object.fromEntries(entries.slice(0, MAX_ALERTS_PER_DEVICE));
}

/** Applies one observation to its device. */
export function applyObservation(state: DeviceState, obs: Observation): void {
  const id = state.identifiers;
  addAll(id.macs, obs.ids.macs);
  addAll(id.serials, obs.ids.serials);
  addAll(id.ips, obs.ips);
  addAll(id.hostnames, obs.hostnames);
  if (obs.site !== undefined) id.site ??= obs.site;
  if (obs.vendorId !== undefined) id.vendorIds[obs.source] = obs.vendorId;
  if (obs.facts) {
    for (const [field, value] of Object.entries(obs.facts))
      putFact(state, field, value, obs.source, obs.seenAt);
    recomputeConflicts(state);
  }
  if (obs.vulnerabilities || obs.alert || obs.credentialsObserved || obs.credentialFingerprints) {
    state.exposure ??= emptyExposure();
    const e = state.exposure;
    for (const [vid, v] of Object.entries(obs.vulnerabilities ?? {})) {
      const prev = e.vulnerabilities[vid];
      const entry = { ...prev, ...v, source: obs.source, seenAt: obs.seenAt };
      if (prev?.cvss !== undefined && (v.cvss === undefined || prev.cvss > v.cvss)) entry.cvss = prev.cvss;
      if (prev?.kev) entry.kev = true;
      e.vulnerabilities[vid] = entry;
    }
    if (obs.alert && e.alerts[obs.alert.id] === undefined) {
      const alert: DeviceExposure["alerts"][string] = {
        severity: obs.alert.severity,
        source: obs.source,
        seenAt: obs.seenAt,
      };
      if (obs.alert.title !== undefined) alert.title = obs.alert.title;
      e.alerts[obs.alert.id] = alert;
      e.alertCount++;
      trimAlerts(e);
    }
    addAll(e.credentialsObserved, obs.credentialsObserved ?? []);
    addAll(e.credentialFingerprints, obs.credentialFingerprints ?? []);
  }
  if (obs.seenAt > state.updatedAt) state.updatedAt = obs.seenAt;
}

/**
 * One upsert over a backend: devices touched by the batch are loaded once, merged in memory and
 * committed once. When another writer changed one of those devices in between (the commit says
 * so), the batch is merged again from fresh reads, up to {@link MAX_MERGE_ATTEMPTS} times.
 */
export async function upsertDocuments(
  backend: StateBackend,
  docs: readonly EcsDocument[],
  options: EnrichmentOptions = DEFAULT_ENRICHMENT,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    if (await upsertOnce(backend, docs, options)) return;
    if (attempt >= MAX_MERGE_ATTEMPTS)
      throw new Error(
        `merging ${docs.length} documents into the device state: ${attempt} concurrent-update conflicts in a row`,
      );
  }
}

/** Merge attempts of one batch before giving up (the queue then retries the whole job). */
export const MAX_MERGE_ATTEMPTS = 8;

async function upsertOnce(
  backend: StateBackend,
  docs: readonly EcsDocument[],
  options: EnrichmentOptions,
): Promise<boolean> {
  const devices = new Map<string, DeviceState>();
  const local = new Map<string, string>(); // `${kind}\u0000${value}` → key
  const redirect = new Map<string, string>(); // merged-away key → survivor
  const removed = new Map<string, string[]>();
  const docKeys = new Map<EcsDocument, string[]>();
  const follow = (key: string): string => {
    let k = key;
    while (redirect.has(k)) k = redirect.get(k) as string;
    return k;
  };
  const attempted = new Set<string>(); // keys asked of the backend (found or not)
  const loadDevice = async (key: string): Promise<DeviceState | undefined> => {
    const k = follow(key);
    const cached = devices.get(k);
    if (cached || attempted.has(k)) return cached;
    attempted.add(k);
    const [state] = await backend.load([k]);
    if (state) devices.set(k, state);
    return state ?? undefined;
  };
  const newKey = (byKind: Record<IndexKind, string[]>): string => {
    const kind = INDEX_KINDS.find((k) => byKind[k].length > 0) as IndexKind;
    return deviceKeyFor(kind, byKind[kind][0] as string);
  };

  // Prefetch: resolve every identifier of the batch (one lookup for all kinds), then load every
  // device found and every key a new device of the batch would get, in one load. The merge below
  // then runs without round trips.
  backend.begin?.();
  const checked = new Set<string>();
  const observations = docs.map((doc) => ({ doc, list: observe(doc) }));
  const asks: { kind: IndexKind; values: string[] }[] = [];
  for (const kind of INDEX_KINDS) {
    const values = new Set<string>();
    for (const { list } of observations)
      for (const obs of list) for (const v of idsOf(obs.ids)[kind]) values.add(v);
    if (values.size > 0) asks.push({ kind, values: [...values] });
  }
  const answers = backend.lookupAll
    ? await backend.lookupAll(asks)
    : await (async () => {
        const out: (string | null)[][] = [];
        for (const ask of asks) out.push(await backend.lookup(ask.kind, ask.values));
        return out;
      })();
  asks.forEach(({ kind, values }, j) => {
    const remote = answers[j] ?? [];
    values.forEach((v, i) => {
      checked.add(`${kind}\u0000${v}`);
      const k = remote[i];
      if (k) local.set(`${kind}\u0000${v}`, k);
    });
  });
  const prefetch = new Set(local.values());
  for (const { list } of observations)
    for (const obs of list) {
      const byKind = idsOf(obs.ids);
      if (!INDEX_KINDS.some((kind) => byKind[kind].some((v) => local.has(`${kind}\u0000${v}`))))
        prefetch.add(newKey(byKind));
    }
  if (prefetch.size > 0) {
    const keys = [...prefetch];
    for (const k of keys) attempted.add(k);
    (await backend.load(keys)).forEach((state) => {
      if (state) devices.set(state.key, state);
    });
  }

  for (const { doc, list } of observations)
    for (const obs of list) {
      const byKind = idsOf(obs.ids);
      const found: string[] = [];
      for (const kind of INDEX_KINDS) {
        const values = byKind[kind];
        if (values.length === 0) continue;
        const unknown = values.filter(
          (v) => !local.has(`${kind}\u0000${v}`) && !checked.has(`${kind}\u0000${v}`),
        );
        const remote = unknown.length > 0 ? await backend.lookup(kind, unknown) : [];
        unknown.forEach((v, i) => {
          const k = remote[i];
          if (k) local.set(`${kind}\u0000${v}`, k);
        });
        for (const v of values) {
          const k = local.get(`${kind}\u0000${v}`);
          if (k !== undefined && !found.includes(follow(k))) found.push(follow(k));
        }
      }
      let state: DeviceState | undefined;
      for (const k of found) {
        const candidate = await loadDevice(k);
        if (!candidate) continue;
        if (!state) {
          state = candidate;
          continue;
        }
        if (candidate.key === state.key) continue;
        mergeInto(state, candidate);
        redirect.set(candidate.key, state.key);
        devices.delete(candidate.key);
        removed.set(candidate.key, candidate.exposure?.credentialFingerprints ?? []);
      }
      if (!state) {
        const key = newKey(byKind);
        // A device under this key may exist without an index entry yet (a concurrent creator):
        // it was loaded with the prefetch, and the commit fails if one appears meanwhile.
        state = (await loadDevice(key)) ?? emptyState(key, obs.seenAt);
        devices.set(state.key, state);
      }
      applyObservation(state, obs);
      for (const kind of INDEX_KINDS) for (const v of byKind[kind]) local.set(`${kind}\u0000${v}`, state.key);
      const keys = docKeys.get(doc) ?? [];
      if (!keys.includes(state.key)) keys.push(state.key);
      docKeys.set(doc, keys);
    }

  for (const k of devices.keys()) removed.delete(k);
  const committed = await backend.commit({
    saved: [...devices.values()],
    removed: [...removed].map(([key, fingerprints]) => ({ key, fingerprints, into: follow(key) })),
  });
  if (!committed) return false;

  // Write back the key and the fleet-aware device view.
  const fingerprints = new Set<string>();
  for (const state of devices.values())
    for (const fp of state.exposure?.credentialFingerprints ?? []) fingerprints.add(fp);
  const asked = [...fingerprints];
  const answered = backend.fingerprintCounts
    ? await backend.fingerprintCounts(asked)
    : await Promise.all(asked.map((fp) => backend.fingerprintCount(fp)));
  const counts = new Map(asked.map((fp, i) => [fp, answered[i] ?? 0]));
  const derived = new Map<string, ReturnType<typeof deriveDevice>>();
  for (const [doc, rawKeys] of docKeys) {
    const keys = [...new Set(rawKeys.map(follow))];
    const medsoc = doc.medsoc as Record<string, unknown>;
    medsoc.device ??= {};
    const device = medsoc.device as Record<string, unknown>;
    device.key = keys.length === 1 ? keys[0] : keys;
    if (keys.length !== 1) continue;
    const key = keys[0] as string;
    const state = devices.get(key);
    if (!state) continue;
    let view = derived.get(key);
    if (!view) {
      view = deriveDevice(state, (fp) => counts.get(fp) ?? 1, options);
      derived.set(key, view);
    }
    device.class = view.class;
    device.criticality = view.criticality;
    device.credentials = view.credentials;
    if (doc.event.kind === "asset") medsoc.risk = { score: view.risk.score, factors: view.risk.factors };
  }
  return true;
}
