/**
 * Asimily Insight record shapes (monitors.md §7; mocks in `data/vendors/asimily/`). The public
 * mocks are trimmed: fields marked ASSUMED are what medsoc's simulator adds and the mappings read
 * when present. `deviceID` / `deviceId` drift between endpoints and versions: read ids
 * case-insensitively (`asimilyDeviceId`).
 */

/** A filter condition of the request body. */
export interface AsimilyFilter {
  operator: string;
  value: string | number | boolean;
}

/** `{"filters": {...}}`, the body of every list request. */
export interface AsimilyQuery {
  filters: Record<string, AsimilyFilter[]>;
}

/** Spring Data page envelope. */
export interface AsimilyPage<R = unknown> {
  content: R[];
  totalPages: number;
  totalElements: number;
  last?: boolean;
  first?: boolean;
  number?: number;
  size?: number;
  numberOfElements?: number;
}

/** An item of `POST /api/extapi/assets` (confirmed: `deviceID`, `macAddr`, `hostName`, `v4IpAddrs`). */
export interface AsimilyAsset {
  deviceID?: string | number;
  deviceId?: string | number;
  macAddr?: string;
  hostName?: string;
  v4IpAddrs?: string[] | string;
  /** Filter key in the reference (`X-Ray`); as a record field ASSUMED. */
  deviceFamily?: string;
  /** Filter key in the reference (`critical`); as a record field ASSUMED. */
  deviceTag?: string[] | string;
  /** ASSUMED. */
  manufacturer?: string;
  deviceModel?: string;
  os?: string;
  osVersion?: string;
  serialNumber?: string;
  firmwareVersion?: string;
  department?: string;
  facility?: string;
  lastSeen?: string;
}

/** One anomaly of a device (confirmed: `anomaly`, `alertId`, `domainDeviceOrIpDevice`). */
export interface AsimilyAnomaly {
  anomaly: string;
  alertId: string | number;
  domainDeviceOrIpDevice?: string;
  /** `High` | `Medium` | `Low` (the `anomaliesCriticality` filter; as a field ASSUMED). */
  criticality?: string;
  /** ASSUMED (the `anomaliesLastUpdatedSince` filter implies such a time). */
  lastUpdated?: string;
  description?: string;
}

/** The device fields an anomaly or CVE list item carries with its list. */
export interface AsimilyDeviceFields {
  deviceId?: string | number;
  deviceID?: string | number;
  macAddr?: string;
  ipAddr?: string;
  hostName?: string;
  deviceFamily?: string;
}

/** An item of `POST /api/extapi/assets/anomalies`: a device and its anomalies. */
export interface AsimilyAnomalyEntry extends AsimilyDeviceFields {
  anomalies: AsimilyAnomaly[];
}

/** One CVE of a device (confirmed: `cveName`, `description`). */
export interface AsimilyCve {
  cveName: string;
  description?: string;
  /** The `cveScore` filter key; as a field ASSUMED. Drifts to a string. */
  cveScore?: number | string;
  /** ASSUMED. */
  lastUpdated?: string;
  fixAvailable?: boolean;
}

/** An item of `POST /api/extapi/assets/device-cves`: a device and its CVEs. */
export interface AsimilyCveEntry extends AsimilyDeviceFields {
  cves: AsimilyCve[];
}

/** A record of the `anomaly` stream: the device entry with ONE of its anomalies under `anomaly`. */
export type AsimilyAnomalyRecord = Omit<AsimilyAnomalyEntry, "anomalies"> & { anomaly: AsimilyAnomaly };
/** A record of the `cve` stream: the device entry with ONE of its CVEs under `cve`. */
export type AsimilyCveRecord = Omit<AsimilyCveEntry, "cves"> & { cve: AsimilyCve };

/** The device id of a record, whatever its key's case (`deviceID`, `deviceId`, `DeviceId`). */
export function asimilyDeviceId(record: unknown): string | undefined {
  if (record === null || typeof record !== "object") return undefined;
  for (const [key, value] of Object.entries(record)) {
    if (key.toLowerCase() !== "deviceid") continue;
    if (typeof value === "string" && value.trim() !== "") return value.trim();
    if (typeof value === "number" && Number.isFinite(value)) return String(value);
  }
  return undefined;
}
