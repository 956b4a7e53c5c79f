/**
 * ECS documents of the simulated hospital built without HTTP: the Armis records the simulator
 * serves, mapped by the real Armis mappings; and a second monitor's documents built directly from
 * `Fleet.facts` in the mapping contract (an xDome-like source whose connector is not in this
 * branch), so merge and posture tests can run in milliseconds.
 */
import { mapRecord } from "../../mappings/index.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import { armisRecords } from "../../simulators/armis/records.ts";
import type { Fleet } from "../../simulators/fleet/fleet.ts";

const INGESTED_AT = "2025-04-14T10:58:03.000Z";

/** Every Armis device, vulnerability match and alert of the fleet, mapped. */
export function armisDocs(fleet: Fleet): {
  devices: EcsDocument[];
  vulnerabilities: EcsDocument[];
  alerts: EcsDocument[];
} {
  const opts = { ingestedAt: INGESTED_AT };
  const devices: EcsDocument[] = [];
  for (let i = 0; i < fleet.size; i++)
    devices.push(mapRecord("armis", "device", armisRecords(fleet).device(i), opts));
  const vulnerabilities: EcsDocument[] = [];
  for (const v of armisRecords(fleet).vulnerabilities()) {
    const n = fleet.matchCount(v.id);
    for (let k = 0; k < n; k++)
      vulnerabilities.push(
        mapRecord(
          "armis",
          "vulnerability",
          { ...v, vulnerability_match: armisRecords(fleet).match(v.id, k) },
          opts,
        ),
      );
  }
  const alerts: EcsDocument[] = [];
  for (let k = 0; k < fleet.alertCount; k++)
    alerts.push(mapRecord("armis", "alert", armisRecords(fleet).alert(k), opts));
  return { devices, vulnerabilities, alerts };
}

const dashed = (mac: string) => mac.replace(/:/g, "-").toUpperCase();

/**
 * The same fleet as a second monitor (source `claroty_xdome`) would describe it, in the mapping
 * contract: its own device ids (the UUID), MAC, serial, IP, name, its own vocabulary
 * ("Infusion Pump" as device_type, "Medical"/"Patient Devices" as category/subcategory), clinical
 * fields, and the credential it observed with its fingerprint (default/shared/hard-coded only,
 * as xDome's "Weak/Default Password" alerts report).
 */
export function secondSourceDoc(fleet: Fleet, i: number): EcsDocument {
  const f = fleet.facts(i);
  const seenAt = new Date(Math.floor(f.lastSeenUs / 1000)).toISOString();
  const xdomeType = f.vendorType
    .replace(/s$/, "")
    .replace(/Machine$/, "")
    .trim();
  const medsoc: EcsDocument["medsoc"] = {
    doc_id: `xdome-${f.uid}`,
    source: "claroty_xdome",
    stream: "device",
    device: {
      vendor_category: f.category === "Medical" ? "Medical" : "IoT",
      vendor_type: xdomeType,
    },
    clinical: {
      phi: f.phi,
      consequence_of_failure: f.consequenceOfFailure,
      ...(f.fdaClass !== null ? { fda_class: f.fdaClass } : {}),
      ...(f.equipmentClass !== null ? { equipment_class: f.equipmentClass } : {}),
      ...(f.batteryLevel !== null ? { battery_level: f.batteryLevel } : {}),
      in_use: f.inUse,
    },
    location: { site: f.site.name, ward: f.ward },
  };
  if (f.credential.kind !== "unique")
    medsoc.credential = {
      observed: f.credential.kind,
      username: f.credential.username,
      fingerprint: f.credential.fingerprint,
    };
  return {
    "@timestamp": seenAt,
    event: { kind: "asset", category: ["host"], type: ["info"] },
    observer: { vendor: "Claroty", product: "xDome" },
    host: {
      id: f.uid,
      name: f.name.toLowerCase(),
      mac: [dashed(f.mac)],
      ip: [f.ip],
      type: xdomeType,
      os: { name: f.operatingSystem, version: f.operatingSystemVersion },
      risk: { static_score: f.risk },
    },
    device: { id: f.uid, manufacturer: f.manufacturer, model: { name: f.model }, serial_number: f.serial },
    medsoc,
  };
}
