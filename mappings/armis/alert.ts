import { asRecord, documentId, ECS_VERSION, finishEvent, isEmpty } from "../document.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { severityScore, str, strList, timestamp } from "../values.ts";
import { ARMIS_OBSERVER_PRODUCT, ARMIS_OBSERVER_VENDOR } from "./fields.ts";
import { armisAlertVendor } from "./vendor.ts";

/**
 * Armis alert → ECS (`event.kind: alert`), following Elastic's `armis.alert` pipeline (reference
 * fixture `armis/alert`): `@timestamp` = `time` (then `statusChangeTime`), `event.id` = `alertId`,
 * `event.severity` 21/47/73/99 from `severity`, `message` = `description` (trimmed; `title` when
 * there is no description), `rule.id`/`rule.name` = `policyId`/`policyTitle`, `host.id` and
 * `related.hosts` = `deviceIds` as strings, `threat.technique.name` = `mitreAttackLabels`.
 * The document id hashes (`alertId`, `time`) like Elastic's fingerprint processor.
 */
export function mapArmisAlert(record: unknown, ctx: MappingContext): EcsDocument {
  const r = asRecord(record, "armis alert");
  const vendor = armisAlertVendor(r);
  const id = str(r.alertId);
  const time = typeof vendor?.time === "string" ? vendor.time : timestamp(r.time);
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
  const message = str(r.description) ?? str(r.title);
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

  if (vendor !== undefined) doc.armis = { alert: vendor };
  return doc;
}
