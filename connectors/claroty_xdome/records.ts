/**
 * Claroty xDome record shapes and the `fields` lists the connector asks for. Sources:
 * - device × alert pairs: `POST device_alert_relations/` → `devices_alerts[]`; field names from
 *   XSOAR `XDome.py` (`DEVICE_ALERT_FIELDS`) and `data/vendors/claroty_xdome/xsoar_device_alert_relations_response.json`;
 * - device × vulnerability pairs: `POST device_vulnerability_relations/` → `devices_vulnerabilities[]`;
 *   field names from XSOAR `DEVICE_VULNERABILITY_FIELDS` (which include the medical `device_*` fields);
 * - devices: `POST devices/` → `devices[]`; field names from Elastic's alert stream device list;
 * - OT activity events: `POST ot_activity_events/` → `ot_activity_events[]`; field names from
 *   Elastic's event stream.
 * The connector never changes a record; these types describe what arrives, type drift included.
 */

/** Clinical and location fields of a device (without prefix on `devices/`, `device_`-prefixed on relations). */
export const DEVICE_CORE_FIELDS = [
  "uid",
  "device_name",
  "ip_list",
  "mac_list",
  "manufacturer",
  "model",
  "model_family",
  "serial_number",
  "device_category",
  "device_subcategory",
  "device_type",
  "os_category",
  "os_name",
  "os_version",
  "combined_os",
  "software_or_firmware_version",
  "site_name",
  "network_list",
  "vlan_list",
  "purdue_level",
  "retired",
  "labels",
  "risk_score",
  "risk_score_points",
  "first_seen_list",
  "last_seen_list",
  "fda_class",
  "phi",
  "handles_pii",
  "equipment_class",
  "consequence_of_failure",
  "battery_level",
  "utilization_rate",
  "avg_in_use_per_day",
  // ASSUMED field name: the live "in use right now" state of a pump or monitor, which the
  // clinical-safety gate needs (monitors.md §2 lists utilization_rate and avg_in_use_per_day, which
  // are averages). Ask the customer which field their tenant exposes.
  "in_use",
  "cmms_department",
  "cmms_asset_tag",
  "mobility",
] as const;

/** `fields` of the device stream (the device cursor field is added at request time). */
export const DEVICE_FIELDS: readonly string[] = DEVICE_CORE_FIELDS;

/**
 * `fields` of the alert stream: XSOAR's `DEVICE_ALERT_FIELDS`, plus the `device_`-prefixed clinical
 * fields and `alert_description` (same naming rule as the vulnerability relation; assumed).
 */
export const ALERT_RELATION_FIELDS: readonly string[] = [
  "alert_assignees",
  "alert_category",
  "alert_class",
  "alert_id",
  "alert_labels",
  "alert_name",
  "alert_type_name",
  "alert_description",
  "device_alert_detected_time",
  "device_alert_status",
  "device_alert_updated_time",
  "device_assignees",
  "device_labels",
  ...DEVICE_CORE_FIELDS.filter((f) => f !== "labels").map((f) =>
    f.startsWith("device_") ? f : `device_${f}`,
  ),
];

/** `fields` of the vulnerability stream (the XSOAR list's vulnerability part and the device part above). */
export const VULNERABILITY_RELATION_FIELDS: readonly string[] = [
  "vulnerability_id",
  "vulnerability_name",
  "vulnerability_type",
  "vulnerability_cve_ids",
  "vulnerability_cvss_v2_score",
  "vulnerability_cvss_v2_exploitability_subscore",
  "vulnerability_cvss_v3_score",
  "vulnerability_cvss_v3_exploitability_subscore",
  "vulnerability_adjusted_vulnerability_score_level",
  "vulnerability_sources",
  "vulnerability_description",
  "vulnerability_affected_products",
  "vulnerability_recommendations",
  "vulnerability_is_known_exploited",
  "vulnerability_published_date",
  "vulnerability_last_updated",
  "vulnerability_relevance",
  "vulnerability_relevance_sources",
  "device_vulnerability_detection_date",
  "device_assignees",
  "device_labels",
  ...DEVICE_CORE_FIELDS.filter((f) => f !== "labels").map((f) =>
    f.startsWith("device_") ? f : `device_${f}`,
  ),
];

/** `fields` of the OT activity event stream (Elastic's event stream list). */
export const EVENT_FIELDS: readonly string[] = [
  "event_id",
  "event_type",
  "detection_time",
  "related_alert_ids",
  "description",
  "mode",
  "protocol",
  "ip_protocol",
  "source_asset_id",
  "source_ip",
  "source_port",
  "source_device_name",
  "source_device_type",
  "source_site_name",
  "source_network",
  "source_username",
  "dest_asset_id",
  "dest_ip",
  "dest_port",
  "dest_device_name",
  "dest_device_type",
  "dest_site_name",
  "dest_network",
];

/** A record of `devices/` (the fields above; type drift noted). */
export interface XDomeDevice {
  uid: string;
  device_name: string | null;
  /** Entries may carry an annotation suffix, `"10.1.2.3 / (…)"`. */
  ip_list: string[];
  mac_list: string[];
  manufacturer: string | null;
  model: string | null;
  serial_number: string | null;
  device_category: string | null;
  device_subcategory: string | null;
  device_type: string | null;
  /** A label (`Very Low` … `Critical`); the number is `risk_score_points`. */
  risk_score: string | null;
  /** A number, or a numeric string in some feeds. */
  risk_score_points: number | string | null;
  fda_class: number | string | null;
  phi: boolean | string | null;
  equipment_class: string | null;
  consequence_of_failure: string | null;
  battery_level: number | string | null;
  utilization_rate: number | string | null;
  /** Live in-use state (ASSUMED field, see DEVICE_CORE_FIELDS); `"Yes"`/`"No"` in some feeds. */
  in_use?: boolean | string | null;
  [field: string]: unknown;
}

/** A record of `device_alert_relations/`: one (alert, device) pair. */
export interface XDomeDeviceAlertRelation {
  alert_id: number | string;
  alert_name: string | null;
  alert_type_name: string | null;
  alert_category: string | null;
  device_alert_status: string | null;
  device_alert_detected_time: string | null;
  device_alert_updated_time: string;
  device_uid: string;
  [field: string]: unknown;
}

/** A record of `device_vulnerability_relations/`: one (device, vulnerability) pair. */
export interface XDomeDeviceVulnerabilityRelation {
  vulnerability_id: string;
  vulnerability_name: string | null;
  vulnerability_cve_ids: string[] | null;
  vulnerability_cvss_v3_score: number | null;
  device_uid: string;
  [field: string]: unknown;
}

/** A record of `ot_activity_events/`. */
export interface XDomeOtActivityEvent {
  event_id: number | string;
  event_type: string | null;
  detection_time: string;
  [field: string]: unknown;
}

/** The FastAPI validation error body xDome answers with on 422. */
export interface XDomeValidationError {
  detail: Array<{ loc: Array<string | number>; msg: string; type: string }>;
}
