/**
 * Nozomi Open API shapes as the appliance returns them (`../shared/reference/data/vendors/nozomi/`,
 * Elastic's `nozomi_networks` node_cve fixture). Type drift included; the connector never changes
 * a record and `mappings/nozomi/` coerces every field (monitors.md §1 rule 3).
 */

/** `GET /api/open/query/do` envelope. `error` is set (with HTTP 200) when the query is refused. */
export interface NozomiQueryResponse<R = unknown> {
  result: R[];
  header?: string[];
  total?: number;
  error?: string | null;
}

/** A record of the `assets` table (fields named `<field>:info` carry provenance). */
export interface NozomiAsset {
  id: string;
  name: string;
  /** Purdue-like level, a string ("2") in the reference sample. */
  level: string | number;
  appliance_hosts: string[];
  capture_device?: string;
  ip: string[];
  mac_address: string[];
  mac_address_level: Record<string, "confirmed" | "likely" | "unconfirmed">;
  vlan_id: Array<string | number>;
  mac_vendor: string[];
  os: string;
  roles: string[];
  vendor: string;
  firmware_version: string;
  os_or_firmware?: string;
  serial_number: string;
  product_name: string;
  /** `-` when unknown. */
  type: string;
  protocols: string[];
  nodes: string[];
  zones: string[];
  custom_fields: Record<string, unknown>;
  /** Epoch ms, a number or a numeric string. */
  created_at?: number | string;
  /** Epoch ms, a number or a numeric string. */
  last_activity_time?: number | string;
  [provenance: `${string}:info`]: { source: string } | undefined;
}

/** A record of the `alerts` table. */
export interface NozomiAlert {
  id: string;
  type_id: string;
  type_name: string;
  name: string;
  description: string;
  severity: number;
  /** Type drift: `"9.0"` in the XSOAR fixtures, a number elsewhere. */
  risk: string | number;
  time: number;
  created_time: number;
  closed_time: number;
  ip_src: string | null;
  ip_dst: string | null;
  mac_src: string | null;
  mac_dst: string | null;
  port_src: number | null;
  port_dst: number | null;
  protocol: string;
  transport_protocol: string;
  zone_src: string | null;
  zone_dst: string | null;
  src_roles: string | null;
  dst_roles: string | null;
  is_incident: boolean;
  is_security: boolean;
  incident_keys: string[];
  parents: string[];
  status: string;
  ack: boolean;
  appliance_host: string;
  appliance_ip: string;
  appliance_site: string | null;
  properties: Record<string, unknown>;
  [key: string]: unknown;
}

/** A record of the `node_cves` table (one CVE on one node). */
export interface NozomiNodeCve {
  id: string;
  cve: string;
  cve_score: number | string;
  time: number;
  record_created_at: number;
  cve_summary: string;
  cwe_id?: string;
  cwe_name?: string;
  is_kev?: boolean;
  likelihood: number;
  probability: string;
  resolved: boolean;
  nodes: string[];
  zones: string[];
  name: string;
  type: string;
  vendor: string;
  product_name: string;
  firmware_version: string;
  os: string;
  asset_id: string;
  [key: string]: unknown;
}
