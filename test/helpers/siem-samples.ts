/**
 * Sample documents of every stream the SIEM packages read, produced by running our mappers over
 * simulator records (the simulated hospital in simulators/fleet.ts).
 *
 * Where the mappers do not yet fill a field of the mapping/enrichment contract (COMMON brief:
 * `medsoc.device.*`, `medsoc.risk.score`, `medsoc.credential.*`, `medsoc.location.*`, device fields
 * on alerts), {@link withContract} adds it from the fleet's ground truth — only when absent, so the
 * real enrichment takes over as soon as it exists. Two shapes have no mapper on this branch and are
 * built here from the documented contract: a network intrusion alert (ECS `source.*`/`destination.*`,
 * as the Nozomi/Cynerio mappings will emit) and playbook audit events (the audit contract in
 * integrations/splunk/medsoc/README.md).
 */
import { mapRecord } from "../../mappings/index.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import { createFleet, type DeviceFacts, type Fleet } from "../../simulators/fleet.ts";

export const INGESTED_AT = "2025-04-14T10:58:03.000Z";
const opts = { ingestedAt: INGESTED_AT };

type Doc = EcsDocument & Record<string, unknown>;

function setIfAbsent(target: Record<string, unknown>, path: string, value: unknown): void {
  if (value === null || value === undefined) return;
  const keys = path.split(".");
  let node = target;
  for (const k of keys.slice(0, -1)) {
    if (typeof node[k] !== "object" || node[k] === null) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1] as string;
  if (node[last] === undefined) node[last] = value;
}

/** Adds the contract/enrichment fields of the device the document is about, where still absent. */
export function withContract(doc: EcsDocument, facts: DeviceFacts, source = "armis"): Doc {
  const d = doc as Doc;
  const exposed = facts.credential.kind !== "unique";
  setIfAbsent(d, "host.id", String(facts.id));
  setIfAbsent(d, "host.name", facts.name.toLowerCase());
  setIfAbsent(d, "host.ip", [facts.ip]);
  setIfAbsent(d, "host.mac", [facts.mac.replace(/:/g, "-")]);
  setIfAbsent(d, "device.manufacturer", facts.manufacturer);
  setIfAbsent(d, "device.model.name", facts.model);
  setIfAbsent(d, "device.serial_number", facts.serial);
  setIfAbsent(d, "medsoc.device.vendor_category", facts.category);
  setIfAbsent(d, "medsoc.device.vendor_type", facts.vendorType);
  setIfAbsent(d, "medsoc.device.class", facts.deviceClass);
  setIfAbsent(
    d,
    "medsoc.device.criticality",
    facts.consequenceOfFailure === "Life Support"
      ? "life_sustaining"
      : facts.consequenceOfFailure.toLowerCase(),
  );
  setIfAbsent(d, "medsoc.device.os_eol", facts.oldWindows);
  setIfAbsent(d, "medsoc.device.credentials", exposed ? facts.credential.kind : "unique");
  setIfAbsent(d, "medsoc.device.key", `${source}:${facts.id}`);
  setIfAbsent(d, "medsoc.risk.score", facts.risk);
  setIfAbsent(d, "medsoc.location.site", facts.site.name);
  setIfAbsent(d, "medsoc.location.ward", facts.ward);
  if (exposed) {
    setIfAbsent(d, "medsoc.credential.observed", facts.credential.kind);
    setIfAbsent(d, "medsoc.credential.username", facts.credential.username);
    setIfAbsent(d, "medsoc.credential.fingerprint", facts.credential.fingerprint);
  }
  return d;
}

export interface Samples {
  fleet: Fleet;
  device: Doc[];
  alert: Doc[];
  vulnerability: Doc[];
  audit: Doc[];
}

/** Maps `devices` simulated devices, their alerts and vulnerability findings; builds audit events. */
export function siemSamples(devices = 120): Samples {
  const fleet = createFleet({ size: devices });
  const device: Doc[] = [];
  for (let i = 0; i < devices; i++)
    device.push(withContract(mapRecord("armis", "device", fleet.device(i), opts), fleet.facts(i)));
  const alert: Doc[] = [];
  for (let k = 0; k < Math.min(fleet.alertCount, 40); k++) {
    const facts = fleet.alertFacts(k);
    const doc = withContract(mapRecord("armis", "alert", fleet.alert(k), opts), fleet.facts(facts.device));
    setIfAbsent(doc, "rule.name", facts.title);
    alert.push(doc);
  }
  const vulnerability: Doc[] = [];
  for (const v of fleet.vulnerabilities().slice(0, 12)) {
    const match = fleet.match(v.cveUid, 0);
    const doc = mapRecord("armis", "vulnerability", { ...v, vulnerability_match: match }, opts);
    withContract(doc, fleet.facts(match.deviceId - 1));
    setIfAbsent(doc, "medsoc.vulnerability.known_exploited", v.cisaDueDate !== null);
    vulnerability.push(doc as Doc);
  }
  // A network intrusion alert as the wire monitors report it (no mapper on this branch yet).
  const base = alert[0] as Doc;
  const ids = structuredClone(base) as Doc;
  Object.assign(ids.event as Record<string, unknown>, {
    category: ["intrusion_detection", "network"],
    type: ["denied"],
    severity: 99,
  });
  Object.assign(ids, {
    source: { ip: "203.0.113.7", port: 4444 },
    destination: { ip: (base.host as { ip: string[] }).ip[0], port: 445 },
    network: { transport: "tcp" },
    rule: { name: "SMB exploitation attempt (EternalBlue)", id: "ids-1001", category: "exploit" },
  });
  alert.push(ids);
  return { fleet, device, alert, vulnerability, audit: auditSamples(fleet) };
}

/** Playbook audit events in the documented audit shape: a containment, a release, a rotation, a failure, an approval. */
function auditSamples(fleet: Fleet): Doc[] {
  const pump = fleet.facts(1);
  const ev = (
    action: string,
    outcome: string,
    extra: Record<string, unknown> = {},
    category = ["host"],
  ): Doc =>
    ({
      "@timestamp": "2025-04-14T11:00:00.000Z",
      ecs: { version: "9.4.0" },
      event: {
        kind: "event",
        category,
        type: ["change"],
        action,
        outcome,
        dataset: "medsoc.audit",
        ingested: INGESTED_AT,
      },
      host: {
        id: String(pump.id),
        name: pump.name.toLowerCase(),
        ip: [pump.ip],
        mac: [pump.mac.replace(/:/g, "-")],
      },
      user: { name: "clinical.engineer" },
      medsoc: {
        doc_id: `audit-${action}-${outcome}`,
        source: "medsoc",
        stream: "audit",
        device: { class: pump.deviceClass, key: `armis:${pump.id}` },
        playbook: { name: "contain_infusion_pump", run_id: "run-0001", action: action.replace(/-.*$/, "") },
        audit: { target: "cisco_ise" },
      },
      ...extra,
    }) as unknown as Doc;
  return [
    ev("device-isolated", "success"),
    ev("device-released", "success"),
    ev(
      "credential-rotated",
      "success",
      {
        user: {
          name: "medsoc",
          target: { name: pump.credential.username, id: `armis:${pump.id}:${pump.credential.username}` },
        },
      },
      ["iam"],
    ),
    ev("device-isolated", "failure", {
      error: { message: "ISE ANC policy medsoc-restricted does not exist" },
    }),
    ev("approval-granted", "success"),
  ];
}
