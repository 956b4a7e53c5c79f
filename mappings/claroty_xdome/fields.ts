/**
 * Claroty xDome field table for the `claroty_xdome.<stream>.*` namespace (keys are already
 * snake_case). Ids become strings, scores and ports numbers, timestamps UTC ms, lists stay lists.
 * Clinical fields whose type drifts (`fda_class` "Class II", `battery_level` "57%", `phi` "Yes")
 * are normalised by the mappers, see `clinical.ts`.
 */
import { fieldTable } from "../vendor-fields.ts";

export const XDOME_OBSERVER_VENDOR = "Claroty";
export const XDOME_OBSERVER_PRODUCT = "xDome";

const dates = [
  "updated_time",
  "first_seen_list",
  "last_seen_list",
  "device_first_seen_list",
  "device_last_seen_list",
  "device_alert_detected_time",
  "device_alert_updated_time",
  "vulnerability_published_date",
  "vulnerability_last_updated",
  "device_vulnerability_detection_date",
  "device_vulnerability_resolution_date",
  "detection_time",
];
const numbers = [
  "risk_score_points",
  "device_risk_score_points",
  "avg_in_use_per_day",
  "device_avg_in_use_per_day",
  "vulnerability_cvss_v2_score",
  "vulnerability_cvss_v2_exploitability_subscore",
  "vulnerability_cvss_v3_score",
  "vulnerability_cvss_v3_exploitability_subscore",
  "source_port",
  "dest_port",
];
const ids = ["alert_id", "event_id", "related_alert_ids", "vulnerability_id"];
const bools = [
  "retired",
  "device_retired",
  "handles_pii",
  "device_handles_pii",
  "vulnerability_is_known_exploited",
];

export const XDOME_FIELDS = fieldTable({
  ...Object.fromEntries(dates.map((k) => [k, "date" as const])),
  ...Object.fromEntries(numbers.map((k) => [k, "num" as const])),
  ...Object.fromEntries(ids.map((k) => [k, "id" as const])),
  ...Object.fromEntries(bools.map((k) => [k, "bool" as const])),
});
