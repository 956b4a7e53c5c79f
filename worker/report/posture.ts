/**
 * The posture report over the current device state (issue 4): headline figures, top exposed
 * classes, top advisories and CVEs by affected devices, KEV hits, and the ten riskiest infusion
 * pumps with the factors that make them so. Pure over a list of device states.
 */

import type { DeviceState } from "../../mappings/device-state.ts";
import type { DeviceClass } from "../../mappings/enrich/classify.ts";
import { DEFAULT_ENRICHMENT, type EnrichmentOptions } from "../../mappings/enrich/options.ts";
import { type DerivedDevice, deriveDevice } from "../device-state/derive.ts";

export interface Share {
  count: number;
  of: number;
  /** count / of, 0 when `of` is 0. */
  share: number;
}

export interface ClassRow {
  class: DeviceClass;
  devices: number;
  vulnerable: number;
  critical: number;
  vulnerableShare: number;
}

export interface PostureReport {
  generatedAt: string;
  devices: number;
  /** Devices seen by two or more monitors (merged into one identity). */
  multiSource: number;
  /** Devices whose monitors disagree on a field (model, class, …). */
  withConflicts: number;
  criticalRiskScore: number;
  headline: {
    /** Devices with at least one known vulnerability (CVE finding or advisory match). */
    vulnerable: Share;
    /** Devices whose risk score is at least `criticalRiskScore`. */
    criticalRisk: Share;
    /** Infusion pumps among every connected (IoT) device the monitors see. */
    infusionPumps: Share;
    /** Infusion pumps with at least one known vulnerability. */
    infusionPumpsVulnerable: Share;
    /** Devices running Windows older than 10 (XP, 7, CE, Embedded, Server 2008/2012). */
    olderThanWindows10: Share;
    /** Devices past OS end of life (EOL table or Windows older than 10). */
    osEol: Share;
    /** Devices with default or shared credentials. */
    defaultOrSharedCredentials: Share;
    /** Devices with hard-coded credentials (need a compensating control). */
    hardCodedCredentials: Share;
  };
  classes: ClassRow[];
  topAdvisories: { id: string; devices: number }[];
  topCves: { id: string; devices: number; knownExploited: boolean }[];
  kev: { id: string; devices: number }[];
  riskiestPumps: {
    key: string;
    name?: string;
    model?: string;
    site?: string;
    ward?: string;
    score: number;
    why: string[];
  }[];
  riskHistogram: { from: number; to: number; devices: number }[];
}

const share = (count: number, of: number): Share => ({ count, of, share: of === 0 ? 0 : count / of });

const top = (m: Map<string, number>, n: number) =>
  [...m]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, n)
    .map(([id, devices]) => ({ id, devices }));

/**
 * Builds the report. `states` is listed twice (the fleet view of credential fingerprints needs
 * every device before any is scored), so pass something that can be iterated again (a store's
 * `list`, an array).
 */
export async function buildPostureReport(
  states: () => AsyncIterable<DeviceState> | Iterable<DeviceState>,
  options: { enrichment?: EnrichmentOptions; now?: Date } = {},
): Promise<PostureReport> {
  const enrichment = options.enrichment ?? DEFAULT_ENRICHMENT;
  const fingerprints = new Map<string, number>();
  for await (const s of states())
    for (const fp of s.exposure?.credentialFingerprints ?? [])
      fingerprints.set(fp, (fingerprints.get(fp) ?? 0) + 1);

  let devices = 0;
  let multiSource = 0;
  let withConflicts = 0;
  let vulnerable = 0;
  let critical = 0;
  let pumps = 0;
  let pumpsVulnerable = 0;
  let oldWindows = 0;
  let osEol = 0;
  let defaultOrShared = 0;
  let hardCoded = 0;
  const classes = new Map<DeviceClass, ClassRow>();
  const advisories = new Map<string, number>();
  const cves = new Map<string, number>();
  const kev = new Map<string, number>();
  const histogram = new Array<number>(10).fill(0);
  const pumpList: DerivedDevice[] = [];

  for await (const s of states()) {
    const d = deriveDevice(s, (fp) => fingerprints.get(fp) ?? 1, enrichment);
    devices++;
    if (Object.keys(s.identifiers.vendorIds).length > 1) multiSource++;
    if (s.conflicts.length > 0) withConflicts++;
    const isVulnerable = d.cves.length > 0 || d.advisories.length > 0;
    const isCritical = d.risk.score >= enrichment.criticalRiskScore;
    if (isVulnerable) vulnerable++;
    if (isCritical) critical++;
    if (d.olderThanWindows10) oldWindows++;
    if (d.osEol) osEol++;
    if (d.credentials === "default" || d.credentials === "shared") defaultOrShared++;
    if (d.credentials === "hard_coded") hardCoded++;
    const band = Math.min(9, Math.floor(d.risk.score / 10));
    histogram[band] = (histogram[band] ?? 0) + 1;
    let row = classes.get(d.class);
    if (!row) {
      row = { class: d.class, devices: 0, vulnerable: 0, critical: 0, vulnerableShare: 0 };
      classes.set(d.class, row);
    }
    row.devices++;
    if (isVulnerable) row.vulnerable++;
    if (isCritical) row.critical++;
    for (const a of d.advisories) advisories.set(a, (advisories.get(a) ?? 0) + 1);
    for (const c of d.cves) cves.set(c, (cves.get(c) ?? 0) + 1);
    for (const k of d.knownExploited) kev.set(k, (kev.get(k) ?? 0) + 1);
    if (d.class === "infusion_pump") {
      pumps++;
      if (isVulnerable) pumpsVulnerable++;
      pumpList.push(d);
      // Keep only the riskiest few in memory on large fleets.
      if (pumpList.length > 200) {
        pumpList.sort((a, b) => b.risk.score - a.risk.score || (a.key < b.key ? -1 : 1));
        pumpList.length = 10;
      }
    }
  }
  for (const row of classes.values())
    row.vulnerableShare = row.devices === 0 ? 0 : row.vulnerable / row.devices;
  pumpList.sort((a, b) => b.risk.score - a.risk.score || (a.key < b.key ? -1 : 1));
  const kevIds = new Set(kev.keys());
  return {
    generatedAt: (options.now ?? new Date()).toISOString(),
    devices,
    multiSource,
    withConflicts,
    criticalRiskScore: enrichment.criticalRiskScore,
    headline: {
      vulnerable: share(vulnerable, devices),
      criticalRisk: share(critical, devices),
      infusionPumps: share(pumps, devices),
      infusionPumpsVulnerable: share(pumpsVulnerable, pumps),
      olderThanWindows10: share(oldWindows, devices),
      osEol: share(osEol, devices),
      defaultOrSharedCredentials: share(defaultOrShared, devices),
      hardCodedCredentials: share(hardCoded, devices),
    },
    classes: [...classes.values()].sort((a, b) => b.vulnerable - a.vulnerable || b.devices - a.devices),
    topAdvisories: top(advisories, 10),
    topCves: top(cves, 10).map((c) => ({ ...c, knownExploited: kevIds.has(c.id) })),
    kev: top(kev, 50),
    riskiestPumps: pumpList.slice(0, 10).map((d) => {
      const row: PostureReport["riskiestPumps"][number] = {
        key: d.key,
        score: d.risk.score,
        why: d.risk.factors,
      };
      if (d.name !== undefined) row.name = d.name;
      if (d.model !== undefined) row.model = d.model;
      if (d.site !== undefined) row.site = d.site;
      if (d.ward !== undefined) row.ward = d.ward;
      return row;
    }),
    riskHistogram: histogram.map((n, i) => ({ from: i * 10, to: i === 9 ? 100 : i * 10 + 9, devices: n })),
  };
}

const pct = (s: Share) => `${(s.share * 100).toFixed(1)}%`;

/** The report as plain text (the default format). */
export function formatPostureText(r: PostureReport): string {
  const h = r.headline;
  const line = (label: string, s: Share, note = "") =>
    `  ${label.padEnd(46)} ${pct(s).padStart(6)}  (${s.count} of ${s.of})${note}`;
  const out = [
    `medsoc posture report — ${r.devices} devices (${r.multiSource} seen by several monitors, ${r.withConflicts} with conflicting facts), ${r.generatedAt}`,
    "",
    "Headline",
    line("devices with ≥1 known vulnerability", h.vulnerable),
    line(`devices with a critical risk (score ≥ ${r.criticalRiskScore})`, h.criticalRisk),
    line("infusion pumps among IoT devices", h.infusionPumps),
    line("infusion pumps with a known vulnerability", h.infusionPumpsVulnerable),
    line("devices on Windows older than 10", h.olderThanWindows10),
    line("devices on an end-of-life OS", h.osEol),
    line("devices with default or shared credentials", h.defaultOrSharedCredentials),
    line("devices with hard-coded credentials", h.hardCodedCredentials, "  → compensating control"),
    "",
    "Most exposed device classes",
    ...r.classes.map(
      (c) =>
        `  ${c.class.padEnd(24)} ${String(c.devices).padStart(7)} devices  ${String(c.vulnerable).padStart(7)} vulnerable (${(c.vulnerableShare * 100).toFixed(0)}%)  ${String(c.critical).padStart(7)} critical`,
    ),
    "",
    "Top advisories by affected devices",
    ...(r.topAdvisories.length > 0
      ? r.topAdvisories.map((a) => `  ${a.id.padEnd(24)} ${a.devices} devices`)
      : ["  (no advisory matches in the device state)"]),
    "",
    "Top CVEs by affected devices",
    ...r.topCves.map((c) => `  ${c.id.padEnd(24)} ${c.devices} devices${c.knownExploited ? "  KEV" : ""}`),
    "",
    `Known exploited (KEV) hits: ${r.kev.length} CVE(s)`,
    ...r.kev.map((k) => `  ${k.id.padEnd(24)} ${k.devices} devices`),
    "",
    "Ten riskiest infusion pumps",
    ...r.riskiestPumps.flatMap((p, i) => [
      `  ${String(i + 1).padStart(2)}. ${p.score.toString().padStart(3)}  ${p.name ?? p.key}  ${p.model ?? ""}  ${[p.site, p.ward].filter(Boolean).join(" / ")}`,
      ...p.why.map((w) => `           ${w}`),
    ]),
  ];
  return `${out.join("\n")}\n`;
}
