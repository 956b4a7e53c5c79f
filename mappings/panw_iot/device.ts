import { asRecord, documentId, ECS_VERSION, finishEvent } from "../document.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { timestamp } from "../values.ts";
import { PANW_IOT_OBSERVER_PRODUCT, PANW_IOT_OBSERVER_VENDOR, panwVendor } from "./fields.ts";
import { panwHost, panwRisk } from "./host.ts";

/**
 * PANW IoT Security inventory row (`GET /device/list?detail=true`) → ECS snapshot
 * (`event.kind: asset`). `host.id`/`device.id` = `deviceid` (the MAC), `host.mac`, `host.ip` =
 * `ip_address`, `host.name` = `hostname`, `host.type` = `category`, `host.os.*` from `os_group` /
 * `os_firmware_version`, `host.risk.*` = `risk_score`/`risk_level`, `device.manufacturer` =
 * `vendor`, `device.model.name` = `model`, `medsoc.device.vendor_category` = `profile_vertical`,
 * `vendor_type` = `category`, `medsoc.location.site`/`vlan`. `@timestamp` = `last_activity`,
 * `event.start` = `first_seen_date`. Document id: `deviceid` + `last_activity`.
 */
export function mapPanwIotDevice(record: unknown, ctx: MappingContext): EcsDocument {
  const r = asRecord(record, "panw_iot device");
  const parts = panwHost(r);
  const last = timestamp(r.last_activity);
  const docId = documentId(ctx, record, parts.id, last, "panw_iot device");
  const event: Record<string, unknown> = { kind: "asset", category: ["host"], type: ["info"] };
  const first = timestamp(r.first_seen_date);
  if (first !== undefined) event.start = first;
  finishEvent(event, ctx, record);
  const doc: EcsDocument = {
    "@timestamp": last ?? ctx.ingestedAt,
    ecs: { version: ECS_VERSION },
    event: event as EcsDocument["event"],
    observer: { vendor: PANW_IOT_OBSERVER_VENDOR, product: PANW_IOT_OBSERVER_PRODUCT },
    medsoc: { doc_id: docId, source: ctx.source, stream: ctx.stream, ...parts.medsoc },
  };
  const host = parts.host ? { ...parts.host } : {};
  const risk = panwRisk(r);
  if (risk !== undefined) host.risk = risk;
  if (Object.keys(host).length > 0) doc.host = host;
  if (parts.device) doc.device = parts.device;
  const copied = [...parts.copied];
  if (typeof r.hostname === "string" && r.hostname.trim() !== "") copied.push("hostname");
  const vendor = panwVendor(r, ctx, copied);
  if (vendor !== undefined) doc.panw_iot = { device: vendor };
  return doc;
}
