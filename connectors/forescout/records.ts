/**
 * Forescout eyeSight shapes. Pull (Web API, XSOAR `Packs/Forescout`): `GET /api/hosts` lists
 * `{hostId, ip, mac}`; `GET /api/hosts/{id}?fields=…` answers `{"host": {id, ip, mac, fields}}`
 * where each property is `{value, timestamp}` or, for list properties, an array of them
 * (`timestamp` in epoch seconds: assumed, not in the reference samples). Push (eyeExtend Connect,
 * Elastic's `forescout.host` fixture): one flat object per host, `timestamp` without a zone,
 * property values inline, unresolved ones as `"Unknown"`, `"N/A"`, `"Irresolvable"` or `""`.
 * The `host` stream carries either form; `mappings/forescout/host.ts` maps both to the same document.
 */

/** One value of a host property in the Web API. */
export interface ForescoutFieldValue {
  value: unknown;
  /** Epoch seconds; a number or a numeric string. */
  timestamp?: number | string;
}

/** `GET /api/hosts` item. */
export interface ForescoutHostRef {
  hostId: number | string;
  ip?: string | null;
  mac?: string | null;
}

/** `GET /api/hosts/{id}` → `host`: the pulled `host` record. */
export interface ForescoutHostDetail {
  id: number | string;
  ip?: string | null;
  mac?: string | null;
  fields: Record<string, ForescoutFieldValue | ForescoutFieldValue[]>;
}

/** A pushed `host` record (flat). */
export interface ForescoutPushedHost {
  /** Naive ISO-8601 with microseconds, UTC. */
  timestamp: string;
  ip?: string;
  mac?: string;
  [property: string]: unknown;
}
