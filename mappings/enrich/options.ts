/** Enrichment settings; no imports, so the mapping types can name them without a cycle. */

/** Enrichment settings (config section `enrichment`). */
export interface EnrichmentOptions {
  /** Wards/units whose medical devices are raised one criticality level. @defaultValue ICU, NICU, PICU, CCU, OR, ED */
  criticalWards: readonly string[];
  /** Devices sharing one credential fingerprint from which it counts as shared. @defaultValue 3 */
  sharedCredentialThreshold: number;
  /** Risk score from which a device counts as a critical risk. @defaultValue 80 */
  criticalRiskScore: number;
}

export const DEFAULT_ENRICHMENT: EnrichmentOptions = {
  criticalWards: ["ICU", "NICU", "PICU", "CCU", "OR", "ED"],
  sharedCredentialThreshold: 3,
  criticalRiskScore: 80,
};
