/**
 * Nozomi field table for the `nozomi.<stream>.*` namespace, and the clean-up the Open API records
 * need before they can be indexed: provenance companions `"<field>:info"` become `<field>_info`,
 * `mac_address_level` (keyed by MAC address) becomes a list of `{mac, confidence}`, and alert
 * `properties` keys that embed data (`incident_key_confidence:NewNode_10.197.23.139`) go to
 * `properties.keyed[]` — dynamic keys would otherwise create one Elasticsearch field per value.
 */
import { num, setOwn, str, strList, timestamp } from "../values.ts";
import { fieldTable, isEmptyObject, vendorObject } from "../vendor-fields.ts";

export const NOZOMI_OBSERVER_VENDOR = "Nozomi Networks";
export const NOZOMI_OBSERVER_PRODUCT = "Guardian";

export const NOZOMI_FIELDS = fieldTable({
  id: "id",
  asset_id: "id",
  level: "num",
  severity: "num",
  risk: "num",
  base_risk: "num",
  cve_score: "num",
  cve_epss_score: "num",
  likelihood: "num",
  port_src: "num",
  port_dst: "num",
  vlan_id: "list",
  time: "date",
  created_time: "date",
  closed_time: "date",
  created_at: "date",
  last_activity_time: "date",
  record_created_at: "date",
  cve_creation_time: "date",
  cve_update_time: "date",
  is_kev: "bool",
  resolved: "bool",
  is_incident: "bool",
  is_security: "bool",
  ack: "bool",
  ip: "list",
  mac_address: "list",
  nodes: "list",
  zones: "list",
  src_roles: "list",
  dst_roles: "list",
});

/** The record as it goes under `nozomi.<stream>.*`, without the keys in `omit`. */
export function nozomiVendor(
  r: Readonly<Record<string, unknown>>,
  omit: ReadonlySet<string>,
): Record<string, unknown> | undefined {
  const clean: Record<string, unknown> = {};
  for (const key of Object.keys(r)) {
    if (omit.has(key)) continue;
    const v = r[key];
    if (key === "mac_address_level" && v && typeof v === "object" && !Array.isArray(v)) {
      // A level is a word or a number ("confirmed", "likely"); anything else is not a level and is
      // not copied (a nested object under a MAC key would carry its fields into the document).
      const list = Object.entries(v as Record<string, unknown>)
        .filter(([, level]) => typeof level === "string" || typeof level === "number")
        .map(([mac, level]) => ({ mac, confidence: level }));
      if (list.length > 0) clean.mac_address_levels = list;
      continue;
    }
    if (key === "properties" && v && typeof v === "object" && !Array.isArray(v)) {
      clean.properties = properties(v as Record<string, unknown>);
      continue;
    }
    setOwn(clean, key.includes(":") ? key.replaceAll(":", "_") : key, v);
  }
  const out = vendorObject(clean, NOZOMI_FIELDS);
  return out === undefined || isEmptyObject(out) ? undefined : out;
}

function properties(p: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keyed: Array<{ key: string; value: string }> = [];
  for (const [key, value] of Object.entries(p)) {
    if (/^[a-z0-9_]+$/i.test(key)) setOwn(out, key, value);
    else keyed.push({ key, value: typeof value === "string" ? value : JSON.stringify(value) });
  }
  if (keyed.length > 0) out.keyed = keyed;
  return out;
}

/** Epoch milliseconds (number or numeric string) or any timestamp `values.timestamp` reads. */
export function nozomiTime(v: unknown): string | undefined {
  const n = num(v);
  if (n !== undefined) return n > 0 ? timestamp(n) : undefined;
  return timestamp(v);
}

/** `Critical`/`High`/`Medium`/`Low` for a 0–10 score (CVSS v3 bands; Nozomi alert risk uses the same scale). */
export function scoreLabel(score: number | undefined): "Critical" | "High" | "Medium" | "Low" | undefined {
  if (score === undefined) return undefined;
  if (score >= 9) return "Critical";
  if (score >= 7) return "High";
  if (score >= 4) return "Medium";
  return score > 0 ? "Low" : undefined;
}

/**
 * `event.severity` of a Nozomi alert from its `severity` (0–10), on the bands Elastic's
 * `nozomi_networks` pipeline uses: 0–3 low (21), 4–6 medium (47), 7–10 high (73). Outside 0–10:
 * undefined.
 */
export function nozomiSeverityScore(severity: number | undefined): number | undefined {
  if (severity === undefined) return undefined;
  const s = Math.trunc(severity);
  if (s < 0 || s > 10) return undefined;
  return s <= 3 ? 21 : s <= 6 ? 47 : 73;
}

/** Nozomi roles (`"consumer, engineering_station"`, or a list) as one role per entry. */
export function roleList(v: unknown): string[] | undefined {
  const parts = strList(v)?.flatMap((s) => s.split(","));
  return strList(parts?.map((s) => s.trim()));
}

/** First non-placeholder string of a scalar or a list. */
export function first(v: unknown): string | undefined {
  if (Array.isArray(v)) {
    for (const x of v) {
      const s = str(x);
      if (s !== undefined) return s;
    }
    return undefined;
  }
  return str(v);
}
