import { asRecord, documentId, ECS_VERSION, finishEvent, isEmpty } from "../document.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { bool, ipList, isIpAddress, mac, num, SEVERITY_SCORE, str, strList, union } from "../values.ts";
import {
  NOZOMI_OBSERVER_PRODUCT,
  NOZOMI_OBSERVER_VENDOR,
  nozomiSeverityScore,
  nozomiTime,
  nozomiVendor,
  roleList,
  scoreLabel,
} from "./fields.ts";

/**
 * Nozomi alert → ECS (`event.kind: alert`, `event.category: [intrusion_detection]`,
 * `event.type: [info]`).
 *
 * `@timestamp` = `time` (then `created_time`); `event.created` = `created_time`; `event.id` = `id`;
 * `event.action` = `type_id`; `rule.id` = `trigger_id` and `rule.name` = `trigger_type` (the rule
 * that raised it, as Elastic's `nozomi_networks` pipeline sets them; without a trigger, `type_id`
 * and `name`/`type_name`); `message` = `description`; `event.risk_score` = `risk` (a string in some
 * feeds, a number in others: both read); `event.severity` from `severity` on Elastic's bands (0–3
 * → 21, 4–6 → 47, 7–10 → 73; from `risk` on the CVSS bands only when `severity` is missing or out
 * of range); `event.end` = `closed_time` (0 = open); `source.*`/`destination.*` from
 * `ip_src`/`mac_src`/`port_src` and their `_dst` twins, `source.user.roles` /
 * `destination.user.roles` from `src_roles`/`dst_roles` (one role per entry);
 * `network.transport` = `transport_protocol`, `network.protocol` = `protocol`. The sensor that saw
 * it is the observer: `observer.hostname` = `appliance_host`, `observer.ip` = `appliance_ip`.
 * `related.ip` = both addresses, the victims and the appliance; `related.hosts` = `appliance_host`,
 * `label_src`, `label_dst`.
 *
 * The device the alert is about: `properties.victims` (`"ip:port"` entries) names it, as Nozomi's
 * incident model does; `host.ip` = the victims' addresses, `host.mac` = the MAC of the side whose
 * address is a victim. Without victims there is no `host.*` (Elastic puts the appliance in
 * `host.*`; medsoc's `host.*` is always the medical device, docs/elastic-pipeline-agreement.md).
 *
 * Unless `preserveDuplicateVendorFields` is set, `nozomi.alert.*` leaves out `id`, `time`,
 * `created_time`, `description`, `name`, `type_id`, `trigger_id`, `trigger_type`, `src_roles`,
 * `dst_roles`, `appliance_host`, `appliance_ip` and the `*_src`/`*_dst` address, MAC and port
 * fields copied to `source.*`/`destination.*`, each when copied. `risk` and `severity` are always
 * kept (as numbers).
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
  const severity = nozomiSeverityScore(num(r.severity));
  const label = severity === undefined ? scoreLabel(risk) : undefined;
  if (severity !== undefined) event.severity = severity;
  else if (label !== undefined) event.severity = SEVERITY_SCORE[label.toLowerCase()];
  const created = nozomiTime(r.created_time);
  if (created !== undefined) {
    event.created = created;
    copied("created_time");
  }
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
  const triggerId = str(r.trigger_id);
  const triggerType = str(r.trigger_type);
  if (triggerId !== undefined) {
    rule.id = triggerId;
    copied("trigger_id");
  } else if (typeId !== undefined) rule.id = typeId;
  const ruleName = str(r.name) ?? str(r.type_name);
  if (triggerType !== undefined) {
    rule.name = triggerType;
    copied("trigger_type");
  } else if (ruleName !== undefined) {
    rule.name = ruleName;
    if (str(r.name) !== undefined) copied("name");
  }
  if (!isEmpty(rule)) doc.rule = rule;
  const observer = doc.observer as Record<string, unknown>;
  const applianceHost = str(r.appliance_host);
  if (applianceHost !== undefined) {
    observer.hostname = applianceHost;
    copied("appliance_host");
  }
  const applianceIp = str(r.appliance_ip);
  if (applianceIp !== undefined && isIpAddress(applianceIp)) {
    observer.ip = [applianceIp];
    copied("appliance_ip");
  }

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
  const srcRoles = roleList(r.src_roles);
  if (srcRoles !== undefined) {
    src.o.user = { roles: srcRoles };
    copied("src_roles");
  }
  const dstRoles = roleList(r.dst_roles);
  if (dstRoles !== undefined) {
    dst.o.user = { roles: dstRoles };
    copied("dst_roles");
  }
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
  const relatedIps = union(
    union(union(src.ip ? [src.ip] : undefined, dst.ip ? [dst.ip] : undefined), victims),
    observer.ip as string[] | undefined,
  );
  const relatedHosts = union(
    applianceHost !== undefined ? [applianceHost] : undefined,
    union(strList(r.label_dst), strList(r.label_src)),
  );
  const related: Record<string, unknown> = {};
  if (relatedIps !== undefined) related.ip = relatedIps;
  if (relatedHosts !== undefined) related.hosts = relatedHosts;
  if (!isEmpty(related)) doc.related = related;
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
