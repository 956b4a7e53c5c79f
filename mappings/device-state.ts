/**
 * The current device state (issue 4: one identity per device). Built from the mapped documents of
 * every monitor; read by the playbooks and `medsoc report`. Redis in production, memory in the
 * embedded default. This file is the contract; the stores live next to it.
 */
import type { EcsDocument } from "./types.ts";

/** One value of one field as one source last reported it. */
export interface DeviceFact<T = unknown> {
  value: T;
  /** Source instance name (`armis`, `claroty_xdome`, …). */
  source: string;
  /** ISO-8601 UTC time the source saw it (the document's `@timestamp`). */
  seenAt: string;
}

export interface DeviceState {
  /** `medsoc.device.key`: stable across monitors (MAC first, then serial, then IP + hostname within a site). */
  key: string;
  identifiers: {
    macs: string[];
    serials: string[];
    ips: string[];
    hostnames: string[];
    site?: string;
    /** Vendor id per source (`{armis: "17", claroty_xdome: "f342…"}`). */
    vendorIds: Record<string, string>;
  };
  /**
   * Per field (dotted ECS or `medsoc.*` path: `device.model.name`, `medsoc.device.class`, …), the
   * latest value from each source, freshest first. Nothing is overwritten across sources.
   */
  facts: Record<string, DeviceFact[]>;
  /** Fields whose sources currently disagree (two monitors name a different model or class). */
  conflicts: string[];
  updatedAt: string;
  /**
   * What the device is exposed to, accumulated from findings and alerts of every source (absent
   * until a finding, alert or credential observation arrives). Added by the stores of issue 4.
   */
  exposure?: DeviceExposure;
}

/** One known vulnerability (a CVE finding, or an advisory matched onto the device). */
export interface ExposureVulnerability {
  /** Highest CVSS base score seen for it. */
  cvss?: number;
  /** In the CISA KEV catalog (`medsoc.vulnerability.known_exploited`). */
  kev?: boolean;
  /** CWE ids (from advisories), for credential weaknesses. */
  cwes?: string[];
  /** The advisory that listed it, when it came from one. */
  advisory?: string;
  /** CVEs of an advisory entry. */
  cves?: string[];
  source: string;
  seenAt: string;
}

export interface ExposureAlert {
  /** `event.severity` (21/47/73/99). */
  severity: number;
  title?: string;
  source: string;
  seenAt: string;
}

export interface DeviceExposure {
  /** By CVE id, or by advisory id for advisory matches. */
  vulnerabilities: Record<string, ExposureVulnerability>;
  /** The most recent alerts, by document id (at most {@link MAX_ALERTS_PER_DEVICE}). */
  alerts: Record<string, ExposureAlert>;
  /** Alerts ever seen for the device (the map above is bounded). */
  alertCount: number;
  /** `medsoc.credential.observed` values seen (`default`, `weak`, `hard_coded`, `shared`). */
  credentialsObserved: string[];
  /** `medsoc.credential.fingerprint` values seen (never a password). */
  credentialFingerprints: string[];
}

/** Alerts kept per device in {@link DeviceExposure.alerts}. */
export const MAX_ALERTS_PER_DEVICE = 20;

/** How to find a device: any subset; resolution tries MAC, then serial, then IP + hostname (+ site). */
export interface DeviceLookup {
  mac?: string;
  serial?: string;
  ip?: string;
  hostname?: string;
  site?: string;
}

export interface DeviceStateStore {
  /**
   * Merges mapped documents (device inventory, and the device facts carried by alerts and
   * findings). Writes `medsoc.device.key` back onto each document that names a device (an array
   * when an alert names several), and the fleet-aware device view (class, criticality,
   * credentials; on inventory documents the device's risk score) so sinks receive it.
   */
  upsert(docs: readonly EcsDocument[]): Promise<void>;
  get(key: string): Promise<DeviceState | null>;
  resolve(lookup: DeviceLookup): Promise<string | null>;
  list(): AsyncIterable<DeviceState>;
  count(): Promise<number>;
  /** Devices that carry a credential fingerprint (the fleet view of shared credentials). Optional for test doubles. */
  fingerprintCount?(fingerprint: string): Promise<number>;
  close(): Promise<void>;
}
