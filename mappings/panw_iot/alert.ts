import { credentialFromText } from "../credential-text.ts";
import { asRecord, documentId, ECS_VERSION, finishEvent } from "../document.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { num, severityScore, str, timestamp } from "../values.ts";
import { PANW_IOT_OBSERVER_PRODUCT, PANW_IOT_OBSERVER_VENDOR, panwVendor } from "./fields.ts";
import { panwHost } from "./host.ts";

const CREDENTIAL_ALERT = /default (?:password|credential)|weak password/i;

/**
 * PANW IoT Security alert (`GET /alert/list`) → ECS (`event.kind: alert`,
 * `event.category: [intrusion_detection]`). `event.id` = `zb_ticketid`, `@timestamp` = `date`,
 * `rule.name` = `name`, `message` = `description` (then `name`), `event.action` = `type`,
 * `event.severity` from `severity`, `event.risk_score` = `risk_score`, the device from `deviceid`
 * / `hostname` / `ip`. A description or name that speaks of a default/weak/shared/hard-coded
 * password fills `medsoc.credential.*` (user name and fingerprint when the description names them).
 * Document id: `zb_ticketid` + `date`.
 */
export function mapPanwIotAlert(record: unknown, ctx: MappingContext): EcsDocument {
  const r = asRecord(record, "panw_iot alert");
  const parts = panwHost(r);
  const id = str(r.zb_ticketid) ?? str(r.id);
  const date = timestamp(r.date);
  const docId = documentId(ctx, record, id, date, "panw_iot alert");
  const event: Record<string, unknown> = { kind: "alert", category: ["intrusion_detection"], type: ["info"] };
  if (id !== undefined) event.id = id;
  const action = str(r.type);
  if (action !== undefined) event.action = action;
  const severity = severityScore(r.severity);
  if (severity !== undefined) event.severity = severity;
  const risk = num(r.risk_score);
  if (risk !== undefined) event.risk_score = risk;
  finishEvent(event, ctx, record);
  const doc: EcsDocument = {
    "@timestamp": date ?? ctx.ingestedAt,
    ecs: { version: ECS_VERSION },
    event: event as EcsDocument["event"],
    observer: { vendor: PANW_IOT_OBSERVER_VENDOR, product: PANW_IOT_OBSERVER_PRODUCT },
    medsoc: { doc_id: docId, source: ctx.source, stream: ctx.stream, ...parts.medsoc },
  };
  const name = str(r.name);
  const description = str(r.description);
  const message = description ?? name;
  if (message !== undefined) doc.message = message;
  if (name !== undefined) doc.rule = { name };
  const mitre = str(r.mitre);
  if (mitre !== undefined) doc.threat = { technique: { name: [mitre] } };
  if (parts.host) doc.host = parts.host;
  if (parts.device) doc.device = parts.device;
  const credential = credentialFromText(description, CREDENTIAL_ALERT.test(name ?? ""));
  if (credential !== undefined) doc.medsoc.credential = { ...credential };
  const copied = [...parts.copied];
  if (typeof r.zb_ticketid === "string") copied.push("zb_ticketid");
  if (name !== undefined) copied.push("name");
  const vendor = panwVendor(r, ctx, copied);
  if (vendor !== undefined) doc.panw_iot = { alert: vendor };
  return doc;
}
