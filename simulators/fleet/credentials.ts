/** Device credentials of the simulated hospital: factory defaults, shared, unique and hard-coded. */
import type { DeviceClass, ModelSpec } from "./catalogue.ts";
import { hashString, hex8, mix32 } from "./random.ts";

/**
 * How a device's login credential is set. `default`: the vendor's factory password, the same on
 * every device of that model that still has it; `shared`: one password the hospital set on many
 * devices; `hard_coded`: fixed in firmware, cannot be rotated; `unique`: per-device.
 */
export type CredentialKind = "default" | "shared" | "unique" | "hard_coded";

export interface CredentialFacts {
  kind: CredentialKind;
  /** Login name on the device or its management server. */
  username: string;
  /**
   * Stable fingerprint of the password (never the password): equal fingerprints mean the same
   * password. Devices sharing a default or organisation password share it.
   */
  fingerprint: string;
}

/**
 * Models whose firmware carries a fixed password (their advisories list CWE-798/259), on every
 * device of the model: Medfusion 4000 (ICSMA-17-250-02A, CVE-2017-12724/12725/12726), CARESCAPE
 * B450 (MDhex, CVE-2020-6963/6966) and Sigma Spectrum 35700 (ICSMA-20-170-04 CVE-2020-12039: the
 * pump's own keypad has hard-coded biomed passwords on the 6.x/8.x pumps; CVE-2020-12045/12047 are
 * the wireless battery module's Telnet/FTP accounts). A clinical engineer treats such a model as
 * "cannot be rotated" whatever its software level: compensating controls, never a rotation.
 */
const HARD_CODED_MODELS = new Set(["Medfusion 4000", "CARESCAPE B450", "Sigma Spectrum 35700"]);

/**
 * Credential of a device: hard-coded for the models above; otherwise about 30% still on the
 * model's factory default (one fingerprint per model), 15% on one organisation-wide password per
 * site group, the rest unique.
 */
export function credentialOf(model: ModelSpec, cls: DeviceClass, h: number, i: number): CredentialFacts {
  const username = cls === "it" || cls === "clinical_workstation" ? "administrator" : "service";
  if (HARD_CODED_MODELS.has(model.model))
    return {
      kind: "hard_coded",
      username,
      fingerprint: `hc-${hex8(mix32(hashString(model.model) ^ 0x1111))}`,
    };
  const r = (h >>> 12) % 100;
  if (r < 30)
    return { kind: "default", username, fingerprint: `df-${hex8(mix32(hashString(model.model) ^ 0x2222))}` };
  if (r < 45)
    return { kind: "shared", username, fingerprint: `sh-${hex8(mix32(((h >>> 20) & 1) ^ 0x3333))}` };
  return { kind: "unique", username, fingerprint: `un-${hex8(mix32(i ^ 0x4444))}${hex8(h)}` };
}
