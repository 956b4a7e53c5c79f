/**
 * Sample documents of every stream the SIEM packages read, produced by the real code:
 * - the mappers and enrichers (`mapRecord`) over simulator records (the simulated hospital in
 *   simulators/fleet/fleet.ts), then the real device state (MemoryDeviceStateStore.upsert: device key,
 *   fleet-aware class, criticality, credential exposure and, on inventory, the device risk score);
 * - the golden documents of every mapped source/stream (test/golden/<source>/<stream>), routed to the
 *   SIEM stream the sinks write them to ({@link siemStreamOf}), and the advisory findings the
 *   advisories enricher derives from the device documents;
 * - playbook audit documents from a real playbook runtime (memory queue driver, response-system
 *   simulators): an isolation, a release, a failed isolation, a credential rotation and a refused
 *   SIEM trigger, shipped through `auditDocument` (playbooks/engine/audit.ts).
 *
 * {@link withContract} adds mapping-contract fields (COMMON brief: `host.*`, `device.*`,
 * `medsoc.location.*`, `medsoc.credential.*`) the Armis mapper does not fill, from the fleet's
 * ground truth, only where absent and before the device state runs; every enrichment field
 * (`medsoc.device.{class,criticality,credentials,key,os_eol}`, `medsoc.risk.*`) comes from the real
 * enrichment. One network intrusion alert is derived from a mapped alert with the ECS
 * `source.*`/`destination.*` the wire monitors emit.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { advisoryFindings } from "../../mappings/advisories/enrich.ts";
import { mapRecord } from "../../mappings/index.ts";
import { siemStreamOf } from "../../mappings/stream.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import { type AuditEntry, auditDocument } from "../../playbooks/engine/audit.ts";
import { checkpointDocument, signCheckpoint } from "../../playbooks/engine/audit-checkpoints.ts";
import { armisRecords } from "../../simulators/armis/records.ts";
import { createFleet, type DeviceFacts, type Fleet } from "../../simulators/fleet/fleet.ts";
import { MemoryDeviceStateStore } from "../../worker/device-state/memory.ts";
import { AUDIT_TEST_KEY, deviceDoc, startHarness } from "./playbooks.ts";

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

/** Adds the mapping-contract fields of the device the document is about, where still absent. */
export function withContract(doc: EcsDocument, facts: DeviceFacts): Doc {
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
  /** Golden documents of every source/stream, by the SIEM stream they are written to. */
  golden: Record<string, Doc[]>;
}

const GOLDEN = resolve(import.meta.dirname, "..", "golden");

/** Every mapped golden document (no pipeline errors), by SIEM stream. */
export function goldenSamples(): Record<string, Doc[]> {
  const out: Record<string, Doc[]> = {};
  for (const source of readdirSync(GOLDEN))
    for (const stream of readdirSync(join(GOLDEN, source)))
      for (const file of readdirSync(join(GOLDEN, source, stream))) {
        if (!file.endsWith(".expected.json")) continue;
        const json = JSON.parse(readFileSync(join(GOLDEN, source, stream, file), "utf8")) as
          | { expected: Doc[] }
          | Doc[];
        for (const doc of Array.isArray(json) ? json : json.expected) {
          if (doc.event.kind === "pipeline_error") continue;
          const target = siemStreamOf(doc);
          out[target] = [...(out[target] ?? []), doc];
        }
      }
  return out;
}

/** Maps `devices` simulated devices, their alerts and vulnerability findings; runs the engine for audit events. */
export async function siemSamples(devices = 120): Promise<Samples> {
  const fleet = createFleet({ size: devices });
  const device: Doc[] = [];
  for (let i = 0; i < devices; i++)
    device.push(
      withContract(mapRecord("armis", "device", armisRecords(fleet).device(i), opts), fleet.facts(i)),
    );
  const alert: Doc[] = [];
  for (let k = 0; k < Math.min(fleet.alertCount, 40); k++) {
    const facts = fleet.alertFacts(k);
    const doc = withContract(
      mapRecord("armis", "alert", armisRecords(fleet).alert(k), opts),
      fleet.facts(facts.device),
    );
    setIfAbsent(doc, "rule.name", facts.title);
    alert.push(doc);
  }
  const vulnerability: Doc[] = [];
  for (const v of armisRecords(fleet).vulnerabilities().slice(0, 12)) {
    const match = armisRecords(fleet).match(v.cveUid, 0);
    const doc = mapRecord("armis", "vulnerability", { ...v, vulnerability_match: match }, opts);
    vulnerability.push(withContract(doc, fleet.facts(match.deviceId - 1)));
  }
  // Advisory findings the advisories enricher derives from device documents (the simulated Armis
  // fleet only gets review entries from the shipped snapshot; the golden inventory of the other
  // monitors matches advisories).
  const golden = goldenSamples();
  for (const d of [...device, ...(golden.device ?? []), ...(golden.alert ?? [])])
    vulnerability.push(
      ...(advisoryFindings(d, { source: d.medsoc.source, stream: "device", ...opts }) as Doc[]),
    );
  // The device state: key, fleet view of class/criticality/credentials, device risk on inventory.
  const state = new MemoryDeviceStateStore();
  await state.upsert([...device, ...alert, ...vulnerability]);
  await state.close();
  // A network intrusion alert as the wire monitors report it (derived from a mapped alert).
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
  (ids.medsoc as Record<string, unknown>).doc_id = `${base.medsoc.doc_id}-ids`;
  alert.push(ids);
  return { fleet, device, alert, vulnerability, audit: await engineAuditSamples(), golden };
}

/**
 * Audit documents of real playbook runs (memory queue driver, response-system simulators): an
 * isolation and its release, an isolation whose NAC read-back fails (failure, compensations), a
 * shared-credential rotation, and a refused playbook. Cached: one runtime per process.
 */
let auditCache: Promise<Doc[]> | undefined;
export function engineAuditSamples(): Promise<Doc[]> {
  auditCache ??= (async () => {
    const h = await startHarness({ driver: "memory", devices: 600 });
    try {
      const pumps = h.indexes("infusion_pump", (f) => f.credential.kind !== "hard_coded");
      const [a, b] = [h.fleet.facts(pumps[0] as number), h.fleet.facts(pumps[1] as number)];
      const shared = h.fleet.facts(
        h.indexes(
          "infusion_pump",
          (f) => f.credential.kind === "shared" || f.credential.kind === "default",
        )[0] as number,
      );
      h.runtime.directory.observe([a, b, shared].map((f) => deviceDoc(f, { inUse: false })));
      const { engine } = h.runtime;
      const wait = async (r: { runId: string }) => engine.waitForRun(r.runId, undefined, 60_000);
      await wait(await engine.start({ playbookId: "isolate-infusion-pump", device: a.mac }));
      await wait(await engine.start({ playbookId: "release-device", device: a.mac }));
      // NAC and firewall both answer 2xx and apply nothing: no point holds, the containment step fails.
      h.sims.ise.modes.ignoreApply = true;
      h.sims.panos.modes.ignoreRegister = true;
      await wait(await engine.start({ playbookId: "isolate-infusion-pump", device: b.mac }));
      h.sims.ise.modes.ignoreApply = false;
      h.sims.panos.modes.ignoreRegister = false;
      await wait(
        await engine.start({
          playbookId: "rotate-shared-credentials",
          device: shared.mac,
          inputs: { fingerprint: shared.credential.fingerprint },
        }),
      );
      await h.runtime.audit.flush();
      const head = h.runtime.audit.entries.at(-1) as AuditEntry;
      return [
        ...h.runtime.audit.entries.map((e) => auditDocument(e) as Doc),
        // The signed head checkpoint the runtime ships beside the entries.
        checkpointDocument(signCheckpoint(head, AUDIT_TEST_KEY)) as Doc,
      ];
    } finally {
      await h.close();
    }
  })();
  return auditCache;
}
