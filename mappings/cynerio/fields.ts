/**
 * Cynerio field table for the `cynerio.<stream>.*` namespace (keys are already snake_case), the
 * observer constants, and the event record normaliser shared by the HTTP and syslog paths.
 */

import { CYNERIO_EVENT_COLUMNS } from "../../connectors/cynerio/records.ts";
import { ownCopy } from "../values.ts";
import { type FieldTable, fieldTable, vendorObject } from "../vendor-fields.ts";

/** `observer.vendor` of every Cynerio document (also the CEF device vendor). */
export const CYNERIO_OBSERVER_VENDOR = "Cynerio";
/** `observer.product` (the vendor/product string of the reference's Splunk example). */
export const CYNERIO_OBSERVER_PRODUCT = "Cynerio Healthcare Cybersecurity";

export const CYNERIO_FIELDS = fieldTable({
  id: "id",
  asset_id: "id",
  uid: "id",
  last_seen: "date",
  first_seen: "date",
  timestamp: "date",
  port: "num",
  phi: "bool",
  ip: "list",
  mac: "list",
  // network.vlan drifts between a number and a string: keep one type (keyword) in the namespace.
  vlan: "id",
});

type Rec = Record<string, unknown>;

/** The record under the vendor namespace, without the keys in `omit` (already copied to ECS). */
export function vendorNamespace(
  r: Readonly<Rec>,
  table: FieldTable,
  omit: ReadonlySet<string>,
): Rec | undefined {
  if (omit.size === 0) return vendorObject(r, table);
  return vendorObject(ownCopy(r, omit), table);
}

export function isRec(v: unknown): v is Rec {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The columns of Cynerio's event schema, as a set. */
const EVENT_COLUMNS: ReadonlySet<string> = new Set(CYNERIO_EVENT_COLUMNS);
const SUFFIXED = /^(.+)_(s|d|g|b|t)$/;

/**
 * The event's columns, whichever way it arrived (see `event.ts` for the accepted shapes): the
 * JSON object itself, a CEF record whose extension carries the columns (`cef.extensions`,
 * `cef.extension`, `extensions` or `extension`; the CEF Name fills a missing `title`), and
 * Log Analytics' suffixed names (`uid_s`, `timestamp_d`, `asset_id_g`). Other keys are kept.
 */
export function cynerioEventColumns(r: Readonly<Rec>): Rec {
  const cef = isRec(r.cef) ? r.cef : undefined;
  const ext = [cef?.extensions, cef?.extension, r.extensions, r.extension].find(isRec);
  const out: Rec = ext ? { ...ext } : { ...r };
  if (ext) {
    const name = cef?.name ?? r.name;
    if (out.title === undefined && typeof name === "string") out.title = name;
  }
  for (const key of Object.keys(out)) {
    const m = SUFFIXED.exec(key);
    if (m && EVENT_COLUMNS.has(m[1] as string) && out[m[1] as string] === undefined) {
      out[m[1] as string] = out[key];
      delete out[key];
    }
  }
  return out;
}
