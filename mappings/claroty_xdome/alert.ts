import { credentialFromText } from "../credential-text.ts";
import { asRecord, documentId, ECS_VERSION, finishEvent, isEmpty } from "../document.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { num, str, strList, timestamp } from "../values.ts";
import { deviceParts } from "./clinical.ts";
import { addDeviceParts, riskSeverity, xdomeVendor } from "./common.ts";
import { XDOME_OBSERVER_PRODUCT, XDOME_OBSERVER_VENDOR } from "./fields.ts";

/** xDome alert types that are credential findings (XSOAR `XDome.yml`). */
const CREDENTIAL_ALERT = /weak\/default password/i;

/**
 * xDome device × alert pair (`POST device_alert_relations/`, one record per (alert, device)) →
 * ECS alert (`event.kind: alert`, `event.category: [intrusion_detection]`).
 *
 * `@timestamp` = `device_alert_updated_time`, `event.start` = `device_alert_detected_time`,
 * `event.id` = `alert_id`, `event.action` = `alert_name` as a lower-case hyphenated word list
 * (`Outdated Firmware` → `outdated-firmware`, as Elastic's xDome pipeline writes it; then
 * `alert_type_name`), `rule.name` = `alert_name`,
 * `rule.category` = `alert_category`, `message` = `alert_description` (then `alert_name`),
 * `tags` = `alert_labels`, `event.severity` from the device risk label and `event.risk_score` =
 * `device_risk_score_points` (as Elastic's xDome package does), the device as in the device
 * mapping from the `device_*` fields. A "Weak/Default Password" alert, or a description that speaks
 * of a default/weak/shared/hard-coded password, fills `medsoc.credential.{observed, username,
 * fingerprint}` from the description. Document id: `alert_id|device_uid` + updated time.
 *
 * Also takes the shape Elastic's xDome integration collects (`POST alerts/{id}/devices`): the
 * device's own fields with the alert under `alert_info`; see {@link relationRecord}.
 */
export function mapXDomeAlert(record: unknown, ctx: MappingContext): EcsDocument {
  const r = relationRecord(asRecord(record, "claroty_xdome alert"));
  const parts = deviceParts(r, "device_");
  const alertId = str(r.alert_id);
  const updated = timestamp(r.device_alert_updated_time);
  const pairId = alertId === undefined ? undefined : `${alertId}|${parts.uid ?? ""}`;
  const docId = documentId(ctx, record, pairId, updated, "claroty_xdome alert");

  const event: Record<string, unknown> = { kind: "alert", category: ["intrusion_detection"], type: ["info"] };
  if (alertId !== undefined) event.id = alertId;
  const type = str(r.alert_type_name);
  const action = actionOf(str(r.alert_name)) ?? type;
  if (action !== undefined) event.action = action;
  const severity = riskSeverity(r.device_risk_score);
  if (severity !== undefined) event.severity = severity;
  const risk = num(r.device_risk_score_points);
  if (risk !== undefined) event.risk_score = risk;
  const detected = timestamp(r.device_alert_detected_time);
  if (detected !== undefined) event.start = detected;
  finishEvent(event, ctx, record);

  const doc: EcsDocument = {
    "@timestamp": updated ?? detected ?? ctx.ingestedAt,
    ecs: { version: ECS_VERSION },
    event: event as EcsDocument["event"],
    observer: { vendor: XDOME_OBSERVER_VENDOR, product: XDOME_OBSERVER_PRODUCT },
    medsoc: { doc_id: docId, source: ctx.source, stream: ctx.stream, ...parts.medsoc },
  };
  const name = str(r.alert_name);
  const description = str(r.alert_description);
  const message = description ?? name;
  if (message !== undefined) doc.message = message;
  const rule: Record<string, unknown> = {};
  if (name !== undefined) rule.name = name;
  const category = str(r.alert_category);
  if (category !== undefined) rule.category = category;
  if (!isEmpty(rule)) doc.rule = rule;
  const labels = strList(r.alert_labels);
  if (labels !== undefined) doc.tags = labels;
  addDeviceParts(doc, parts);

  const credentialAlert = CREDENTIAL_ALERT.test(type ?? "") || CREDENTIAL_ALERT.test(name ?? "");
  const credential = credentialFromText(description, credentialAlert);
  if (credential !== undefined) doc.medsoc.credential = { ...credential };

  const copied = [...parts.copied];
  if (name !== undefined) copied.push("alert_name");
  const vendor = xdomeVendor(r, ctx, copied, "device_");
  if (vendor !== undefined) doc.claroty_xdome = { alert: vendor };
  return doc;
}

/** `alert_info` keys of Elastic's shape → the device × alert relation's keys. */
const ALERT_INFO_KEYS: Readonly<Record<string, string>> = {
  id: "alert_id",
  category: "alert_category",
  description: "alert_description",
  detected_time: "device_alert_detected_time",
  updated_time: "device_alert_updated_time",
  status: "device_alert_status",
};

/**
 * A record in the shape of Elastic's xDome integration (one device of `POST alerts/{id}/devices`
 * with the alert under `alert_info`) as a `device_alert_relations/` record: device fields get the
 * `device_` prefix (those that have it keep it), `alert_info.id` → `alert_id`, `category` →
 * `alert_category`, `description` → `alert_description`, `detected_time`/`updated_time` →
 * `device_alert_detected_time`/`device_alert_updated_time`, `status` → `device_alert_status`, other
 * alert keys get the `alert_` prefix. Any other record is returned as it is.
 */
export function relationRecord(r: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  const info = r.alert_info;
  if (typeof info !== "object" || info === null || Array.isArray(info)) return r;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(r)) {
    if (key === "alert_info") continue;
    out[key.startsWith("device_") ? key : `device_${key}`] = value;
  }
  for (const [key, value] of Object.entries(info as Record<string, unknown>)) {
    const target = ALERT_INFO_KEYS[key] ?? (key.startsWith("alert_") ? key : `alert_${key}`);
    out[target] = value;
  }
  return out;
}

/** `Weak/Default Password: Telnet` → `weakdefault-password-telnet`: `/`, `:` and `-` dropped, words lower-cased and joined by `-`. */
function actionOf(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const words = name
    .replace(/[/:-]/g, "")
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w !== "");
  return words.length === 0 ? undefined : words.join("-");
}
