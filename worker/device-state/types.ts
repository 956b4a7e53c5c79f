/**
 * The current device state (issue 4: one identity per device). Built from the mapped documents of
 * every monitor; read by the playbooks and `medsoc report`. Redis in production, memory in the
 * embedded default. This file is the contract; the stores live next to it.
 */
import type { EcsDocument } from "../../mappings/types.ts";

/** One value of one field as one source last reported it. */
export interface DeviceFact<T = unknown> {
  value: T;
  /** Source instance name (`armis`, `claroty_xdome`, …). */
  source: string;
  /** ISO-8601 UTC time the source saw it (the document's `@timestamp`). */
  seenAt: string;
}

export interface DeviceState {
  /** `medsoc.device.key`: stable across monitors (MAC first, then serial, then IP + hostname within a site). */
  key: string;
  identifiers: {
    macs: string[];
    serials: string[];
    ips: string[];
    hostnames: string[];
    site?: string;
    /** Vendor id per source (`{armis: "17", claroty_xdome: "f342…"}`). */
    vendorIds: Record<string, string>;
  };
  /**
   * Per field (dotted ECS or `medsoc.*` path: `device.model.name`, `medsoc.device.class`, …), the
   * latest value from each source, freshest first. Nothing is overwritten across sources.
   */
  facts: Record<string, DeviceFact[]>;
  /** Fields whose sources currently disagree (two monitors name a different model or class). */
  conflicts: string[];
  updatedAt: string;
}

/** How to find a device: any subset; resolution tries MAC, then serial, then IP + hostname (+ site). */
export interface DeviceLookup {
  mac?: string;
  serial?: string;
  ip?: string;
  hostname?: string;
  site?: string;
}

export interface DeviceStateStore {
  /** Merges mapped documents (device inventory, and the device facts carried by alerts and findings). */
  upsert(docs: readonly EcsDocument[]): Promise<void>;
  get(key: string): Promise<DeviceState | null>;
  resolve(lookup: DeviceLookup): Promise<string | null>;
  list(): AsyncIterable<DeviceState>;
  count(): Promise<number>;
  close(): Promise<void>;
}
