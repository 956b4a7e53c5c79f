import { asRecord, documentId, ECS_VERSION, finishEvent, isEmpty } from "../document.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { severityScore, str, stringCount, strList, timestamp } from "../values.ts";
import { ARMIS_OBSERVER_PRODUCT, ARMIS_OBSERVER_VENDOR } from "./fields.ts";
import {
  ALERT_ALERT_ID,
  ALERT_DESCRIPTION,
  ALERT_DEVICE_IDS,
  ALERT_MITRE_ATTACK_LABELS,
  ALERT_POLICY_ID,
  ALERT_POLICY_TITLE,
  ALERT_TIME,
  armisAlertVendor,
} from "./vendor.ts";

/**
 * Armis alert → ECS (`event.kind: alert`), following Elastic's `armis.alert` pipeline (reference
 * fixture `armis/alert`): `@timestamp` = `time` (then `statusChangeTime`), `event.id` = `alertId`,
 * `event.severity` 21/47/73/99 from `severity`, `message` = `description` (trimmed; `title` when
 * there is no description), `rule.id`/`rule.name` = `policyId`/`policyTitle`, `host.id` and
 * `related.hosts` = `deviceIds` as strings, `threat.technique.name` = `mitreAttackLabels`.
 * The document id hashes (`alertId`, `time`) like Elastic's fingerprint processor.
 *
 * Unless `preserveDuplicateVendorFields` is set, `armis.alert.*` leaves out the fields copied
 * above (Elastic's `remove_custom_duplicate_fields` list), each only when its ECS copy was made
 * for this record: `alert_id` (`event.id`), `time` (`@timestamp`), `description` (`message`),
 * `policy_id` (`rule.id`), `policy_title` (`rule.name`), `device_ids` (`host.id`), and
 * `mitre_attack_labels` (`threat.technique.name`) when it holds only strings.
 *
 * `medsoc.credential.observed` (mapping contract) is `default`, `weak`, `hard_coded` or `shared`
 * when the alert's title or policy names such a credential ("Default credentials used to log in").
 *
 * Always kept: `severity` (the label; `event.severity` is a number), `title` (even when it
 * becomes `message`), `status_change_time` (even when it becomes `@timestamp`), and the rest.
 */
export function mapArmisAlert(record: unknown, ctx: MappingContext): EcsDocument {
  const r = asRecord(record, "armis alert");
  const id = str(r.alertId);
  const time = timestamp(r.time);
  const docId = documentId(ctx, record, id, time, "armis alert");

  const event: Record<string, unknown> = { kind: "alert" };
  if (id !== undefined) event.id = id;
  const severity = severityScore(r.severity);
  if (severity !== undefined) event.severity = severity;
  finishEvent(event, ctx, record);

  const doc: EcsDocument = {
    "@timestamp": time ?? timestamp(r.statusChangeTime) ?? ctx.ingestedAt,
    ecs: { version: ECS_VERSION },
    event: event as EcsDocument["event"],
    observer: { vendor: ARMIS_OBSERVER_VENDOR, product: ARMIS_OBSERVER_PRODUCT },
    medsoc: { doc_id: docId, source: ctx.source, stream: ctx.stream },
  };
  const observed = observedCredential(str(r.title), str(r.policyTitle));
  if (observed !== undefined) doc.medsoc.credential = { observed };
  const description = str(r.description);
  const message = description ?? str(r.title);
  if (message !== undefined) doc.message = message;

  const rule: Record<string, unknown> = {};
  const ruleId = str(r.policyId);
  if (ruleId !== undefined) rule.id = ruleId;
  const ruleName = str(r.policyTitle);
  if (ruleName !== undefined) rule.name = ruleName;
  if (!isEmpty(rule)) doc.rule = rule;

  const devices = strList(r.deviceIds);
  if (devices !== undefined) {
    doc.host = { id: devices };
    doc.related = { hosts: devices.slice() };
  }
  const techniques = strList(r.mitreAttackLabels);
  if (techniques !== undefined) doc.threat = { technique: { name: techniques } };

  let omit = 0;
  if (ctx.preserveDuplicateVendorFields !== true) {
    if (id !== undefined) omit |= ALERT_ALERT_ID;
    if (time !== undefined) omit |= ALERT_TIME;
    if (description !== undefined) omit |= ALERT_DESCRIPTION;
    if (ruleId !== undefined) omit |= ALERT_POLICY_ID;
    if (ruleName !== undefined) omit |= ALERT_POLICY_TITLE;
    if (devices !== undefined) omit |= ALERT_DEVICE_IDS;
    if (techniques !== undefined && stringCount(r.mitreAttackLabels) > 0) omit |= ALERT_MITRE_ATTACK_LABELS;
  }
  const vendor = armisAlertVendor(r, omit);
  if (vendor !== undefined) doc.armis = { alert: vendor };
  return doc;
}

/** What kind of credential an Armis alert title or policy title says was seen. */
export function observedCredential(...titles: (string | undefined)[]): string | undefined {
  for (const t of titles) {
    if (t === undefined) continue;
    if (/hard[-\s]?coded (credential|password)/i.test(t)) return "hard_coded";
    if (/default (credential|password)/i.test(t)) return "default";
    if (/weak (credential|password)/i.test(t)) return "weak";
    if (/shared (credential|password)/i.test(t)) return "shared";
  }
  return undefined;
}
