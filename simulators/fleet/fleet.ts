/**
 * Deterministic simulated hospital fleet. Device `i` is a pure function of `(seed, i)`, so any page
 * of a 5-million-device fleet is computed directly and nothing is held in memory but a fixed
 * 10,000-slot profile table. What devices are drawn from is in `catalogue.ts` (classes, models,
 * CVEs, alerts), `clinical.ts` and `credentials.ts`; the randomness in `random.ts`.
 *
 * How it stays streamable: device `i` uses profile slot `i % PERIOD` of a seeded, shuffled table in
 * which every class, model, OS, vulnerability and alert has its exact share. The k-th device matched
 * by a CVE and the k-th alert are then found by arithmetic on the sorted slot lists, and `lastSeen`
 * grows with `i` (groups of {@link TIE_GROUP} devices share the exact same microsecond) so
 * `after:` filters become binary searches.
 *
 * The fleet speaks no vendor's language: {@link Fleet.facts}, {@link Fleet.alertFacts} and
 * {@link Fleet.cves} are the neutral model every monitor simulator renders in its own API shape
 * (Armis's in `simulators/armis/records.ts`).
 */
import {
  ALERT_TEMPLATES,
  type AlertKind,
  CLASSES,
  type ClassSpec,
  CVE_INDEX,
  CVES,
  type CveSpec,
  type DeviceClass,
  type ModelSpec,
  type OsSpec,
  SITES,
  WARDS,
} from "./catalogue.ts";
import { CLINICAL, type ConsequenceOfFailure, firmwareOf } from "./clinical.ts";
import { type CredentialFacts, type CredentialKind, credentialOf } from "./credentials.ts";
import { allocate, deviceUid, HEX, hex8, mix32, mulberry32 } from "./random.ts";
import { DAY_US } from "./time.ts";

export type { AlertKind, DeviceClass } from "./catalogue.ts";
export type { CredentialFacts, CredentialKind } from "./credentials.ts";

/** Number of profile slots; every share is exact over any `PERIOD` consecutive devices. */
export const PERIOD = 10_000;
/** Devices that share one exact `lastSeen` (cursor tie-breaks). */
export const TIE_GROUP = 3;
/** Microseconds between two tie groups: about 12 devices per second, never on a whole second. */
export const STEP_US = 250_013;
/** @defaultValue of {@link FleetOptions.startMs}: 2025-03-29T00:00:00Z, the date of the reference samples. */
export const DEFAULT_START_MS = Date.UTC(2025, 2, 29);

export interface FleetOptions {
  /** Number of devices (5 to 5,000,000 are exercised). */
  size: number;
  /** Seed of every random choice. @defaultValue 1 */
  seed?: number;
  /** `lastSeen` of device 0, epoch milliseconds. Device `i` is seen later. @defaultValue {@link DEFAULT_START_MS} */
  startMs?: number;
}

/** The profile a device was drawn from (what the tests check proportions on). */
export interface DeviceProfile {
  deviceClass: DeviceClass;
  manufacturer: string;
  model: string;
  operatingSystem: string;
  operatingSystemVersion: string;
  /** True for Windows older than 10 (XP, 7, CE, Embedded, Server 2008/2012). */
  oldWindows: boolean;
  vulnerable: boolean;
  cves: readonly string[];
  alerts: number;
}

/** Share of devices whose risk is critical (the report: 33%). */
export const CRITICAL_SHARE = 0.33;

/** The vendor-neutral facts about one device; see {@link Fleet.facts}. */
export interface DeviceFacts {
  index: number;
  /** Integer id (index + 1; the Armis device id). */
  id: number;
  /** Stable UUID (xDome `uid`, Nozomi `id`, …). */
  uid: string;
  /** Upper-case, colon-separated. */
  mac: string;
  ip: string;
  ipv6: string | null;
  name: string;
  serial: string;
  deviceClass: DeviceClass;
  manufacturer: string;
  model: string;
  /** Human type label ("Infusion Pumps"). */
  vendorType: string;
  /** Upper-snake type ("INFUSION_PUMP"). */
  typeEnum: string;
  /** "Medical", "Computers", "Network Equipment", … */
  category: string;
  operatingSystem: string;
  operatingSystemVersion: string;
  /**
   * Firmware or software version the device runs, consistent with {@link vulnerable}: for models
   * whose advisories in `reference/data/advisories/csaf/` give version ranges, a vulnerable device
   * runs a version inside an affected range and a not-vulnerable one a fixed version outside every
   * range (see `FIRMWARE`); other models run their OS line's version.
   */
  firmwareVersion: string;
  oldWindows: boolean;
  site: { name: string; location: string };
  ward: string;
  firstSeenUs: number;
  lastSeenUs: number;
  vulnerable: boolean;
  /** Ground truth of "carries a critical risk" (33% of devices). */
  criticalRisk: boolean;
  cves: string[];
  /** Monitor risk score 0–100; 90 and above exactly when {@link criticalRisk}. */
  risk: number;
  businessImpact: string;
  purdueLevel: number;
  /** FDA device class 1–3; null for non-medical devices. */
  fdaClass: 1 | 2 | 3 | null;
  /** Handles protected health information. */
  phi: boolean;
  /** xDome-style equipment class ("Infusion Device", …); null for non-medical devices. */
  equipmentClass: string | null;
  /** Joint Commission consequence of failure: "Life Support", "High", "Medium", "Low". */
  consequenceOfFailure: ConsequenceOfFailure;
  /** Percent, for battery-powered devices (pumps, monitors); null otherwise. */
  batteryLevel: number | null;
  /** A pump infusing or a monitor attached to a patient right now. */
  inUse: boolean;
  /** 0–1 for clinical devices; null otherwise. */
  utilizationRate: number | null;
  credential: CredentialFacts;
  /** Clinical servers the device must keep reaching under restricted containment. */
  clinicalServers: string[];
}

/** The vendor-neutral facts about one alert; see {@link Fleet.alertFacts}. */
export interface AlertFacts {
  index: number;
  /** Device index the alert is about. */
  device: number;
  timeUs: number;
  kind: AlertKind;
  title: string;
  description: string;
  severity: "Low" | "Medium" | "High" | "Critical";
  mitre: string | null;
  resolved: boolean;
}

/** The vendor-neutral facts about one CVE of the fleet; see {@link Fleet.cves}. */
export interface CveFacts {
  /** Index in the catalogue's `CVES`. */
  index: number;
  id: string;
  /** CVSS v3 base score. */
  score: number;
  severity: "Low" | "Medium" | "High" | "Critical";
  /** CVSS v3 exploitability subscore (3.9, network / low complexity / no privileges, for all). */
  exploitabilityScore: number;
  description: string;
  /** Publication date, `YYYY-MM-DD`. */
  published: string;
  type: CveSpec["type"];
  /** ICS advisory id, when an advisory covers it. */
  advisory: string | null;
  /** CISA KEV due date (`YYYY-MM-DD`) of known-exploited CVEs. */
  kevDue: string | null;
  ransomware: boolean | null;
  /** FIRST EPSS probability and percentile (0.97 / 0.99 for known-exploited CVEs). */
  epssScore: number;
  epssPercentile: number;
  /** Devices of this fleet with the CVE. */
  devices: number;
  /** When the monitors last detected it, epoch µs. */
  lastDetectedUs: number;
}

/** The raw draw of one device; see {@link Fleet.draw}. */
export interface DeviceDraw {
  index: number;
  profile: Profile;
  vulnerable: boolean;
  /** Number of CVEs the device carries. */
  cveCount: number;
  /** Per-device hashes renderers derive vendor-specific detail from. */
  h: number;
  h2: number;
  id: number;
  lastUs: number;
  firstUs: number;
  site: (typeof SITES)[number];
  ward: string;
  ip: string;
  mac: string;
  name: string;
  /** Monitor risk 0–100 before the critical-risk rule (Armis's `riskLevel`). */
  risk: number;
  businessImpact: string;
  /** The device also has an IPv6 address (`::ffff:<ip>`). */
  ipv6: boolean;
}

/** Which device an alert is about and how it was drawn; see {@link Fleet.alertDraw}. */
export interface AlertDraw {
  device: number;
  h: number;
  /** Index in the catalogue's `ALERT_TEMPLATES`. */
  template: number;
}

/** One class × model × OS combination of the catalogue; the same object for every device drawn from it. */
export interface Profile {
  readonly cls: ClassSpec;
  readonly model: ModelSpec;
  readonly os: OsSpec;
  readonly oldWindows: boolean;
}

function profileOf(cls: ClassSpec, model: ModelSpec, os: OsSpec): Profile {
  return { cls, model, os, oldWindows: os.oldWindows === true };
}

interface Slot {
  profile: number;
  vulnerable: boolean;
  cves: number[];
  alerts: number;
}

/** A generated fleet. Every accessor is O(1) or O(log PERIOD); nothing grows with `size`. */
export class Fleet {
  readonly size: number;
  readonly seed: number;
  readonly startMs: number;
  readonly #startUs: number;
  readonly #profiles: Profile[] = [];
  readonly #slots: Slot[];
  /** Sorted slot residues per CVE index. */
  readonly #cveSlots: Int32Array[];
  /** Sorted residues of slots with alerts, and the cumulative alert count before each. */
  readonly #alertSlots: Int32Array;
  readonly #alertCum: Int32Array;
  /** 1 where the slot's device carries a critical risk (33% of slots, all of them vulnerable). */
  readonly #criticalSlots: Uint8Array;
  #cves: CveFacts[] | undefined;
  #cveById: Map<string, CveFacts> | undefined;

  constructor(options: FleetOptions) {
    if (!Number.isInteger(options.size) || options.size < 0)
      throw new RangeError("fleet size must be a non-negative integer");
    this.size = options.size;
    this.seed = options.seed ?? 1;
    this.startMs = options.startMs ?? DEFAULT_START_MS;
    this.#startUs = this.startMs * 1000;
    const rng = mulberry32(mix32(this.seed ^ 0x5bd1e995));
    const slots: Slot[] = [];
    const classCounts = allocate(
      PERIOD,
      CLASSES.map((c) => c.share),
    );
    CLASSES.forEach((cls, ci) => {
      const modelCounts = allocate(
        classCounts[ci] ?? 0,
        cls.models.map((m) => m.weight),
      );
      cls.models.forEach((model, mi) => {
        const count = modelCounts[mi] ?? 0;
        const osCounts = allocate(
          count,
          model.os.map((o) => o.weight),
        );
        // Vulnerable slots per model keep the class rate exact, spread over its OS variants.
        let vulnerableLeft = Math.round(count * cls.vulnerable);
        let remaining = count;
        model.os.forEach((os, oi) => {
          const profile = this.#profiles.length;
          this.#profiles.push(profileOf(cls, model, os));
          const pool = [...new Set([...model.cves, ...(os.cves ?? [])])]
            .map((id) => CVE_INDEX.get(id))
            .filter((x): x is number => x !== undefined);
          const n = osCounts[oi] ?? 0;
          for (let k = 0; k < n; k++) {
            const vulnerable = pool.length > 0 && rng() * remaining < vulnerableLeft;
            remaining--;
            const cves: number[] = [];
            if (vulnerable) {
              vulnerableLeft--;
              const want = 1 + Math.floor(rng() * Math.min(3, pool.length));
              const shuffled = [...pool].sort(() => rng() - 0.5);
              cves.push(...shuffled.slice(0, want));
            }
            const alertChance = vulnerable ? 0.06 : 0.015;
            const alerts = rng() < alertChance ? 1 + Math.floor(rng() * 3) : 0;
            slots.push({ profile, vulnerable, cves, alerts });
          }
        });
      });
    });
    for (let i = slots.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      const t = slots[i] as Slot;
      slots[i] = slots[j] as Slot;
      slots[j] = t;
    }
    this.#slots = slots;
    const perCve: number[][] = CVES.map(() => []);
    const alertSlots: number[] = [];
    const alertCum: number[] = [0];
    slots.forEach((slot, r) => {
      for (const c of slot.cves) perCve[c]?.push(r);
      if (slot.alerts > 0) {
        alertSlots.push(r);
        alertCum.push((alertCum[alertCum.length - 1] ?? 0) + slot.alerts);
      }
    });
    this.#cveSlots = perCve.map((list) => Int32Array.from(list));
    this.#alertSlots = Int32Array.from(alertSlots);
    this.#alertCum = Int32Array.from(alertCum);
    // Critical risk: exactly CRITICAL_SHARE of every period, chosen among the vulnerable slots by a
    // hash (not the rng, so the rest of the fleet does not change with it).
    const vulnerableSlots = slots.flatMap((slot, r) => (slot.vulnerable ? [r] : []));
    vulnerableSlots.sort((a, b) => mix32(a ^ this.seed ^ 0x2f1c) - mix32(b ^ this.seed ^ 0x2f1c) || a - b);
    this.#criticalSlots = new Uint8Array(PERIOD);
    for (const r of vulnerableSlots.slice(0, Math.round(PERIOD * CRITICAL_SHARE))) this.#criticalSlots[r] = 1;
  }

  // ---- devices ----------------------------------------------------------------------------

  /** `lastSeen` of device `i` in epoch microseconds; non-decreasing in `i`. */
  lastSeenUs(i: number): number {
    return this.#startUs + Math.floor(i / TIE_GROUP) * STEP_US;
  }

  /** Integer id of device index `i` (`facts(i).id`, the Armis device id). */
  deviceId(i: number): number {
    return i + 1;
  }

  /** The profile device `i` was drawn from. */
  profile(i: number): DeviceProfile {
    const slot = this.#slot(i);
    const p = this.#profiles[slot.profile] as Profile;
    return {
      deviceClass: p.cls.key,
      manufacturer: p.model.manufacturer,
      model: p.model.model,
      operatingSystem: p.os.name,
      operatingSystemVersion: p.os.version,
      oldWindows: p.oldWindows,
      vulnerable: slot.vulnerable,
      cves: slot.cves.map((c) => (CVES[c] as CveSpec).id),
      alerts: slot.alerts,
    };
  }

  /** Index of the first device whose `lastSeen` is at or after `us` (or `size`). */
  firstDeviceAtOrAfter(us: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.lastSeenUs(mid) < us) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The raw draw of device `i`: its profile, hashes and the values every view of it shares.
   * {@link facts} is built from it; monitor renderers that need detail no fact carries (Armis's
   * sensor, tags and data sources, `simulators/armis/records.ts`) derive it from `h` and `h2`.
   */
  draw(i: number): DeviceDraw {
    const slot = this.#slot(i);
    const p = this.#profiles[slot.profile] as Profile;
    const h = mix32(Math.imul(i, 0x9e3779b1) ^ this.seed);
    const h2 = mix32(h ^ 0x68e31da4);
    const id = i + 1;
    const lastUs = this.lastSeenUs(i);
    const firstUs = lastUs - (1 + (h % 700)) * DAY_US - (h2 % 86_400) * 1_000_000;
    const site = SITES[h2 & 3] as (typeof SITES)[number];
    const ward = WARDS[(h >>> 8) % WARDS.length] as string;
    const ip = `10.${Math.floor(i / 62_500) & 255}.${Math.floor(i / 250) % 250}.${1 + (i % 250)}`;
    const macLow = Math.imul(i, 0x2545f491) & 0xffffff;
    const oui = mix32(slot.profile + 7919) & 0xfcffff;
    return {
      index: i,
      profile: p,
      vulnerable: slot.vulnerable,
      cveCount: slot.cves.length,
      h,
      h2,
      id,
      lastUs,
      firstUs,
      site,
      ward,
      ip,
      mac: `${HEX[(oui >>> 16) & 0xfe]}:${HEX[(oui >>> 8) & 255]}:${HEX[oui & 255]}:${HEX[macLow >>> 16]}:${HEX[(macLow >>> 8) & 255]}:${HEX[macLow & 255]}`,
      name: `${p.model.prefix}-${ward}-${String(id).padStart(6, "0")}`,
      risk: Math.min(100, p.cls.riskBase + (slot.vulnerable ? 25 : 0) + (h % 15)),
      businessImpact: p.cls.businessImpact[(h >>> 4) % p.cls.businessImpact.length] as string,
      ipv6: (h & 32) !== 0,
    };
  }

  // ---- vendor-neutral view (the simulated hospital) ----------------------------------------

  /**
   * Everything the simulated hospital knows about device `i`, independent of any vendor's shape.
   * Every monitor simulator renders these facts in its own API shape, so the same device (same MAC,
   * serial, IP and name) appears through every monitor that is enabled.
   */
  facts(i: number): DeviceFacts {
    const d = this.draw(i);
    const { profile: p, h } = d;
    const slot = this.#slot(i);
    const h3 = mix32(h ^ 0x7f4a7c15 ^ this.seed);
    const cls = p.cls.key;
    const critical = this.#critical(i);
    const clinical = CLINICAL[cls];
    const credential = credentialOf(p.model, cls, h3, i);
    // Pumps and monitors in use: about 60% of them are running therapy at any moment.
    const inUse = clinical.inUseRate > 0 && (h3 >>> 8) % 1000 < clinical.inUseRate * 1000;
    const battery = clinical.battery ? 15 + ((h3 >>> 4) % 86) : null;
    return {
      index: i,
      id: d.id,
      uid: deviceUid(i, this.seed),
      mac: d.mac,
      ip: d.ip,
      ipv6: d.ipv6 ? `::ffff:${d.ip}` : null,
      name: d.name,
      serial: `${p.model.prefix.replace(/[^A-Z0-9]/g, "").slice(0, 6)}${hex8(mix32(i ^ 0x51ed27 ^ this.seed)).toUpperCase()}`,
      deviceClass: cls,
      manufacturer: p.model.manufacturer,
      model: p.model.model,
      vendorType: p.model.type,
      typeEnum: p.model.typeEnum,
      category: p.model.category,
      operatingSystem: p.os.name,
      operatingSystemVersion: p.os.version,
      firmwareVersion: firmwareOf(p.model, p.os, slot.vulnerable, h3 >>> 3),
      oldWindows: p.oldWindows,
      site: { name: d.site.name, location: d.site.location },
      ward: d.ward,
      firstSeenUs: d.firstUs,
      lastSeenUs: d.lastUs,
      vulnerable: slot.vulnerable,
      criticalRisk: critical,
      cves: slot.cves.map((c) => (CVES[c] as CveSpec).id),
      risk: critical ? 90 + (h3 % 11) : Math.min(89, d.risk),
      businessImpact: d.businessImpact,
      purdueLevel: p.cls.purdueLevel,
      fdaClass: clinical.fdaClass,
      phi: clinical.phi,
      equipmentClass: clinical.equipmentClass,
      consequenceOfFailure: clinical.consequenceOfFailure,
      batteryLevel: battery,
      inUse,
      utilizationRate:
        clinical.inUseRate > 0
          ? Math.round((inUse ? 0.5 + (h3 % 50) / 100 : (h3 % 30) / 100) * 100) / 100
          : null,
      credential,
      clinicalServers: clinical.servers.map((s) => `10.200.${d.site.sensor === "MC" ? 1 : 2}.${s}`),
    };
  }

  /** True for the devices whose risk the hospital rates critical: exactly 33% of every period. */
  #critical(i: number): boolean {
    return this.#criticalSlots[i % PERIOD] === 1;
  }

  /** Vendor-neutral view of alert `k`: which device, when, and what kind of attack or finding. */
  alertFacts(k: number): AlertFacts {
    const { device, h, template } = this.alertDraw(k);
    const t = ALERT_TEMPLATES[template] as (typeof ALERT_TEMPLATES)[number];
    return {
      index: k,
      device,
      timeUs: this.lastSeenUs(device),
      kind: t.kind,
      title: t.title,
      description: t.description.trim(),
      severity: t.severity,
      mitre: t.mitre ?? null,
      resolved: h % 10 === 0,
    };
  }

  // ---- alerts -----------------------------------------------------------------------------

  /** Credential kind of device `i` (what {@link facts} reports), without building the facts. */
  #credentialKind(i: number): CredentialKind {
    const d = this.draw(i);
    return credentialOf(d.profile.model, d.profile.cls.key, mix32(d.h ^ 0x7f4a7c15 ^ this.seed), i).kind;
  }

  /**
   * Device, hash and template (index in `ALERT_TEMPLATES`) of alert `k`; renderers derive
   * vendor-specific detail from `h`. A default-credential login can only happen on a device whose
   * password is a vendor default or a shared one: on any other device that alert is the next
   * template (SMBv1 traffic) instead.
   */
  alertDraw(k: number): AlertDraw {
    const { device, sub } = this.#alertDevice(k);
    const h = mix32(Math.imul(k + 1, 0x85ebca6b) ^ this.seed ^ 0x27d4eb2f);
    let template = (h + sub) % ALERT_TEMPLATES.length;
    if (ALERT_TEMPLATES[template]?.kind === "default_credential_login") {
      const kind = this.#credentialKind(device);
      if (kind !== "default" && kind !== "shared") template = (template + 1) % ALERT_TEMPLATES.length;
    }
    return { device, h, template };
  }

  /** Number of alerts in this fleet. */
  get alertCount(): number {
    const perPeriod = this.#alertCum[this.#alertCum.length - 1] ?? 0;
    const full = Math.floor(this.size / PERIOD);
    const rest = this.size - full * PERIOD;
    // Alert slots with residue < rest.
    let lo = 0;
    let hi = this.#alertSlots.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#alertSlots[mid] as number) < rest) lo = mid + 1;
      else hi = mid;
    }
    return full * perPeriod + (this.#alertCum[lo] as number);
  }

  /** Device index that alert `k` is about, and which of that device's alerts it is. */
  #alertDevice(k: number): { device: number; sub: number } {
    const perPeriod = this.#alertCum[this.#alertCum.length - 1] as number;
    const q = Math.floor(k / perPeriod);
    const w = k - q * perPeriod;
    let lo = 0;
    let hi = this.#alertSlots.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((this.#alertCum[mid] as number) <= w) lo = mid;
      else hi = mid - 1;
    }
    return { device: q * PERIOD + (this.#alertSlots[lo] as number), sub: w - (this.#alertCum[lo] as number) };
  }

  /** `time` of alert `k` in epoch microseconds; non-decreasing in `k`. */
  alertTimeUs(k: number): number {
    return this.lastSeenUs(this.#alertDevice(k).device);
  }

  /** Index of the first alert whose `time` is at or after `us` (or `alertCount`). */
  firstAlertAtOrAfter(us: number): number {
    let lo = 0;
    let hi = this.alertCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.alertTimeUs(mid) < us) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // ---- vulnerabilities --------------------------------------------------------------------

  /** Number of devices with CVE index `c`. */
  #matchCount(c: number): number {
    const residues = this.#cveSlots[c] as Int32Array;
    const full = Math.floor(this.size / PERIOD);
    const rest = this.size - full * PERIOD;
    let lo = 0;
    let hi = residues.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((residues[mid] as number) < rest) lo = mid + 1;
      else hi = mid;
    }
    return full * residues.length + lo;
  }

  /**
   * The CVEs with at least one device in this fleet, ordered by `lastDetectedUs` then id (pairs of
   * CVEs share one `lastDetectedUs`, so cursor tie-breaks are exercised on vulnerabilities too).
   */
  cves(): readonly CveFacts[] {
    if (this.#cves) return this.#cves;
    const spanUs = Math.max(1, this.lastSeenUs(Math.max(0, this.size - 1)) - this.#startUs);
    const list: CveFacts[] = [];
    CVES.forEach((spec, c) => {
      const devices = this.#matchCount(c);
      if (devices === 0) return;
      const pair = Math.floor(c / 2);
      const lastDetectedUs =
        this.#startUs +
        Math.floor((mix32(Math.imul(pair + 1, 0x9e3779b1) ^ this.seed) / 4294967296) * spanUs);
      const h = mix32(c ^ 0x3c6ef372 ^ this.seed);
      list.push({
        index: c,
        id: spec.id,
        score: spec.score,
        severity:
          spec.score >= 9 ? "Critical" : spec.score >= 7 ? "High" : spec.score >= 4 ? "Medium" : "Low",
        exploitabilityScore: 3.9,
        description: spec.description,
        published: spec.published,
        type: spec.type,
        advisory: spec.advisory ?? null,
        kevDue: spec.kevDue ?? null,
        ransomware: spec.ransomware ?? null,
        epssScore: spec.kevDue ? 0.97 : Math.round(h % 5000) / 100_000,
        epssPercentile: spec.kevDue ? 0.99 : Math.round((h % 1000) / 10) / 100,
        devices,
        lastDetectedUs,
      });
    });
    list.sort((x, y) => x.lastDetectedUs - y.lastDetectedUs || (x.id < y.id ? -1 : 1));
    this.#cves = list;
    return list;
  }

  /** The facts of CVE `id` when at least one device of this fleet has it. */
  cve(id: string): CveFacts | undefined {
    this.#cveById ??= new Map(this.cves().map((c) => [c.id, c]));
    return this.#cveById.get(id);
  }

  /** Number of devices with `cveUid` (0 for an unknown CVE). */
  matchCount(cveUid: string): number {
    const c = CVE_INDEX.get(cveUid);
    return c === undefined ? 0 : this.#matchCount(c);
  }

  /** Device index of the k-th device with `cveUid`, in device order. */
  matchDevice(cveUid: string, k: number): number {
    const c = CVE_INDEX.get(cveUid);
    if (c === undefined) throw new RangeError(`unknown CVE ${cveUid}`);
    const residues = this.#cveSlots[c] as Int32Array;
    return Math.floor(k / residues.length) * PERIOD + (residues[k % residues.length] as number);
  }

  #slot(i: number): Slot {
    return this.#slots[i % PERIOD] as Slot;
  }
}

/** Creates a deterministic fleet. */
export function createFleet(options: FleetOptions): Fleet {
  return new Fleet(options);
}
