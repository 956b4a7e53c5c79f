/**
 * Armis API record shapes as the API returns them (see `../shared/reference/data/vendors/armis/`).
 * These types describe what arrives, type drift included; the connector never changes a record,
 * and `mappings/` must still coerce every field (monitors.md §1 rule 3).
 */

/** One entry of a device's `dataSources[]`. */
export interface ArmisDataSource {
  name: string;
  types: string[];
  firstSeen: string;
  lastSeen: string;
  instances: Array<{ name: string; firstSeen: string; lastSeen: string }>;
}

/** One entry of a device's `protections[]` (times are RFC 1123, not ISO-8601). */
export interface ArmisProtection {
  protectionName: string;
  deviceId: number;
  creationTime: string;
  lastSeenTime: string;
}

/** A record of `in:devices`. */
export interface ArmisDevice {
  accessSwitch: string | null;
  boundaries: string;
  businessImpact: string;
  category: string;
  customProperties: Record<string, unknown>;
  dataSources: ArmisDataSource[];
  displayTitle: string;
  firstSeen: string;
  id: number;
  ipAddress: string;
  ipv6: string[];
  lastSeen: string;
  macAddress: string;
  manufacturer: string;
  model: string;
  name: string;
  /** A string, although the name suggests a list. */
  names: string;
  operatingSystem: string;
  operatingSystemVersion: string;
  protections: ArmisProtection[];
  purdueLevel: number;
  riskLevel: number;
  sensor: { name: string; type: string };
  site: { name: string; location: string };
  tags: string[];
  type: string;
  typeEnum: string;
  userIds: number[];
  visibility: string;
}

/** A record of `in:alerts`. */
export interface ArmisAlert {
  activityUUIDs: string[];
  affectedDevicesCount: number;
  alertId: number;
  classification: string;
  connectionIds: string[];
  /** May carry trailing whitespace. */
  description: string;
  destinationEndpoints: string[];
  deviceIds: number[];
  lastAlertUpdateTime: string | null;
  mitreAttackLabels: string | null;
  policyId: number | null;
  /** Type drift: an array in one alert, a string in the next, or null. */
  policyLabels: string[] | string | null;
  policyTitle: string | null;
  severity: "Low" | "Medium" | "High" | "Critical";
  sourceEndpoints: string[];
  status: string;
  statusChangeTime: string;
  time: string;
  title: string;
  type: string;
}

/** A record of `in:vulnerabilities` (the fields the reference sample carries). */
export interface ArmisVulnerability {
  affectedDevicesCount: number;
  attackComplexity: string | null;
  attackVector: string | null;
  availabilityImpact: string | null;
  avmRating: string | null;
  avmRatingManualChangeReason: string | null;
  avmRatingManualChangedBy: string;
  avmRatingManualUpdateTime: string | null;
  botnets: string[] | null;
  cisaDueDate: string | null;
  commonName: string | null;
  confidentialityImpact: string | null;
  cveUid: string;
  cvssScore: number;
  cvssScoreV4: number | null;
  description: string;
  epssPercentile: number | null;
  epssScore: number | null;
  exploitabilityScore: number | null;
  firstDetected: string;
  firstReferencePublishDate: string | null;
  firstWeaponizedReferencePublishDate: string | null;
  hasRansomware: boolean | null;
  hasRemediationInfo: string;
  id: string;
  impactScore: number | null;
  integrityImpact: string | null;
  isWeaponized: boolean | null;
  lastDetected: string;
  latestExploitUpdate: string | null;
  numOfExploits: number;
  numberOfThreatActors: number;
  privilegesRequired: string | null;
  publishedDate: string;
  reportedByGoogleZeroDays: boolean | null;
  scope: string | null;
  score: number;
  severity: "Low" | "Medium" | "High" | "Critical";
  status: string;
  threatActors: string[] | null;
  threatTags: string[] | null;
  type: string;
  userInteraction: string | null;
}

/** An item of `GET /api/v1/vulnerability-match/` (`data.sample[]`). */
export interface ArmisVulnerabilityMatch {
  advisoryId: string | null;
  avmRating: string | null;
  confidenceLevel: string;
  confidenceLevelDescription: string | null;
  cveUid: string;
  deviceId: number;
  firstDetected: string;
  hasRemediationInfo: string;
  lastDetected: string;
  matchCriteriaString: string;
  recommendedSteps: string | null;
  remediationTypes: string[] | null;
  status: string;
  statusChangeReason: string | null;
  statusSource: string;
}

/** A record of the `vulnerability` stream: the vulnerability plus ONE affected device match. */
export type ArmisVulnerabilityRecord = ArmisVulnerability & { vulnerability_match: ArmisVulnerabilityMatch };

/** `GET /api/v1/search/` envelope. */
export interface ArmisSearchResponse<R = unknown> {
  data: { count: number; next: number | null; prev: number | null; results: R[]; total: number };
  success: boolean;
}

/** `GET /api/v1/vulnerability-match/` envelope (a different shape from search). */
export interface ArmisMatchResponse<R = unknown> {
  data: {
    paging: {
      from: number;
      length: number;
      next: number | null;
      prev: number | null;
      to: number;
      total: number;
    };
    sample: R[];
  };
  success: boolean;
}

/** `POST /api/v1/access_token/` envelope. */
export interface ArmisTokenResponse {
  data: { access_token: string; expiration_utc: string };
  success: boolean;
}
