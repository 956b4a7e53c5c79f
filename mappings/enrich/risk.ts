/**
 * Risk score (`medsoc.risk.score`, 0–100) with the factors that produced it
 * (`medsoc.risk.factors`, one line each: "known exploited CVE-2017-0144 (+20)"). Additive and
 * capped, so every point can be traced to one factor. The weights are calibrated on the simulated
 * hospital so that the share of devices at or above {@link CRITICAL_RISK_SCORE} lands near the
 * 33% of critical-risk devices the monitors report (test/loopback/posture-report.test.ts).
 */
import type { CredentialExposure } from "./credentials.ts";
import type { Criticality } from "./criticality.ts";

/** A score from here up is a critical risk. */
export const CRITICAL_RISK_SCORE = 80;

export interface RiskInput {
  /** The monitor's own risk, 0–100 (`host.risk.static_score`; xDome points; Armis `riskLevel`). */
  vendorRisk?: number;
  /** Highest CVSS base score among the device's vulnerabilities, with its CVE. */
  maxCvss?: { score: number; id: string };
  /** Number of known vulnerabilities (CVE findings and advisory matches). */
  vulnerabilities?: number;
  /** A known exploited (KEV) CVE the device carries. */
  knownExploited?: string;
  criticality?: Criticality;
  /** The OS is past end of life (or Windows older than 10), with its name. */
  osEol?: string;
  credentials?: CredentialExposure;
  /** Open monitor alerts on the device, and the highest `event.severity` among them (21/47/73/99). */
  alerts?: { count: number; maxSeverity: number };
}

export interface RiskScore {
  score: number;
  factors: string[];
}

/** Weights (points). */
export const RISK_WEIGHTS = {
  /** Points per vendor-risk point. */
  vendorRisk: 0.5,
  /**
   * Points per CVSS point of the worst vulnerability. Calibrated on the seven-monitor simulated
   * hospital (3,000 devices, every monitor's findings, advisory matches, clinical fields and
   * Cynerio's per-device default-password detections merged): 1.9 with 5 points for a default or
   * shared credential puts 33.1% of devices at or above {@link CRITICAL_RISK_SCORE}, against the
   * 33.1% the generator marks critical (test/loopback/posture-report.test.ts). 2.7 and 10 points gave
   * 42.9% once every monitor was merged.
   */
  cvss: 1.9,
  knownExploited: 20,
  criticality: { life_sustaining: 15, high: 10, medium: 5, low: 0 } as Record<Criticality, number>,
  osEol: 10,
  credentials: { default: 5, shared: 5, hard_coded: 10, unknown: 0 } as Record<CredentialExposure, number>,
  alertCritical: 10,
  alertHigh: 5,
} as const;

/** Scores one device (or one document's view of it). */
export function riskScore(input: RiskInput): RiskScore {
  const factors: string[] = [];
  let total = 0;
  const add = (points: number, why: string) => {
    if (points <= 0) return;
    total += points;
    factors.push(`${why} (+${points})`);
  };
  if (input.vendorRisk !== undefined && input.vendorRisk > 0)
    add(
      Math.round(Math.min(100, input.vendorRisk) * RISK_WEIGHTS.vendorRisk),
      `monitor risk ${input.vendorRisk}/100`,
    );
  if (input.maxCvss !== undefined)
    add(
      Math.round(Math.min(10, input.maxCvss.score) * RISK_WEIGHTS.cvss),
      `${input.vulnerabilities ?? 1} known vulnerabilit${(input.vulnerabilities ?? 1) === 1 ? "y" : "ies"}, worst ${input.maxCvss.id} CVSS ${input.maxCvss.score}`,
    );
  if (input.knownExploited !== undefined)
    add(RISK_WEIGHTS.knownExploited, `known exploited ${input.knownExploited}`);
  if (input.criticality !== undefined)
    add(RISK_WEIGHTS.criticality[input.criticality], `${input.criticality.replace("_", "-")} device`);
  if (input.osEol !== undefined) add(RISK_WEIGHTS.osEol, `${input.osEol} is past end of life`);
  if (input.credentials !== undefined && input.credentials !== "unknown")
    add(RISK_WEIGHTS.credentials[input.credentials], `${input.credentials.replace("_", "-")} credentials`);
  if (input.alerts !== undefined && input.alerts.count > 0) {
    const critical = input.alerts.maxSeverity >= 99;
    add(
      critical ? RISK_WEIGHTS.alertCritical : input.alerts.maxSeverity >= 73 ? RISK_WEIGHTS.alertHigh : 0,
      `${input.alerts.count} open alert${input.alerts.count === 1 ? "" : "s"}${critical ? ", critical" : ""}`,
    );
  }
  if (total > 100) factors.push(`sum ${total}, capped at 100`);
  return { score: Math.min(100, total), factors };
}
