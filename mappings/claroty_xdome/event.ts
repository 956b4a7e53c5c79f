import { asRecord, documentId, ECS_VERSION, finishEvent, isEmpty } from "../document.ts";
import type { EcsDocument, MappingContext } from "../types.ts";
import { ipList, num, str, strList, timestamp, union } from "../values.ts";
import { stripIpAnnotations } from "./clinical.ts";
import { xdomeVendor } from "./common.ts";
import { XDOME_OBSERVER_PRODUCT, XDOME_OBSERVER_VENDOR } from "./fields.ts";

/**
 * xDome OT activity event (`POST ot_activity_events/`, fields of Elastic's event stream) → ECS
 * (`event.kind: event`, `event.category: [network]`, plus `authentication` for logins).
 *
 * `@timestamp` = `detection_time`, `event.id` = `event_id`, `event.action` = `event_type` lower-cased
 * with `-` between words (`Configuration Upload` → `configuration-upload`, as Elastic's xDome
 * pipeline writes it), `message` = `description`, `source.*` / `destination.*` from `source_*` /
 * `dest_*` (ip, port), `network.protocol` = `protocol` and `network.transport` = `ip_protocol`
 * (lower case), `source.user.name` and `user.name` = `source_username`; the source device is the
 * host (`host.id` = `source_asset_id`, `host.ip` = `source_ip` and `source_device_name` when that
 * name is an address, `host.name`, `host.type`, `medsoc.location.site`); `related.*` with both
 * sides' addresses, names, asset ids and the user. Document id: `event_id` + `detection_time`.
 */
export function mapXDomeEvent(record: unknown, ctx: MappingContext): EcsDocument {
  const r = asRecord(record, "claroty_xdome event");
  const id = str(r.event_id);
  const time = timestamp(r.detection_time);
  const docId = documentId(ctx, record, id, time, "claroty_xdome event");
  const eventType = str(r.event_type);
  const action = eventType?.toLowerCase().split(/\s+/).join("-");
  const login = eventType !== undefined && /log ?in|logon|authentication/i.test(eventType);
  const event: Record<string, unknown> = {
    kind: "event",
    category: login ? ["network", "authentication"] : ["network"],
    type: login ? ["connection", "start"] : ["connection"],
  };
  if (id !== undefined) event.id = id;
  if (action !== undefined) event.action = action;
  finishEvent(event, ctx, record);
  const doc: EcsDocument = {
    "@timestamp": time ?? ctx.ingestedAt,
    ecs: { version: ECS_VERSION },
    event: event as EcsDocument["event"],
    observer: { vendor: XDOME_OBSERVER_VENDOR, product: XDOME_OBSERVER_PRODUCT },
    medsoc: { doc_id: docId, source: ctx.source, stream: ctx.stream },
  };
  const description = str(r.description);
  if (description !== undefined) doc.message = description;

  const srcIp = ipList(stripIpAnnotations(r.source_ip));
  const dstIp = ipList(stripIpAnnotations(r.dest_ip));
  const endpoint = (ip: string[] | undefined, port: unknown) => {
    const o: Record<string, unknown> = {};
    if (ip !== undefined) o.ip = ip[0];
    const p = num(port);
    if (p !== undefined && Number.isInteger(p) && p >= 0 && p <= 65535) o.port = p;
    return o;
  };
  const source = endpoint(srcIp, r.source_port);
  const destination = endpoint(dstIp, r.dest_port);
  if (!isEmpty(destination)) doc.destination = destination;
  const network: Record<string, unknown> = {};
  const protocol = str(r.protocol);
  if (protocol !== undefined) network.protocol = protocol.toLowerCase();
  const transport = str(r.ip_protocol);
  if (transport !== undefined) network.transport = transport.toLowerCase();
  if (!isEmpty(network)) doc.network = network;
  const user = str(r.source_username);
  if (user !== undefined) {
    doc.user = { name: user };
    source.user = { name: user };
  }
  if (!isEmpty(source)) doc.source = source;

  const host: Record<string, unknown> = {};
  const assetId = str(r.source_asset_id);
  if (assetId !== undefined) host.id = assetId;
  const name = str(r.source_device_name);
  // xDome names many devices by address: such a name is one of the source device's addresses.
  const nameIps = name === undefined ? undefined : ipList(name);
  const hostIps = union(srcIp, nameIps);
  if (hostIps !== undefined) host.ip = hostIps;
  if (name !== undefined) host.name = name;
  const type = str(r.source_device_type);
  if (type !== undefined) host.type = type;
  if (!isEmpty(host)) doc.host = host;
  const site = str(r.source_site_name);
  if (site !== undefined) doc.medsoc.location = { site };

  const related: Record<string, unknown> = {};
  const destName = str(r.dest_device_name);
  const ips = union(union(hostIps, dstIp), destName === undefined ? undefined : ipList(destName));
  if (ips !== undefined) related.ip = ips;
  if (user !== undefined) related.user = [user];
  const hosts = union(
    union(strList(r.source_device_name), strList(r.dest_device_name)),
    union(strList(r.source_asset_id), strList(r.dest_asset_id)),
  );
  if (hosts !== undefined) related.hosts = hosts;
  if (!isEmpty(related)) doc.related = related;

  const copied: string[] = [];
  if (id !== undefined) copied.push("event_id");
  if (description !== undefined) copied.push("description");
  const vendor = xdomeVendor(r, ctx, copied, "");
  if (vendor !== undefined) doc.claroty_xdome = { event: vendor };
  return doc;
}
