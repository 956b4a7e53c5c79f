import { asRecord, documentId, ECS_VERSION, finishEvent } from "../document.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { timestamp } from "../values.ts";
import { deviceParts, earliest, latest } from "./clinical.ts";
import { addDeviceParts, xdomeVendor } from "./common.ts";
import { XDOME_OBSERVER_PRODUCT, XDOME_OBSERVER_VENDOR } from "./fields.ts";

/**
 * xDome device (`POST devices/`) → ECS inventory snapshot (`event.kind: asset`).
 *
 * `@timestamp` = `updated_time` (then the latest of `last_seen_list`, then the ingest time),
 * `event.start` = the earliest of `first_seen_list`; `host.id`/`device.id` = `uid`, `host.name` =
 * `device_name`, `host.mac` = `mac_list` upper-dash, `host.ip` = `ip_list` without annotation
 * suffixes, `host.type` = `device_type`, `host.os.*` from `os_*`/`combined_os`,
 * `host.risk.static_score`/`static_level` = `risk_score_points`/`risk_score`,
 * `device.manufacturer`/`model.name`/`serial_number`; `medsoc.device.*`, `medsoc.clinical.*`
 * (`fda_class`, `phi`, `equipment_class`, `consequence_of_failure`, `battery_level`,
 * `utilization_rate`) and `medsoc.location.*` (`site_name`, `cmms_department`, first of `vlan_list`).
 * Document id: `uid` + `@timestamp` source.
 *
 * `claroty_xdome.device.*` keeps every field except (unless `preserveDuplicateVendorFields`)
 * `uid`, `device_name`, `manufacturer`, `model`, `serial_number` when copied.
 */
export function mapXDomeDevice(record: unknown, ctx: MappingContext): EcsDocument {
  const r = asRecord(record, "claroty_xdome device");
  const parts = deviceParts(r, "");
  const updated = timestamp(r.updated_time) ?? latest(r.last_seen_list);
  const docId = documentId(ctx, record, parts.uid, updated, "claroty_xdome device");
  const event: Record<string, unknown> = { kind: "asset", category: ["host"], type: ["info"] };
  const start = earliest(r.first_seen_list);
  if (start !== undefined) event.start = start;
  finishEvent(event, ctx, record);
  const doc: EcsDocument = {
    "@timestamp": updated ?? ctx.ingestedAt,
    ecs: { version: ECS_VERSION },
    event: event as EcsDocument["event"],
    observer: { vendor: XDOME_OBSERVER_VENDOR, product: XDOME_OBSERVER_PRODUCT },
    medsoc: { doc_id: docId, source: ctx.source, stream: ctx.stream, ...parts.medsoc },
  };
  addDeviceParts(doc, parts);
  const vendor = xdomeVendor(r, ctx, parts.copied, "");
  if (vendor !== undefined) doc.claroty_xdome = { device: vendor };
  return doc;
}
