/**
 * Cynerio record shapes (monitors.md §4). These types describe what arrives, type drift included;
 * the connector never changes a record and `mappings/cynerio/` coerces every field.
 */

/**
 * One asset. Field names are the requestable fields of the Hornbill data-import guide (single
 * source); dotted names (`network.vlan`) are read as nested objects. Value formats are ASSUMED.
 */
export interface CynerioAsset {
  id: string;
  status?: string;
  vertical_display_name?: string;
  /** Risk label, `Low` | `Medium` | `High` | `Critical` (assumed to match the event labels). */
  severity?: string;
  department?: string;
  category?: string;
  display_name?: string;
  model?: string;
  vendor?: string;
  /** Epoch seconds (assumed; the event schema uses epoch seconds). Drifts to a string. */
  last_seen?: number | string;
  first_seen?: number | string;
  serial_number?: string;
  ip?: string | string[];
  mac?: string | string[];
  network?: { vlan?: number | string; ip_allocation?: string };
  access_point?: { name?: string };
  endpoint_protection?: { agent?: string | null };
  os?: string;
  firmware_version?: string;
  hardware_version?: string;
  software_version?: string;
  /** Boolean; drifts to `"true"`/`"Yes"`. */
  phi?: boolean | string;
  type_display_name?: string;
}

/**
 * One pushed event, in Cynerio's event schema: the columns of the Sentinel table
 * `CynerioEvent_CL` without Log Analytics' type suffixes (confirmed column names, monitors.md §4;
 * `data/vendors/cynerio/sentinel_event_schema_reconstructed.json`).
 */
export interface CynerioEvent {
  uid: string;
  /** `Scanner Activity`, `Internet Browsing`, `Suspicious Connection`, `Exploitation Attempt`, `SSH Connection`, … */
  title: string;
  severity: "Low" | "Medium" | "High" | "Critical";
  /** Epoch seconds. */
  timestamp: number;
  /** Free text: `Scanner type: …`, `Expliot: <name>,` [sic], `Suspicious Connection Entity: <fqdn>,`. */
  details?: string;
  /** GUID of the asset (the asset's `id`). */
  asset_id?: string;
  asset_ip?: string;
  asset_type?: string;
  src_ip?: string;
  dst_ip?: string;
  /** Transport (`tcp`, `udp`). */
  trans?: string;
  port?: number;
  /** FQDN (Internet Browsing). */
  host?: string;
  browser?: string;
  /** Application protocol. */
  service?: string;
}

/**
 * The columns of Cynerio's event schema, in schema order (`CynerioEvent_CL` without Log Analytics'
 * suffixes): the keys of {@link CynerioEvent}, for the mapping and the simulated CEF push.
 */
export const CYNERIO_EVENT_COLUMNS: ReadonlyArray<keyof CynerioEvent> = [
  "uid",
  "title",
  "severity",
  "timestamp",
  "details",
  "asset_id",
  "asset_ip",
  "asset_type",
  "src_ip",
  "dst_ip",
  "trans",
  "port",
  "host",
  "browser",
  "service",
];

/** RFC 6749 §5.1 token response. */
export interface CynerioTokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope?: string;
}
