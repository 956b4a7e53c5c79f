import { asRecord, documentId, ECS_VERSION, finishEvent, isEmpty } from "../document.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { bool, ipList, isIpAddress, mac, num, SEVERITY_SCORE, str, strList, union } from "../values.ts";
import {
  NOZOMI_OBSERVER_PRODUCT,
  NOZOMI_OBSERVER_VENDOR,
  nozomiTime,
  nozomiVendor,
  scoreLabel,
} from "./fields.ts";

/**
 * Nozomi alert → ECS (`event.kind: alert`, `event.category: [intrusion_detection]`,
 * `event.type: [info]`).
 *
 * `@timestamp` = `time` (then `created_time`); `event.id` = `id`; `event.action` and `rule.id` =
 * `type_id`; `rule.name` = `name` (then `type_name`); `message` = `description`;
 * `event.risk_score` = `risk` (a string in some feeds, a number in others: both read);
 * `event.severity` 21/47/73/99 from `risk` on the 0–10 scale (≥9 critical, ≥7 high, ≥4 medium,
 * else low; `severity` when `risk` is missing); `event.end` = `closed_time` (0 = open);
 * `source.*`/`destination.*` from `ip_src`/`mac_src`/`port_src`/`zone_src` and their `_dst`
 * twins; `network.transport` = `transport_protocol`, `network.protocol` = `protocol`;
 * `related.ip` = both addresses.
 *
 * The device the alert is about: `properties.victims` (`"ip:port"` entries) names it, as Nozomi's
 * incident model does; `host.ip` = the victims' addresses, `host.mac` = the MAC of the side whose
 * address is a victim. Without victims there is no `host.*`.
 *
 * Unless `preserveDuplicateVendorFields` is set, `nozomi.alert.*` leaves out `id`, `time`,
 * `description`, `name`, `type_id` and the `*_src`/`*_dst` address, MAC and port fields copied to
 * `source.*`/`destination.*`. `risk` is always kept (as a number).
 */
export function mapNozomiAlert(record: unknown, ctx: MappingContext): EcsDocument {
  const r = asRecord(record, "nozomi alert");
  const id = str(r.id);
  const time = nozomiTime(r.time) ?? nozomiTime(r.created_time);
  const docId = documentId(ctx, record, id, time, "nozomi alert");
  const omit = new Set<string>();
  const copied = (key: string) => {
    if (ctx.preserveDuplicateVendorFields !== true) omit.add(key);
  };

  const event: Record<string, unknown> = { kind: "alert", category: ["intrusion_detection"], type: ["info"] };
  if (id !== undefined) {
    event.id = id;
    copied("id");
  }
  if (nozomiTime(r.time) !== undefined) copied("time");
  const typeId = str(r.type_id);
  if (typeId !== undefined) {
    event.action = typeId;
    copied("type_id");
  }
  const risk = num(r.risk);
  if (risk !== undefined) event.risk_score = risk;
  const label = scoreLabel(risk ?? num(r.severity));
  if (label !== undefined) event.severity = SEVERITY_SCORE[label.toLowerCase()];
  const closed = nozomiTime(r.closed_time);
  if (closed !== undefined) event.end = closed;
  finishEvent(event, ctx, record);

  const doc: EcsDocument = {
    "@timestamp": time ?? ctx.ingestedAt,
    ecs: { version: ECS_VERSION },
    event: event as EcsDocument["event"],
    observer: { vendor: NOZOMI_OBSERVER_VENDOR, product: NOZOMI_OBSERVER_PRODUCT },
    medsoc: { doc_id: docId, source: ctx.source, stream: ctx.stream },
  };
  const description = str(r.description);
  if (description !== undefined) {
    doc.message = description;
    copied("description");
  }
  const rule: Record<string, unknown> = {};
  if (typeId !== undefined) rule.id = typeId;
  const ruleName = str(r.name) ?? str(r.type_name);
  if (ruleName !== undefined) {
    rule.name = ruleName;
    if (str(r.name) !== undefined) copied("name");
  }
  if (!isEmpty(rule)) doc.rule = rule;

  const side = (suffix: "src" | "dst") => {
    const o: Record<string, unknown> = {};
    const ip = str(r[`ip_${suffix}`]);
    if (ip !== undefined && isIpAddress(ip)) {
      o.ip = ip;
      copied(`ip_${suffix}`);
    }
    const m = mac(r[`mac_${suffix}`]);
    if (m !== undefined) {
      o.mac = m;
      copied(`mac_${suffix}`);
    }
    const port = num(r[`port_${suffix}`]);
    if (port !== undefined && Number.isInteger(port) && port >= 0 && port <= 65_535) {
      o.port = port;
      copied(`port_${suffix}`);
    }
    return {
      o,
      ip: typeof o.ip === "string" ? o.ip : undefined,
      mac: typeof o.mac === "string" ? o.mac : undefined,
    };
  };
  const src = side("src");
  const dst = side("dst");
  if (!isEmpty(src.o)) doc.source = src.o;
  if (!isEmpty(dst.o)) doc.destination = dst.o;

  const network: Record<string, unknown> = {};
  const transport = str(r.transport_protocol);
  if (transport !== undefined) network.transport = transport.toLowerCase();
  const protocol = str(r.protocol);
  if (protocol !== undefined) network.protocol = protocol.toLowerCase();
  if (!isEmpty(network)) doc.network = network;

  const props =
    r.properties && typeof r.properties === "object" ? (r.properties as Record<string, unknown>) : {};
  const victims = ipList(strList(props.victims)?.map(victimIp));
  if (victims !== undefined) {
    const host: Record<string, unknown> = { ip: victims };
    const macs: string[] = [];
    if (src.ip && src.mac && victims.includes(src.ip)) macs.push(src.mac);
    if (dst.ip && dst.mac && victims.includes(dst.ip) && !macs.includes(dst.mac)) macs.push(dst.mac);
    if (macs.length > 0) host.mac = macs;
    doc.host = host;
  }
  const relatedIps = union(union(src.ip ? [src.ip] : undefined, dst.ip ? [dst.ip] : undefined), victims);
  if (relatedIps !== undefined) doc.related = { ip: relatedIps };
  if (bool(r.is_incident) === true) doc.tags = ["nozomi_incident"];

  const vendorNs = nozomiVendor(r, omit);
  if (vendorNs !== undefined) doc.nozomi = { alert: vendorNs };
  return doc;
}

/** `10.1.2.3:2404` → `10.1.2.3`; `[fe80::1]:443` → `fe80::1`; a bare address unchanged. */
function victimIp(v: string): string {
  if (v.startsWith("[")) return v.slice(1, v.indexOf("]"));
  const colon = v.indexOf(":");
  return colon > 0 && v.indexOf(":", colon + 1) < 0 ? v.slice(0, colon) : v;
}
