/**
 * The Armis record under `armis.<stream>.*`: the keys Armis documents, per object shape and in
 * output order, compiled once into converters by the table-driven `compileObject`
 * (`vendor-fields.ts`). Names and coercions come from `ARMIS_FIELDS` (`fields.ts`, after Elastic's
 * Armis package) unless a field says otherwise; keys Armis adds later go through the generic
 * conversion, so nothing is dropped.
 *
 * Each converter takes an `omit` bit set (the `DEVICE_*`, `ALERT_*`, `VULNERABILITY_*` and
 * `MATCH_*` constants): the named fields are skipped (not converted, not added); 0 keeps all.
 */
import { compileObject, nestedObjects, type ObjectConverter, type ValueConverter } from "../vendor-fields.ts";
import { ARMIS_FIELDS } from "./fields.ts";

// `omit` bits: vendor fields a mapper already copied to ECS, left out unless the context sets
// `preserveDuplicateVendorFields` (the mapper decides per record, see device.ts, alert.ts and
// vulnerability.ts). One bit per field, checked before the field is converted.

/** `armisDeviceVendor` omit bits. */
export const DEVICE_CATEGORY = 1 << 0;
export const DEVICE_FIRST_SEEN = 1 << 1;
export const DEVICE_ID = 1 << 2;
export const DEVICE_IP_ADDRESS = 1 << 3;
export const DEVICE_LAST_SEEN = 1 << 4;
export const DEVICE_MAC_ADDRESS = 1 << 5;
export const DEVICE_MANUFACTURER = 1 << 6;
export const DEVICE_MODEL = 1 << 7;
export const DEVICE_NAMES = 1 << 8;
export const DEVICE_OPERATING_SYSTEM = 1 << 9;
export const DEVICE_OPERATING_SYSTEM_VERSION = 1 << 10;
export const DEVICE_RISK_LEVEL = 1 << 11;
export const DEVICE_USER_IDS = 1 << 12;

/** `armisAlertVendor` omit bits. */
export const ALERT_ALERT_ID = 1 << 0;
export const ALERT_DESCRIPTION = 1 << 1;
export const ALERT_DEVICE_IDS = 1 << 2;
export const ALERT_MITRE_ATTACK_LABELS = 1 << 3;
export const ALERT_POLICY_ID = 1 << 4;
export const ALERT_POLICY_TITLE = 1 << 5;
export const ALERT_TIME = 1 << 6;

/** `armisVulnerabilityVendor` omit bits; the `MATCH_*` ones apply to its `vulnerability_match`. */
export const VULNERABILITY_CVE_UID = 1 << 0;
export const VULNERABILITY_CVSS_SCORE = 1 << 1;
export const VULNERABILITY_DESCRIPTION = 1 << 2;
export const VULNERABILITY_FIRST_DETECTED = 1 << 3;
export const VULNERABILITY_ID = 1 << 4;
export const VULNERABILITY_LAST_DETECTED = 1 << 5;
export const VULNERABILITY_SCORE = 1 << 6;
export const VULNERABILITY_SEVERITY = 1 << 7;
export const MATCH_DEVICE_ID = 1 << 8;
export const MATCH_FIRST_DETECTED = 1 << 9;
export const MATCH_LAST_DETECTED = 1 << 10;
export const VULNERABILITY_ATTACK_VECTOR = 1 << 11;
export const VULNERABILITY_AVM_RATING_MANUAL_CHANGED_BY = 1 << 12;

const compile = (fields: Parameters<typeof compileObject>[0]) => compileObject(fields, ARMIS_FIELDS);

const instance = compile(["firstSeen", "lastSeen", "name"]);
const dataSource = compile([
  "firstSeen",
  { key: "instances", kind: instance },
  "lastSeen",
  "name",
  { key: "types", kind: "list" },
]);
const protection = compile(["creationTime", "deviceId", "lastSeenTime", "protectionName"]);
const sensor = compile(["name", "type"]);
const site = compile(["location", "name"]);

/** An Armis device for the vendor namespace. */
export const armisDeviceVendor: ObjectConverter = compile([
  "accessSwitch",
  "boundaries",
  "businessImpact",
  { key: "category", omit: DEVICE_CATEGORY },
  "customProperties",
  { key: "dataSources", kind: dataSource },
  "displayTitle",
  { key: "firstSeen", omit: DEVICE_FIRST_SEEN },
  { key: "id", omit: DEVICE_ID },
  { key: "ipAddress", omit: DEVICE_IP_ADDRESS },
  "ipv6",
  { key: "lastSeen", omit: DEVICE_LAST_SEEN },
  { key: "macAddress", omit: DEVICE_MAC_ADDRESS },
  { key: "manufacturer", omit: DEVICE_MANUFACTURER },
  { key: "model", omit: DEVICE_MODEL },
  "name",
  { key: "names", omit: DEVICE_NAMES },
  { key: "operatingSystem", omit: DEVICE_OPERATING_SYSTEM },
  { key: "operatingSystemVersion", omit: DEVICE_OPERATING_SYSTEM_VERSION },
  { key: "protections", kind: protection },
  "purdueLevel",
  { key: "riskLevel", omit: DEVICE_RISK_LEVEL },
  { key: "sensor", kind: sensor },
  { key: "site", kind: site },
  "tags",
  "type",
  "typeEnum",
  { key: "userIds", kind: "ids", omit: DEVICE_USER_IDS },
  "visibility",
]);

/** An Armis alert for the vendor namespace. */
export const armisAlertVendor: ObjectConverter = compile([
  "activityUUIDs",
  "affectedDevicesCount",
  { key: "alertId", omit: ALERT_ALERT_ID },
  "classification",
  { key: "connectionIds", kind: "list" },
  { key: "description", omit: ALERT_DESCRIPTION },
  { key: "destinationEndpoints", kind: "list" },
  { key: "deviceIds", kind: "ids", omit: ALERT_DEVICE_IDS },
  "lastAlertUpdateTime",
  { key: "mitreAttackLabels", omit: ALERT_MITRE_ATTACK_LABELS },
  { key: "policyId", omit: ALERT_POLICY_ID },
  "policyLabels",
  { key: "policyTitle", omit: ALERT_POLICY_TITLE },
  "severity",
  { key: "sourceEndpoints", kind: "list" },
  "status",
  "statusChangeTime",
  { key: "time", omit: ALERT_TIME },
  "title",
  "type",
]);

/** An Armis vulnerability match (`vulnerability_match`) for the vendor namespace. */
export const armisMatchVendor: ObjectConverter = compile([
  { key: "advisoryId", kind: "id" },
  "avmRating",
  "confidenceLevel",
  "confidenceLevelDescription",
  "cveUid",
  { key: "deviceId", omit: MATCH_DEVICE_ID },
  { key: "firstDetected", omit: MATCH_FIRST_DETECTED },
  "hasRemediationInfo",
  { key: "lastDetected", omit: MATCH_LAST_DETECTED },
  "matchCriteriaString",
  "recommendedSteps",
  "remediationTypes",
  "status",
  "statusChangeReason",
  "statusSource",
]);

const present = (v: unknown) => v !== undefined && v !== null;
/**
 * The match the mapping reads (`vulnerability_match`, else `vulnerabilityMatch`) loses the
 * `MATCH_*` fields in `omit` when it is a single object; the other one, if both are sent, and an
 * array of matches are kept whole. Both land in `vulnerability_match` (the camelCase one last).
 */
const match =
  (read: (r: Readonly<Record<string, unknown>>) => boolean): ValueConverter =>
  (v, omit, r) =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? armisMatchVendor(v as Readonly<Record<string, unknown>>, read(r) ? omit : 0)
      : nestedObjects(v, armisMatchVendor, ARMIS_FIELDS);

/** An Armis vulnerability for the vendor namespace. */
export const armisVulnerabilityVendor: ObjectConverter = compile([
  "affectedDevicesCount",
  "attackComplexity",
  { key: "attackVector", omit: VULNERABILITY_ATTACK_VECTOR },
  "availabilityImpact",
  "avmRating",
  "avmRatingManualChangeReason",
  { key: "avmRatingManualChangedBy", omit: VULNERABILITY_AVM_RATING_MANUAL_CHANGED_BY },
  "avmRatingManualUpdateTime",
  "botnets",
  "cisaDueDate",
  "commonName",
  "confidentialityImpact",
  { key: "cveUid", omit: VULNERABILITY_CVE_UID },
  { key: "cvssScore", omit: VULNERABILITY_CVSS_SCORE },
  "cvssScoreV4",
  { key: "description", omit: VULNERABILITY_DESCRIPTION },
  "epssPercentile",
  "epssScore",
  "exploitabilityScore",
  { key: "firstDetected", omit: VULNERABILITY_FIRST_DETECTED },
  "firstReferencePublishDate",
  "firstWeaponizedReferencePublishDate",
  "hasRansomware",
  "hasRemediationInfo",
  { key: "id", omit: VULNERABILITY_ID },
  "impactScore",
  "integrityImpact",
  "isWeaponized",
  { key: "lastDetected", omit: VULNERABILITY_LAST_DETECTED },
  "latestExploitUpdate",
  "numOfExploits",
  "numberOfThreatActors",
  "privilegesRequired",
  "publishedDate",
  "reportedByGoogleZeroDays",
  "scope",
  { key: "score", omit: VULNERABILITY_SCORE },
  { key: "severity", omit: VULNERABILITY_SEVERITY },
  "status",
  "threatActors",
  "threatTags",
  "type",
  "userInteraction",
  {
    key: "vulnerability_match",
    name: "vulnerability_match",
    kind: { convert: match((r) => present(r.vulnerability_match)) },
  },
  {
    key: "vulnerabilityMatch",
    name: "vulnerability_match",
    kind: { convert: match((r) => !present(r.vulnerability_match)) },
  },
]);
