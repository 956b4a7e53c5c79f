/**
 * What the playbooks know about a device. With the device state store (issue 4) a device is read
 * from its merged state; without it (or for a device the store has not seen) from the fields the
 * mapped documents carry, indexed as the documents pass through the pipeline. Unknown clinical state
 * stays unknown (`inUse: null`), which the playbooks treat as "may be in use".
 */

import type { DeviceState, DeviceStateStore } from "../../mappings/device-state.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import type { DeviceInfo } from "../actions/types.ts";

/** Clinical servers per device class, or per `<site>/<class>` (the more specific key wins). */
export type ClinicalServers = Record<string, string[]>;

type Fields = (path: string) => unknown;

const arr = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
const strs = (v: unknown): string[] => arr(v).filter((x): x is string => typeof x === "string" && x !== "");
const str = (v: unknown): string | undefined => strs(v)[0];
const num = (v: unknown): number | undefined => {
  const x = arr(v)[0];
  const n = typeof x === "number" ? x : typeof x === "string" && x.trim() !== "" ? Number(x) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
};
const bool = (v: unknown): boolean | null => {
  const x = arr(v)[0];
  if (typeof x === "boolean") return x;
  if (x === "true") return true;
  if (x === "false") return false;
  return null;
};

function get(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    const o = cur as Record<string, unknown>;
    if (part in o) cur = o[part];
    else return undefined;
  }
  return cur;
}

/** Device class from medsoc's own class or, failing that, the vendor's type words. */
export function classOf(explicit: string | undefined, vendorType: string | undefined): string | undefined {
  if (explicit) return explicit;
  if (!vendorType) return undefined;
  const t = vendorType.toLowerCase().replace(/_/g, " ");
  if (/infusion|syringe pump/.test(t)) return "infusion_pump";
  if (/patient monitor|vital/.test(t)) return "patient_monitor";
  if (/imaging|x-ray|ct |mri|ultrasound|pacs/.test(t)) return "imaging";
  if (/workstation|medical computer|clinical pc/.test(t)) return "clinical_workstation";
  if (/nurse call/.test(t)) return "nurse_call";
  if (/dispens/.test(t)) return "medication_dispensing";
  if (/lab|analy[sz]er/.test(t)) return "lab_analyzer";
  return undefined;
}

function infoFrom(key: string, f: Fields, clinical: ClinicalServers, inUseSeenAt?: string): DeviceInfo {
  const vendorType =
    str(f("medsoc.device.vendor_type")) ?? str(f("armis.device.type")) ?? str(f("armis.device.type_enum"));
  const deviceClass = classOf(str(f("medsoc.device.class")), vendorType);
  const site = str(f("medsoc.location.site")) ?? str(f("armis.device.site.name"));
  const osName =
    str(f("host.os.full")) ?? [str(f("host.os.name")), str(f("host.os.version"))].filter(Boolean).join(" ");
  const credential = {
    observed: str(f("medsoc.credential.observed")),
    username: str(f("medsoc.credential.username")),
    fingerprint: str(f("medsoc.credential.fingerprint")),
  };
  const info: DeviceInfo = {
    key,
    name: str(f("host.name")),
    macs: strs(f("host.mac")),
    ips: strs(f("host.ip")),
    deviceClass,
    vendorType,
    manufacturer: str(f("device.manufacturer")),
    model: str(f("device.model.name")),
    site,
    ward: str(f("medsoc.location.ward")),
    inUse: bool(f("medsoc.clinical.in_use")),
    inUseSeenAt,
    batteryLevel: num(f("medsoc.clinical.battery_level")),
    utilizationRate: num(f("medsoc.clinical.utilization_rate")),
    consequenceOfFailure: str(f("medsoc.clinical.consequence_of_failure")),
    fdaClass: num(f("medsoc.clinical.fda_class")),
    criticality: str(f("medsoc.device.criticality")),
    osEol: bool(f("medsoc.device.os_eol")) ?? undefined,
    os: osName || undefined,
    clinicalServers:
      (site && deviceClass ? clinical[`${site}/${deviceClass}`] : undefined) ??
      (deviceClass ? clinical[deviceClass] : undefined) ??
      [],
    credential: credential.fingerprint || credential.observed ? credential : undefined,
  };
  for (const k of Object.keys(info) as (keyof DeviceInfo)[]) if (info[k] === undefined) delete info[k];
  return info;
}

/** DeviceInfo from a device state: the freshest value of each field across sources. */
export function infoFromState(state: DeviceState, clinical: ClinicalServers): DeviceInfo {
  // ASSUMED field: only the xDome simulator emits an in-use flag (mapped to medsoc.clinical.in_use);
  // its time is the source's seenAt, so an old observation is recognised as stale.
  const info = infoFrom(
    state.key,
    (path) => state.facts[path]?.[0]?.value,
    clinical,
    state.facts["medsoc.clinical.in_use"]?.[0]?.seenAt,
  );
  if (!info.macs.length) info.macs = state.identifiers.macs;
  if (!info.ips.length) info.ips = state.identifiers.ips;
  info.site ??= state.identifiers.site;
  if (!info.clinicalServers.length && info.site && info.deviceClass)
    info.clinicalServers = clinical[`${info.site}/${info.deviceClass}`] ?? [];
  // The stores of issue 4 keep credential observations under `exposure` rather than as facts.
  const exposure = (
    state as { exposure?: { credentialFingerprints?: string[]; credentialsObserved?: string[] } }
  ).exposure;
  if (!info.credential?.fingerprint && exposure?.credentialFingerprints?.length) {
    const observed = exposure.credentialsObserved ?? [];
    info.credential = {
      ...info.credential,
      fingerprint: exposure.credentialFingerprints[exposure.credentialFingerprints.length - 1],
      // Hard-coded wins: such a device is contained, never rotated.
      observed: observed.includes("hard_coded")
        ? "hard_coded"
        : (observed[observed.length - 1] ?? info.credential?.observed),
    };
  }
  return info;
}

/** DeviceInfo from one document (the fallback: the fields it carries). */
export function infoFromDocument(key: string, doc: EcsDocument, clinical: ClinicalServers): DeviceInfo {
  const ts = get(doc, "@timestamp");
  return infoFrom(key, (path) => get(doc, path), clinical, typeof ts === "string" ? ts : undefined);
}

export interface DeviceDirectoryOptions {
  /** The device state store (issue 4), when the deployment runs one. */
  state?: DeviceStateStore;
  clinicalServers?: ClinicalServers;
  /** Devices kept from documents (oldest dropped first). @defaultValue 200000 */
  maxDevices?: number;
  /**
   * Maximum age of an in-use observation before it counts as stale (clinical gate).
   * @defaultValue 30 minutes
   */
  clinicalMaxAgeMs?: number;
}

/** Looks devices up for the playbooks: state store first, then the document index. */
export class DeviceDirectory {
  readonly #state?: DeviceStateStore;
  readonly #clinical: ClinicalServers;
  readonly #max: number;
  /** Maximum age of an in-use observation (the clinical gate and `device.assess`). */
  readonly clinicalMaxAgeMs: number;
  /**
   * key → the device as its newest document describes it. The summary, not the document: keeping
   * every inventory document here doubled the embedded default's memory (issue 13 item 9).
   */
  readonly #docs = new Map<string, DeviceInfo>();
  /** MAC / IP / `<source>:<host.id>` → key. */
  readonly #aliases = new Map<string, string>();

  constructor(options: DeviceDirectoryOptions = {}) {
    this.#state = options.state;
    this.#clinical = options.clinicalServers ?? {};
    this.#max = options.maxDevices ?? 200_000;
    this.clinicalMaxAgeMs = options.clinicalMaxAgeMs ?? 30 * 60_000;
  }

  /** Indexes device-describing documents (inventory snapshots and documents that carry a MAC). */
  observe(docs: readonly EcsDocument[]): void {
    for (const doc of docs) {
      if (doc.event.kind !== "asset") continue;
      const source = doc.medsoc.source;
      const hostId = str(get(doc, "host.id"));
      const mac = str(get(doc, "host.mac"));
      const key =
        str(get(doc, "medsoc.device.key")) ?? (mac ? mac : hostId ? `${source}:${hostId}` : undefined);
      if (!key) continue;
      this.#docs.delete(key);
      this.#docs.set(key, infoFromDocument(key, doc, this.#clinical));
      if (hostId) this.#aliases.set(`${source}:${hostId}`, key);
      for (const m of strs(get(doc, "host.mac"))) this.#aliases.set(m, key);
      for (const ip of strs(get(doc, "host.ip"))) this.#aliases.set(ip, key);
      if (this.#docs.size > this.#max) {
        const oldest = this.#docs.keys().next().value;
        if (oldest !== undefined) this.#docs.delete(oldest);
      }
    }
  }

  /** A device by key, MAC (`AA-BB-…` or `aa:bb:…`), IP or `<source>:<host.id>`. */
  async get(keyOrAlias: string): Promise<DeviceInfo | null> {
    const alias = /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i.test(keyOrAlias)
      ? keyOrAlias.toUpperCase().replace(/:/g, "-")
      : keyOrAlias;
    if (this.#state) {
      let state = await this.#state.get(alias);
      if (!state) {
        const isMac = /^([0-9A-F]{2}-){5}[0-9A-F]{2}$/.test(alias);
        const isIp = /^\d+\.\d+\.\d+\.\d+$/.test(alias);
        const k = isMac || isIp ? await this.#state.resolve(isMac ? { mac: alias } : { ip: alias }) : null;
        if (k) state = await this.#state.get(k);
      }
      if (state) return infoFromState(state, this.#clinical);
    }
    const key = this.#docs.has(alias) ? alias : this.#aliases.get(alias);
    const info = key ? this.#docs.get(key) : undefined;
    return info ? { ...info } : null;
  }

  /**
   * The devices a document is about: its `medsoc.device.key`, else each `host.id` of its source
   * (Armis alerts name several), else its MAC/IP. A device nobody described yet is built from the
   * document's own fields.
   */
  async devicesOf(doc: EcsDocument): Promise<DeviceInfo[]> {
    const out: DeviceInfo[] = [];
    const key = str(get(doc, "medsoc.device.key"));
    if (key) {
      const d = await this.get(key);
      if (d) return [d];
    }
    for (const id of strs(get(doc, "host.id"))) {
      const alias = `${doc.medsoc.source}:${id}`;
      out.push((await this.get(alias)) ?? infoFromDocument(alias, doc, this.#clinical));
    }
    if (out.length) return out;
    for (const m of [...strs(get(doc, "host.mac")), ...strs(get(doc, "host.ip"))]) {
      const d = await this.get(m);
      if (d) return [d];
    }
    return out;
  }

  /** The lookup keys a document names (`medsoc.device.key`, `<source>:<host.id>`, MACs, IPs). */
  aliasesOf(doc: EcsDocument): string[] {
    const key = str(get(doc, "medsoc.device.key"));
    if (key) return [key];
    const ids = strs(get(doc, "host.id")).map((id) => `${doc.medsoc.source}:${id}`);
    return ids.length ? ids : [...strs(get(doc, "host.mac")), ...strs(get(doc, "host.ip"))];
  }

  /** The device behind one alias, or one built from the document's own fields. */
  async deviceFor(alias: string, doc: EcsDocument): Promise<{ device: DeviceInfo; known: boolean }> {
    const d = await this.get(alias);
    return d
      ? { device: d, known: true }
      : { device: infoFromDocument(alias, doc, this.#clinical), known: false };
  }

  /** Every known device whose credential fingerprint is `fingerprint` (fleet-wide). */
  async sharingCredential(fingerprint: string): Promise<DeviceInfo[]> {
    const out = new Map<string, DeviceInfo>();
    if (this.#state)
      for await (const s of this.#state.list()) {
        const info = infoFromState(s, this.#clinical);
        if (info.credential?.fingerprint === fingerprint) out.set(info.key, info);
      }
    for (const [key, info] of this.#docs)
      if (!out.has(key) && info.credential?.fingerprint === fingerprint) out.set(key, info);
    return [...out.values()];
  }

  get size(): number {
    return this.#docs.size;
  }
}
