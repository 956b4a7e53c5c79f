/**
 * Credential exposure (`medsoc.device.credentials`): `default`, `shared`, `hard_coded` or
 * `unknown`, from what monitors observed (`medsoc.credential.observed` on alerts and inventory),
 * from advisories whose weaknesses are credential CWEs, and from the fleet view (the same
 * credential fingerprint on many devices, which only the device state can see).
 *
 * Hard-coded credentials cannot be rotated: playbooks read `hard_coded` and choose a compensating
 * control (segmentation, monitoring) instead of a rotation.
 */

export type CredentialExposure = "default" | "shared" | "hard_coded" | "unknown";

/** What a monitor says it saw (the mapping contract's `medsoc.credential.observed`). */
export type ObservedCredential = "default" | "weak" | "hard_coded" | "shared";

/**
 * CWEs of credential weaknesses: 798 hard-coded credentials, 259 hard-coded password, 1392 default
 * credentials, 521 weak password requirements.
 */
export const CREDENTIAL_CWES: Readonly<Record<string, CredentialExposure>> = {
  "CWE-798": "hard_coded",
  "CWE-259": "hard_coded",
  "CWE-1392": "default",
  "CWE-521": "default",
};

/** The credential CWEs among an advisory's or a finding's CWE ids (`CWE-798`, `798`). */
export function credentialCwesOf(cwes: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of cwes) {
    const id = /^\d+$/.test(raw.trim()) ? `CWE-${raw.trim()}` : raw.trim().toUpperCase();
    if (Object.hasOwn(CREDENTIAL_CWES, id) && !out.includes(id)) out.push(id);
  }
  return out;
}

export interface CredentialEvidence {
  /** Values of `medsoc.credential.observed` seen for the device. */
  observed: readonly string[];
  /** CWE ids of the advisories or findings matched to the device. */
  cwes: readonly string[];
  /** Devices in the fleet that carry the device's credential fingerprint (itself included). */
  fingerprintDevices?: number;
  /** From this many devices on, one fingerprint counts as shared. @defaultValue 3 */
  sharedThreshold?: number;
}

/**
 * The exposure, strongest first: hard-coded (cannot be rotated) over shared (one leak opens many
 * devices) over default; unknown when nothing says anything.
 */
export function credentialExposure(e: CredentialEvidence): { value: CredentialExposure; reasons: string[] } {
  const reasons: string[] = [];
  let hard = false;
  let shared = false;
  let def = false;
  for (const o of e.observed) {
    const s = o.toLowerCase().replace(/[-\s]/g, "_");
    if (s === "hard_coded" || s === "hardcoded") {
      hard = true;
      reasons.push("monitor observed a hard-coded credential");
    } else if (s === "shared") {
      shared = true;
      reasons.push("monitor observed a shared credential");
    } else if (s === "default" || s === "weak") {
      def = true;
      reasons.push(`monitor observed a ${s} password`);
    }
  }
  for (const cwe of credentialCwesOf(e.cwes)) {
    const kind = CREDENTIAL_CWES[cwe];
    if (kind === "hard_coded") hard = true;
    else def = true;
    reasons.push(`advisory weakness ${cwe}`);
  }
  const threshold = e.sharedThreshold ?? 3;
  if (e.fingerprintDevices !== undefined && e.fingerprintDevices >= threshold) {
    shared = true;
    reasons.push(`same credential on ${e.fingerprintDevices} devices`);
  }
  const value: CredentialExposure = hard ? "hard_coded" : shared ? "shared" : def ? "default" : "unknown";
  return { value, reasons };
}
