/**
 * The alert inside a SIEM trigger request: its id, rule, reason and own time, read from what Splunk
 * (built-in webhook, the medsoc app's alert action) and Kibana (Webhook connector with
 * `{{{context.alerts}}}`) send. Pure functions, no I/O or clock; the routes use them for the run's
 * inputs (`alert_id`, `rule`, `reason`), replay detection (the same delivery again) and the alert-age
 * window.
 */
import { createHash } from "node:crypto";
import { canonical } from "../playbooks/engine/audit.ts";

export interface TriggerAlert {
  /** The alert's id (run input `alert_id`): its own id, else the Splunk search job id (sid). */
  id: string;
  /** The SIEM rule or saved search that fired (run input `rule`). */
  rule: string;
  /** Why it fired (run input `reason`). */
  reason: string;
  /** The alert's own time, ms since the epoch, when the payload carries one. */
  timeMs?: number;
  /** Identity of this delivery (id + time, and the row when the id is only the search's). */
  delivery: string;
}

const digest = (v: unknown) => createHash("sha256").update(canonical(v)).digest("hex").slice(0, 32);

/** A string value, the first of a multivalue field (Splunk) or array (ECS). */
function text(v: unknown): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (typeof s === "string" && s.trim()) return s.trim();
  if (typeof s === "number" && Number.isFinite(s)) return String(s);
  return undefined;
}

/** A dotted field, flattened (`"kibana.alert.uuid": …`, how alerts-as-data stores it) or nested. */
function field(o: Record<string, unknown>, path: string): unknown {
  if (path in o) return o[path];
  let cur: unknown = o;
  for (const part of path.split(".")) {
    if (!cur || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Epoch seconds (number or digits) or an ISO 8601 time → ms. */
function time(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v) && v > 0) return v < 1e11 ? v * 1000 : v;
  if (typeof v !== "string" || !v.trim()) return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return time(Number(v));
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

/**
 * The dispatch time Splunk writes into a search job id: `scheduler__<owner>__<app>__RMD5…_at_<epoch>_<n>`
 * (scheduled and real-time scheduled searches) or `<epoch>.<n>` (ad-hoc searches).
 */
export function sidTime(sid: string | undefined): number | undefined {
  if (!sid) return undefined;
  const m = /_at_(\d{9,11})_\d+$/.exec(sid) ?? /^(?:rt_)?(\d{9,11})\.\d+$/.exec(sid);
  return m ? Number(m[1]) * 1000 : undefined;
}

/** One result row of a Splunk request (built-in webhook `result`, or a row of the alert action's `results`). */
export function splunkAlert(body: Record<string, unknown>, row: Record<string, unknown>): TriggerAlert {
  const sid = text(body.sid);
  const search = text(body.search_name);
  const own = text(row.alert_id) ?? text(row.event_id) ?? text(field(row, "event.id"));
  const timeMs = time(body.trigger_time) ?? sidTime(sid);
  return {
    id: own ?? sid ?? digest(row),
    rule: search ?? "splunk alert",
    reason:
      text(row.reason) ??
      text(row.message) ??
      text(row.signature) ??
      text(row.description) ??
      (search ? `Splunk search "${search}" matched` : "Splunk alert"),
    timeMs,
    delivery: own ? `${own}|${timeMs ?? ""}` : `${sid ?? ""}|${timeMs ?? ""}|${digest(row)}`,
  };
}

/** One alert of a Kibana request (`alerts[]`, the rule's `{{{context.alerts}}}`). */
export function kibanaAlert(body: Record<string, unknown>, alert: Record<string, unknown>): TriggerAlert {
  const rule = (body.rule ?? {}) as Record<string, unknown>;
  const own =
    text(field(alert, "kibana.alert.uuid")) ??
    text(alert._id) ??
    text(field(alert, "event.id")) ??
    text(field(alert, "medsoc.doc_id"));
  const name =
    text(field(alert, "kibana.alert.rule.name")) ?? text(rule.name) ?? text(rule.id) ?? "kibana rule";
  const timeMs = time(alert["@timestamp"]) ?? time(body.date);
  return {
    id: own ?? digest(alert),
    rule: name,
    reason:
      text(field(alert, "kibana.alert.reason")) ?? text(alert.message) ?? `Kibana rule "${name}" matched`,
    timeMs,
    delivery: own ? `${own}|${timeMs ?? ""}` : `${digest(alert)}|${timeMs ?? ""}`,
  };
}
