/**
 * The Armis record under `armis.<stream>.*`, converted field by field for the keys Armis documents:
 * named property stores keep the output objects in V8's fast mode, which a generic key-by-key copy
 * of 20–45 keys does not (that copy was the slowest part of the mapping, and dictionary-mode
 * objects also serialise slower). Keys Armis adds later go through the generic, table-driven
 * conversion (`vendor-fields.ts`), so nothing is dropped. Names and coercions follow Elastic's
 * Armis package; `fields.ts` holds the same names for the generic path.
 *
 * Each converter takes an `omit` bit set (the `DEVICE_*`, `ALERT_*`, `VULNERABILITY_*` and
 * `MATCH_*` constants): the named fields are skipped (not converted, not added); 0 keeps all.
 */
import { bool, num, str, strList, timestamp } from "../values.ts";
import { addUnknownFields, coerce, each, isEmptyObject, plain } from "../vendor-fields.ts";
import { ARMIS_FIELDS } from "./fields.ts";

type Rec = Record<string, unknown>;
type Convert = (r: Readonly<Rec>) => Rec | undefined;

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

const text = (v: unknown): unknown => (v === undefined ? undefined : plain(v, ARMIS_FIELDS));
const id = (v: unknown): unknown => (v === undefined ? undefined : each(v, str));
const ids = (v: unknown): unknown => (v === undefined ? undefined : strList(v));
const number = (v: unknown): unknown => (v === undefined ? undefined : each(v, num));
const date = (v: unknown): unknown => (v === undefined ? undefined : each(v, timestamp));
const flag = (v: unknown): unknown => (v === undefined ? undefined : each(v, bool));
const array = (v: unknown): unknown => (v === undefined ? undefined : coerce(v, "list", ARMIS_FIELDS));

function isRec(v: unknown): v is Readonly<Rec> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An object converted by `convert`, an array of them, or anything else generically. */
function objects(v: unknown, convert: Convert): unknown {
  if (isRec(v)) return convert(v);
  if (!Array.isArray(v)) return text(v);
  let out: unknown[] | undefined;
  for (const item of v) {
    const x = isRec(item) ? convert(item) : text(item);
    if (x === undefined) continue;
    if (out === undefined) out = [x];
    else out.push(x);
  }
  return out;
}

const dataSources = (v: unknown): unknown => (v === undefined ? undefined : objects(v, dataSource));
const instances = (v: unknown): unknown => (v === undefined ? undefined : objects(v, instance));
const protections = (v: unknown): unknown => (v === undefined ? undefined : objects(v, protection));
const sensor = (v: unknown): unknown => (v === undefined ? undefined : objects(v, sensorObject));
const site = (v: unknown): unknown => (v === undefined ? undefined : objects(v, siteObject));
/** A single match object loses the `MATCH_*` fields in `omit`; an array of matches is kept whole. */
const match = (v: unknown, omit: number): unknown =>
  v === undefined ? undefined : isRec(v) ? armisMatchVendor(v, omit) : objects(v, armisMatchVendor);

const DEVICE_KEYS = new Set([
  "accessSwitch",
  "boundaries",
  "businessImpact",
  "category",
  "customProperties",
  "dataSources",
  "displayTitle",
  "firstSeen",
  "id",
  "ipAddress",
  "ipv6",
  "lastSeen",
  "macAddress",
  "manufacturer",
  "model",
  "name",
  "names",
  "operatingSystem",
  "operatingSystemVersion",
  "protections",
  "purdueLevel",
  "riskLevel",
  "sensor",
  "site",
  "tags",
  "type",
  "typeEnum",
  "userIds",
  "visibility",
]);

/** An Armis device for the vendor namespace. */
export function armisDeviceVendor(r: Readonly<Rec>, omit = 0): Rec | undefined {
  const o: Rec = {};
  let x: unknown;
  x = text(r.accessSwitch);
  if (x !== undefined) o.access_switch = x;
  x = text(r.boundaries);
  if (x !== undefined) o.boundaries = x;
  x = text(r.businessImpact);
  if (x !== undefined) o.business_impact = x;
  if ((omit & DEVICE_CATEGORY) === 0) {
    x = text(r.category);
    if (x !== undefined) o.category = x;
  }
  x = text(r.customProperties);
  if (x !== undefined) o.custom_properties = x;
  x = dataSources(r.dataSources);
  if (x !== undefined) o.data_sources = x;
  x = text(r.displayTitle);
  if (x !== undefined) o.display_title = x;
  if ((omit & DEVICE_FIRST_SEEN) === 0) {
    x = date(r.firstSeen);
    if (x !== undefined) o.first_seen = x;
  }
  if ((omit & DEVICE_ID) === 0) {
    x = id(r.id);
    if (x !== undefined) o.id = x;
  }
  if ((omit & DEVICE_IP_ADDRESS) === 0) {
    x = array(r.ipAddress);
    if (x !== undefined) o.ip_address = x;
  }
  x = array(r.ipv6);
  if (x !== undefined) o.ip_v6 = x;
  if ((omit & DEVICE_LAST_SEEN) === 0) {
    x = date(r.lastSeen);
    if (x !== undefined) o.last_seen = x;
  }
  if ((omit & DEVICE_MAC_ADDRESS) === 0) {
    x = array(r.macAddress);
    if (x !== undefined) o.mac_address = x;
  }
  if ((omit & DEVICE_MANUFACTURER) === 0) {
    x = text(r.manufacturer);
    if (x !== undefined) o.manufacturer = x;
  }
  if ((omit & DEVICE_MODEL) === 0) {
    x = text(r.model);
    if (x !== undefined) o.model = x;
  }
  x = text(r.name);
  if (x !== undefined) o.name = x;
  if ((omit & DEVICE_NAMES) === 0) {
    x = array(r.names);
    if (x !== undefined) o.names = x;
  }
  if ((omit & DEVICE_OPERATING_SYSTEM) === 0) {
    x = text(r.operatingSystem);
    if (x !== undefined) o.operating_system = x;
  }
  if ((omit & DEVICE_OPERATING_SYSTEM_VERSION) === 0) {
    x = text(r.operatingSystemVersion);
    if (x !== undefined) o.operating_system_version = x;
  }
  x = protections(r.protections);
  if (x !== undefined) o.protections = x;
  x = number(r.purdueLevel);
  if (x !== undefined) o.purdue_level = x;
  if ((omit & DEVICE_RISK_LEVEL) === 0) {
    x = number(r.riskLevel);
    if (x !== undefined) o.risk_level = x;
  }
  x = sensor(r.sensor);
  if (x !== undefined) o.sensor = x;
  x = site(r.site);
  if (x !== undefined) o.site = x;
  x = array(r.tags);
  if (x !== undefined) o.tags = x;
  x = text(r.type);
  if (x !== undefined) o.type = x;
  x = text(r.typeEnum);
  if (x !== undefined) o.type_enum = x;
  if ((omit & DEVICE_USER_IDS) === 0) {
    x = ids(r.userIds);
    if (x !== undefined) o.user_ids = x;
  }
  x = text(r.visibility);
  if (x !== undefined) o.visibility = x;
  addUnknownFields(r, o, DEVICE_KEYS, ARMIS_FIELDS);
  return isEmptyObject(o) ? undefined : o;
}

const DATA_SOURCE_KEYS = new Set(["firstSeen", "instances", "lastSeen", "name", "types"]);

/** One of a device's `dataSources` for the vendor namespace. */
function dataSource(r: Readonly<Rec>): Rec | undefined {
  const o: Rec = {};
  let x: unknown;
  x = date(r.firstSeen);
  if (x !== undefined) o.first_seen = x;
  x = instances(r.instances);
  if (x !== undefined) o.instances = x;
  x = date(r.lastSeen);
  if (x !== undefined) o.last_seen = x;
  x = text(r.name);
  if (x !== undefined) o.name = x;
  x = array(r.types);
  if (x !== undefined) o.types = x;
  addUnknownFields(r, o, DATA_SOURCE_KEYS, ARMIS_FIELDS);
  return isEmptyObject(o) ? undefined : o;
}

const INSTANCE_KEYS = new Set(["firstSeen", "lastSeen", "name"]);

/** One of a data source's `instances` for the vendor namespace. */
function instance(r: Readonly<Rec>): Rec | undefined {
  const o: Rec = {};
  let x: unknown;
  x = date(r.firstSeen);
  if (x !== undefined) o.first_seen = x;
  x = date(r.lastSeen);
  if (x !== undefined) o.last_seen = x;
  x = text(r.name);
  if (x !== undefined) o.name = x;
  addUnknownFields(r, o, INSTANCE_KEYS, ARMIS_FIELDS);
  return isEmptyObject(o) ? undefined : o;
}

const PROTECTION_KEYS = new Set(["creationTime", "deviceId", "lastSeenTime", "protectionName"]);

/** One of a device's `protections` for the vendor namespace. */
function protection(r: Readonly<Rec>): Rec | undefined {
  const o: Rec = {};
  let x: unknown;
  x = date(r.creationTime);
  if (x !== undefined) o.creation_time = x;
  x = id(r.deviceId);
  if (x !== undefined) o.device_id = x;
  x = date(r.lastSeenTime);
  if (x !== undefined) o.last_seen_time = x;
  x = text(r.protectionName);
  if (x !== undefined) o.protection_name = x;
  addUnknownFields(r, o, PROTECTION_KEYS, ARMIS_FIELDS);
  return isEmptyObject(o) ? undefined : o;
}

const SENSOR_KEYS = new Set(["name", "type"]);

/** A device's `sensor` for the vendor namespace. */
function sensorObject(r: Readonly<Rec>): Rec | undefined {
  const o: Rec = {};
  let x: unknown;
  x = text(r.name);
  if (x !== undefined) o.name = x;
  x = text(r.type);
  if (x !== undefined) o.type = x;
  addUnknownFields(r, o, SENSOR_KEYS, ARMIS_FIELDS);
  return isEmptyObject(o) ? undefined : o;
}

const SITE_KEYS = new Set(["location", "name"]);

/** A device's `site` for the vendor namespace. */
function siteObject(r: Readonly<Rec>): Rec | undefined {
  const o: Rec = {};
  let x: unknown;
  x = text(r.location);
  if (x !== undefined) o.location = x;
  x = text(r.name);
  if (x !== undefined) o.name = x;
  addUnknownFields(r, o, SITE_KEYS, ARMIS_FIELDS);
  return isEmptyObject(o) ? undefined : o;
}

const ALERT_KEYS = new Set([
  "activityUUIDs",
  "affectedDevicesCount",
  "alertId",
  "classification",
  "connectionIds",
  "description",
  "destinationEndpoints",
  "deviceIds",
  "lastAlertUpdateTime",
  "mitreAttackLabels",
  "policyId",
  "policyLabels",
  "policyTitle",
  "severity",
  "sourceEndpoints",
  "status",
  "statusChangeTime",
  "time",
  "title",
  "type",
]);

/** An Armis alert for the vendor namespace. */
export function armisAlertVendor(r: Readonly<Rec>, omit = 0): Rec | undefined {
  const o: Rec = {};
  let x: unknown;
  x = array(r.activityUUIDs);
  if (x !== undefined) o.activity_uuids = x;
  x = number(r.affectedDevicesCount);
  if (x !== undefined) o.affected_devices_count = x;
  if ((omit & ALERT_ALERT_ID) === 0) {
    x = id(r.alertId);
    if (x !== undefined) o.alert_id = x;
  }
  x = text(r.classification);
  if (x !== undefined) o.classification = x;
  x = array(r.connectionIds);
  if (x !== undefined) o.connection_ids = x;
  if ((omit & ALERT_DESCRIPTION) === 0) {
    x = text(r.description);
    if (x !== undefined) o.description = x;
  }
  x = array(r.destinationEndpoints);
  if (x !== undefined) o.destination_endpoints = x;
  if ((omit & ALERT_DEVICE_IDS) === 0) {
    x = ids(r.deviceIds);
    if (x !== undefined) o.device_ids = x;
  }
  x = date(r.lastAlertUpdateTime);
  if (x !== undefined) o.last_alert_update_time = x;
  if ((omit & ALERT_MITRE_ATTACK_LABELS) === 0) {
    x = text(r.mitreAttackLabels);
    if (x !== undefined) o.mitre_attack_labels = x;
  }
  if ((omit & ALERT_POLICY_ID) === 0) {
    x = id(r.policyId);
    if (x !== undefined) o.policy_id = x;
  }
  x = array(r.policyLabels);
  if (x !== undefined) o.policy_labels = x;
  if ((omit & ALERT_POLICY_TITLE) === 0) {
    x = text(r.policyTitle);
    if (x !== undefined) o.policy_title = x;
  }
  x = text(r.severity);
  if (x !== undefined) o.severity = x;
  x = array(r.sourceEndpoints);
  if (x !== undefined) o.source_endpoints = x;
  x = text(r.status);
  if (x !== undefined) o.status = x;
  x = date(r.statusChangeTime);
  if (x !== undefined) o.status_change_time = x;
  if ((omit & ALERT_TIME) === 0) {
    x = date(r.time);
    if (x !== undefined) o.time = x;
  }
  x = text(r.title);
  if (x !== undefined) o.title = x;
  x = text(r.type);
  if (x !== undefined) o.type = x;
  addUnknownFields(r, o, ALERT_KEYS, ARMIS_FIELDS);
  return isEmptyObject(o) ? undefined : o;
}

const VULNERABILITY_KEYS = new Set([
  "affectedDevicesCount",
  "attackComplexity",
  "attackVector",
  "availabilityImpact",
  "avmRating",
  "avmRatingManualChangeReason",
  "avmRatingManualChangedBy",
  "avmRatingManualUpdateTime",
  "botnets",
  "cisaDueDate",
  "commonName",
  "confidentialityImpact",
  "cveUid",
  "cvssScore",
  "cvssScoreV4",
  "description",
  "epssPercentile",
  "epssScore",
  "exploitabilityScore",
  "firstDetected",
  "firstReferencePublishDate",
  "firstWeaponizedReferencePublishDate",
  "hasRansomware",
  "hasRemediationInfo",
  "id",
  "impactScore",
  "integrityImpact",
  "isWeaponized",
  "lastDetected",
  "latestExploitUpdate",
  "numOfExploits",
  "numberOfThreatActors",
  "privilegesRequired",
  "publishedDate",
  "reportedByGoogleZeroDays",
  "scope",
  "score",
  "severity",
  "status",
  "threatActors",
  "threatTags",
  "type",
  "userInteraction",
  "vulnerabilityMatch",
  "vulnerability_match",
]);

/** An Armis vulnerability for the vendor namespace. */
export function armisVulnerabilityVendor(r: Readonly<Rec>, omit = 0): Rec | undefined {
  const o: Rec = {};
  let x: unknown;
  x = number(r.affectedDevicesCount);
  if (x !== undefined) o.affected_devices_count = x;
  x = text(r.attackComplexity);
  if (x !== undefined) o.attack_complexity = x;
  if ((omit & VULNERABILITY_ATTACK_VECTOR) === 0) {
    x = text(r.attackVector);
    if (x !== undefined) o.attack_vector = x;
  }
  x = text(r.availabilityImpact);
  if (x !== undefined) o.availability_impact = x;
  x = text(r.avmRating);
  if (x !== undefined) o.avm_rating = x;
  x = text(r.avmRatingManualChangeReason);
  if (x !== undefined) o.avm_rating_manual_change_reason = x;
  if ((omit & VULNERABILITY_AVM_RATING_MANUAL_CHANGED_BY) === 0) {
    x = text(r.avmRatingManualChangedBy);
    if (x !== undefined) o.avm_rating_manual_changed_by = x;
  }
  x = date(r.avmRatingManualUpdateTime);
  if (x !== undefined) o.avm_rating_manual_update_time = x;
  x = text(r.botnets);
  if (x !== undefined) o.botnets = x;
  x = date(r.cisaDueDate);
  if (x !== undefined) o.cisa_due_date = x;
  x = text(r.commonName);
  if (x !== undefined) o.common_name = x;
  x = text(r.confidentialityImpact);
  if (x !== undefined) o.confidentiality_impact = x;
  if ((omit & VULNERABILITY_CVE_UID) === 0) {
    x = text(r.cveUid);
    if (x !== undefined) o.cve_uid = x;
  }
  if ((omit & VULNERABILITY_CVSS_SCORE) === 0) {
    x = number(r.cvssScore);
    if (x !== undefined) o.cvss_score = x;
  }
  x = number(r.cvssScoreV4);
  if (x !== undefined) o.cvss_score_v4 = x;
  if ((omit & VULNERABILITY_DESCRIPTION) === 0) {
    x = text(r.description);
    if (x !== undefined) o.description = x;
  }
  x = number(r.epssPercentile);
  if (x !== undefined) o.epss_percentile = x;
  x = number(r.epssScore);
  if (x !== undefined) o.epss_score = x;
  x = number(r.exploitabilityScore);
  if (x !== undefined) o.exploitability_score = x;
  if ((omit & VULNERABILITY_FIRST_DETECTED) === 0) {
    x = date(r.firstDetected);
    if (x !== undefined) o.first_detected = x;
  }
  x = date(r.firstReferencePublishDate);
  if (x !== undefined) o.first_reference_publish_date = x;
  x = date(r.firstWeaponizedReferencePublishDate);
  if (x !== undefined) o.first_weaponized_reference_publish_date = x;
  x = flag(r.hasRansomware);
  if (x !== undefined) o.has_ransomware = x;
  x = text(r.hasRemediationInfo);
  if (x !== undefined) o.has_remediation_info = x;
  if ((omit & VULNERABILITY_ID) === 0) {
    x = id(r.id);
    if (x !== undefined) o.id = x;
  }
  x = number(r.impactScore);
  if (x !== undefined) o.impact_score = x;
  x = text(r.integrityImpact);
  if (x !== undefined) o.integrity_impact = x;
  x = flag(r.isWeaponized);
  if (x !== undefined) o.is_weaponized = x;
  if ((omit & VULNERABILITY_LAST_DETECTED) === 0) {
    x = date(r.lastDetected);
    if (x !== undefined) o.last_detected = x;
  }
  x = date(r.latestExploitUpdate);
  if (x !== undefined) o.latest_exploit_update = x;
  x = number(r.numOfExploits);
  if (x !== undefined) o.num_of_exploits = x;
  x = number(r.numberOfThreatActors);
  if (x !== undefined) o.number_of_threat_actors = x;
  x = text(r.privilegesRequired);
  if (x !== undefined) o.privileges_required = x;
  x = date(r.publishedDate);
  if (x !== undefined) o.published_date = x;
  x = flag(r.reportedByGoogleZeroDays);
  if (x !== undefined) o.reported_by_google_zero_days = x;
  x = text(r.scope);
  if (x !== undefined) o.scope = x;
  if ((omit & VULNERABILITY_SCORE) === 0) {
    x = number(r.score);
    if (x !== undefined) o.score = x;
  }
  if ((omit & VULNERABILITY_SEVERITY) === 0) {
    x = text(r.severity);
    if (x !== undefined) o.severity = x;
  }
  x = text(r.status);
  if (x !== undefined) o.status = x;
  x = text(r.threatActors);
  if (x !== undefined) o.threat_actors = x;
  x = text(r.threatTags);
  if (x !== undefined) o.threat_tags = x;
  x = text(r.type);
  if (x !== undefined) o.type = x;
  x = text(r.userInteraction);
  if (x !== undefined) o.user_interaction = x;
  // The match the mapping reads (`vulnerability_match`, else `vulnerabilityMatch`) loses the fields
  // it copied to ECS; the other one, if both are sent, is kept whole.
  const first = r.vulnerability_match !== undefined && r.vulnerability_match !== null;
  x = match(r.vulnerability_match, first ? omit : 0);
  if (x !== undefined) o.vulnerability_match = x;
  x = match(r.vulnerabilityMatch, first ? 0 : omit);
  if (x !== undefined) o.vulnerability_match = x;
  addUnknownFields(r, o, VULNERABILITY_KEYS, ARMIS_FIELDS);
  return isEmptyObject(o) ? undefined : o;
}

const MATCH_KEYS = new Set([
  "advisoryId",
  "avmRating",
  "confidenceLevel",
  "confidenceLevelDescription",
  "cveUid",
  "deviceId",
  "firstDetected",
  "hasRemediationInfo",
  "lastDetected",
  "matchCriteriaString",
  "recommendedSteps",
  "remediationTypes",
  "status",
  "statusChangeReason",
  "statusSource",
]);

/** An Armis vulnerability match (`vulnerability_match`) for the vendor namespace. */
export function armisMatchVendor(r: Readonly<Rec>, omit = 0): Rec | undefined {
  const o: Rec = {};
  let x: unknown;
  x = id(r.advisoryId);
  if (x !== undefined) o.advisory_id = x;
  x = text(r.avmRating);
  if (x !== undefined) o.avm_rating = x;
  x = text(r.confidenceLevel);
  if (x !== undefined) o.confidence_level = x;
  x = text(r.confidenceLevelDescription);
  if (x !== undefined) o.confidence_level_description = x;
  x = text(r.cveUid);
  if (x !== undefined) o.cve_uid = x;
  if ((omit & MATCH_DEVICE_ID) === 0) {
    x = id(r.deviceId);
    if (x !== undefined) o.device_id = x;
  }
  if ((omit & MATCH_FIRST_DETECTED) === 0) {
    x = date(r.firstDetected);
    if (x !== undefined) o.first_detected = x;
  }
  x = text(r.hasRemediationInfo);
  if (x !== undefined) o.has_remediation_info = x;
  if ((omit & MATCH_LAST_DETECTED) === 0) {
    x = date(r.lastDetected);
    if (x !== undefined) o.last_detected = x;
  }
  x = text(r.matchCriteriaString);
  if (x !== undefined) o.match_criteria_string = x;
  x = text(r.recommendedSteps);
  if (x !== undefined) o.recommended_steps = x;
  x = text(r.remediationTypes);
  if (x !== undefined) o.remediation_types = x;
  x = text(r.status);
  if (x !== undefined) o.status = x;
  x = text(r.statusChangeReason);
  if (x !== undefined) o.status_change_reason = x;
  x = text(r.statusSource);
  if (x !== undefined) o.status_source = x;
  addUnknownFields(r, o, MATCH_KEYS, ARMIS_FIELDS);
  return isEmptyObject(o) ? undefined : o;
}
