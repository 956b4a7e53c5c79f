/**
 * A compact, lossless binary encoding of one {@link DeviceState} (the Redis store keeps one per
 * device). MessagePack (msgpackr) of a positional array instead of the JSON object:
 * - the key is not stored (the store knows it) and `conflicts` are recomputed from the facts on
 *   decode (they are always a function of the facts, see `recomputeConflicts`);
 * - source names are stored once per device and referenced by position; facts that only one
 *   source reports (most) are grouped by source and time, so each costs its field and value;
 * - fact fields are positions in {@link FACT_FIELDS} (append-only list), other fields by name;
 * - times are milliseconds before `updatedAt` (0 for most facts: one byte) whenever the ISO string
 *   round-trips through `Date`, the string itself otherwise;
 * - a fact value equal to an identifier or an earlier fact value (hostname, site, serial, `Computers`
 *   as both host type and vendor category) is a reference to it.
 *
 * `encodeState(decodeState(key, b))` is `b` byte for byte, so a store can tell an unchanged device
 * by comparing encodings.
 */
import { Packr } from "msgpackr";
import type {
  DeviceExposure,
  DeviceFact,
  DeviceState,
  ExposureVulnerability,
} from "../../mappings/device-state.ts";
import { recomputeConflicts } from "./core.ts";
import { FACT_FIELDS } from "./observe.ts";

const packr = new Packr({ useRecords: false, int64AsType: "number" });
const FORMAT = 1;
const FIELD_CODE = new Map(FACT_FIELDS.map((f, i) => [f, i]));

/** Fact tags (low two bits of the source position). */
const PLAIN = 0;
const REF = 1;
const REF_IN_ARRAY = 2;

const msOf = (iso: string): number | undefined => {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) && new Date(ms).toISOString() === iso ? ms : undefined;
};

class Times {
  readonly base: number | undefined;
  constructor(updatedAt: string) {
    this.base = msOf(updatedAt);
  }
  #lastIso: string | undefined;
  #last: number | string = "";
  encode(iso: string): number | string {
    if (this.base === undefined) return iso;
    // Most times of a device are the same few: parse each once.
    if (iso === this.#lastIso) return this.#last;
    const ms = msOf(iso);
    this.#lastIso = iso;
    this.#last = ms === undefined ? iso : this.base - ms;
    return this.#last;
  }
  decode(v: number | string): string {
    return typeof v === "string" ? v : new Date((this.base as number) - v).toISOString();
  }
}

/** Strings a fact value may refer to, in the order both sides see them. */
class Strings {
  readonly #index = new Map<string, number>();
  readonly list: string[] = [];
  add(s: string | undefined): void {
    if (s === undefined || s.length < 3 || this.#index.has(s)) return;
    this.#index.set(s, this.list.length);
    this.list.push(s);
  }
  find(s: string): number | undefined {
    return this.#index.get(s);
  }
}

function seedStrings(strings: Strings, id: DeviceState["identifiers"]): void {
  for (const h of id.hostnames) strings.add(h);
  for (const s of id.serials) strings.add(s);
  strings.add(id.site);
}

type Encoded = unknown[];

export function encodeState(state: DeviceState): Buffer {
  const id = state.identifiers;
  const times = new Times(state.updatedAt);
  const sources: string[] = [];
  const src = (name: string): number => {
    const i = sources.indexOf(name);
    if (i >= 0) return i;
    sources.push(name);
    return sources.length - 1;
  };
  const vendorIds: unknown[] = [];
  for (const [source, v] of Object.entries(id.vendorIds)) vendorIds.push(src(source), v);
  const strings = new Strings();
  seedStrings(strings, id);
  // Facts: the single-source fields of a known name grouped by (source, time), then the others
  // field by field. Strings are seen (for references) in the order they are written.
  const groups = new Map<string, { s: number; at: number | string; facts: [number, unknown][] }>();
  const multi: [string, DeviceFact[]][] = [];
  for (const [field, list] of Object.entries(state.facts)) {
    const code = FIELD_CODE.get(field);
    const f = list[0];
    if (list.length !== 1 || code === undefined || f === undefined) {
      multi.push([field, list]);
      continue;
    }
    const s = src(f.source);
    const at = times.encode(f.seenAt);
    const id = `${s}|${at}`;
    let g = groups.get(id);
    if (!g) {
      g = { s, at, facts: [] };
      groups.set(id, g);
    }
    g.facts.push([code, f.value]);
  }
  /** [tag, value] of a fact value: a reference to a string seen before, or the value. */
  const value = (v: unknown): [number, unknown] => {
    if (typeof v === "string") {
      const i = strings.find(v);
      if (i !== undefined) return [REF, i];
      strings.add(v);
    } else if (Array.isArray(v) && v.length === 1 && typeof v[0] === "string") {
      const i = strings.find(v[0]);
      if (i !== undefined) return [REF_IN_ARRAY, i];
    }
    return [PLAIN, v];
  };
  const grouped: unknown[] = [];
  for (const g of groups.values()) {
    grouped.push(g.s, g.at, g.facts.length);
    for (const [code, v] of g.facts) {
      const [tag, out] = value(v);
      grouped.push(code * 4 + tag, out);
    }
  }
  const facts: unknown[] = [];
  for (const [field, list] of multi) {
    const flat: unknown[] = [];
    for (const f of list) {
      const [tag, out] = value(f.value);
      flat.push(src(f.source) * 4 + tag, times.encode(f.seenAt), out);
    }
    facts.push(FIELD_CODE.get(field) ?? field, flat);
  }
  let exposure: unknown[] | null = null;
  const e = state.exposure;
  if (e) {
    const vulns: unknown[] = [];
    for (const [vid, v] of Object.entries(e.vulnerabilities))
      vulns.push(
        vid,
        src(v.source),
        times.encode(v.seenAt),
        v.cvss ?? null,
        v.kev === undefined ? 0 : v.kev ? 1 : 2,
        v.advisory ?? null,
        v.cwes ?? null,
        v.cves ?? null,
      );
    const alerts: unknown[] = [];
    for (const [aid, a] of Object.entries(e.alerts))
      alerts.push(aid, src(a.source), times.encode(a.seenAt), a.severity, a.title ?? null);
    exposure = [e.alertCount, e.credentialsObserved, e.credentialFingerprints, vulns, alerts];
  }
  const out: Encoded = [
    FORMAT,
    times.base ?? state.updatedAt,
    sources,
    id.macs,
    id.serials,
    id.ips,
    id.hostnames,
    id.site ?? null,
    vendorIds,
    grouped,
    facts,
  ];
  if (exposure) out.push(exposure);
  return packr.pack(out);
}

export function decodeState(key: string, bytes: Uint8Array): DeviceState {
  const a = packr.unpack(bytes) as Encoded;
  if (a[0] !== FORMAT) throw new Error(`device ${key}: unknown state encoding ${String(a[0])}`);
  const updatedAt = typeof a[1] === "number" ? new Date(a[1]).toISOString() : (a[1] as string);
  const times = new Times(updatedAt);
  const sources = a[2] as string[];
  const identifiers: DeviceState["identifiers"] = {
    macs: a[3] as string[],
    serials: a[4] as string[],
    ips: a[5] as string[],
    hostnames: a[6] as string[],
    vendorIds: {},
  };
  if (a[7] !== null) identifiers.site = a[7] as string;
  const vendorIds = a[8] as unknown[];
  for (let i = 0; i < vendorIds.length; i += 2)
    identifiers.vendorIds[sources[vendorIds[i] as number] as string] = vendorIds[i + 1] as string;
  const strings = new Strings();
  seedStrings(strings, identifiers);
  const facts: Record<string, DeviceFact[]> = {};
  const value = (tag: number, raw: unknown): unknown => {
    if (tag === REF) return strings.list[raw as number];
    if (tag === REF_IN_ARRAY) return [strings.list[raw as number]];
    if (typeof raw === "string") strings.add(raw);
    return raw;
  };
  const grouped = a[9] as unknown[];
  for (let i = 0; i < grouped.length; ) {
    const source = sources[grouped[i] as number] as string;
    const seenAt = times.decode(grouped[i + 1] as number | string);
    const n = grouped[i + 2] as number;
    i += 3;
    for (let j = 0; j < n; j++, i += 2) {
      const c = grouped[i] as number;
      const tag = c % 4;
      facts[FACT_FIELDS[(c - tag) / 4] as string] = [{ value: value(tag, grouped[i + 1]), source, seenAt }];
    }
  }
  const encodedFacts = a[10] as unknown[];
  for (let i = 0; i < encodedFacts.length; i += 2) {
    const code = encodedFacts[i];
    const field = typeof code === "number" ? (FACT_FIELDS[code] as string) : (code as string);
    const flat = encodedFacts[i + 1] as unknown[];
    const list: DeviceFact[] = [];
    for (let j = 0; j < flat.length; j += 3) {
      const s = flat[j] as number;
      const tag = s % 4;
      list.push({
        value: value(tag, flat[j + 2]),
        source: sources[(s - tag) / 4] as string,
        seenAt: times.decode(flat[j + 1] as number | string),
      });
    }
    facts[field] = list;
  }
  const state: DeviceState = { key, identifiers, facts, conflicts: [], updatedAt };
  if (a.length > 11) {
    const [alertCount, observed, fingerprints, vulns, alerts] = a[11] as [
      number,
      string[],
      string[],
      unknown[],
      unknown[],
    ];
    const exposure: DeviceExposure = {
      vulnerabilities: {},
      alerts: {},
      alertCount,
      credentialsObserved: observed,
      credentialFingerprints: fingerprints,
    };
    for (let i = 0; i < vulns.length; i += 8) {
      const v: ExposureVulnerability = {
        source: sources[vulns[i + 1] as number] as string,
        seenAt: times.decode(vulns[i + 2] as number | string),
      };
      if (vulns[i + 3] !== null) v.cvss = vulns[i + 3] as number;
      if (vulns[i + 4] !== 0) v.kev = vulns[i + 4] === 1;
      if (vulns[i + 5] !== null) v.advisory = vulns[i + 5] as string;
      if (vulns[i + 6] !== null) v.cwes = vulns[i + 6] as string[];
      if (vulns[i + 7] !== null) v.cves = vulns[i + 7] as string[];
      exposure.vulnerabilities[vulns[i] as string] = v;
    }
    for (let i = 0; i < alerts.length; i += 5) {
      const alert: DeviceExposure["alerts"][string] = {
        severity: alerts[i + 3] as number,
        source: sources[alerts[i + 1] as number] as string,
        seenAt: times.decode(alerts[i + 2] as number | string),
      };
      if (alerts[i + 4] !== null) alert.title = alerts[i + 4] as string;
      exposure.alerts[alerts[i] as string] = alert;
    }
    state.exposure = exposure;
  }
  recomputeConflicts(state);
  return state;
}
