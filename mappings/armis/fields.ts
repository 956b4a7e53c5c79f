/**
 * Armis field table for the `armis.<stream>.*` namespace (keys as Armis spells them, at any
 * depth). Names and coercions follow Elastic's Armis package (`packages/armis/data_stream/*`):
 * ids become strings, scores numbers, timestamps UTC ms, and fields that drift between a scalar
 * and an array (`names`, `ipAddress`, `macAddress`, `policyLabels`) are always arrays.
 */
import { fieldTable } from "../vendor-fields.ts";

/** `observer.*` of every Armis document. */
export const ARMIS_OBSERVER_VENDOR = "Armis";
/** `observer.product` as in Elastic's Armis package. */
export const ARMIS_OBSERVER_PRODUCT = "Asset Management and Security";

export const ARMIS_FIELDS = fieldTable({
  // ids (numbers in the API, strings in ECS)
  id: "id",
  alertId: "id",
  policyId: "id",
  deviceId: "id",
  deviceIds: "id",
  userIds: "id",
  // numbers that drift to strings
  riskLevel: "num",
  purdueLevel: "num",
  affectedDevicesCount: "num",
  cvssScore: "num",
  cvssScoreV4: "num",
  score: "num",
  epssScore: "num",
  epssPercentile: "num",
  exploitabilityScore: "num",
  impactScore: "num",
  numOfExploits: "num",
  numberOfThreatActors: "num",
  // booleans
  hasRansomware: "bool",
  isWeaponized: "bool",
  reportedByGoogleZeroDays: "bool",
  // timestamps (ISO with microseconds, RFC 1123 in protections[])
  firstSeen: "date",
  lastSeen: "date",
  time: "date",
  statusChangeTime: "date",
  lastAlertUpdateTime: "date",
  creationTime: "date",
  lastSeenTime: "date",
  firstDetected: "date",
  lastDetected: "date",
  publishedDate: "date",
  cisaDueDate: "date",
  avmRatingManualUpdateTime: "date",
  firstReferencePublishDate: "date",
  firstWeaponizedReferencePublishDate: "date",
  latestExploitUpdate: "date",
  // scalar-or-array → array
  names: "list",
  ipAddress: "list",
  macAddress: "list",
  policyLabels: "list",
  tags: "list",
  // names Elastic spells differently from plain snake_case
  ipv6: { name: "ip_v6", kind: "list" },
  activityUUIDs: { name: "activity_uuids", kind: "list" },
});
