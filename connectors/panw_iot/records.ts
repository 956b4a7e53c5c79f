/**
 * Palo Alto Networks IoT Security record shapes (XSOAR `PaloAltoNetworks_IoT.py`; monitors.md §8).
 * Confirmed: alert `zb_ticketid`, `date` (`%Y-%m-%dT%H:%M:%S.%fZ`), `name`, `description`,
 * `deviceid`; vulnerability `zb_ticketid`, `vulnerability_name`, `detected_date`, `deviceid`, `ip`,
 * `name`; device `deviceid` (the MAC), `hostname`, `ip_address`, `profile_type`. Every other field
 * below is what the `detail=true` inventory is assumed to carry; mappings coerce everything.
 */

/** A record of `GET /device/list?detail=true` (`devices[]`). */
export interface PanwIotDevice {
  deviceid: string;
  hostname: string | null;
  ip_address: string | null;
  profile_type: string | null;
  profile_vertical?: string | null;
  category?: string | null;
  profile?: string | null;
  vendor?: string | null;
  model?: string | null;
  os_group?: string | null;
  os_firmware_version?: string | null;
  serial_number?: string | null;
  /** A number, a numeric string in some feeds. */
  risk_score?: number | string | null;
  risk_level?: string | null;
  site_name?: string | null;
  vlan?: string | number | null;
  last_activity?: string | null;
  first_seen_date?: string | null;
  [field: string]: unknown;
}

/** A record of `GET /alert/list` (`items[]`). */
export interface PanwIotAlert {
  zb_ticketid: string;
  date: string;
  name: string;
  description?: string;
  deviceid: string;
  [field: string]: unknown;
}

/** A record of `GET /vulnerability/list` (`items[]`). */
export interface PanwIotVulnerability {
  zb_ticketid: string;
  vulnerability_name: string;
  detected_date: string;
  deviceid: string;
  ip: string | null;
  name: string | null;
  [field: string]: unknown;
}

/** List envelope of alerts and vulnerabilities. */
export interface PanwIotItemsResponse<R = unknown> {
  ver: string;
  api: string;
  items: R[];
}

/** List envelope of the inventory. */
export interface PanwIotDevicesResponse<R = unknown> {
  devices: R[];
  total: number;
}
