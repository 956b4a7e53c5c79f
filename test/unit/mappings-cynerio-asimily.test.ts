/**
 * Cynerio and Asimily mappings: the contract points the golden files show, asserted one by one
 * (record shapes accepted for pushed Cynerio events, credentials, severities, id drift).
 * Needs nothing.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CynerioEvent } from "../../connectors/cynerio/records.ts";
import { getMapper, listStreams, mapLine, mapRecord } from "../../mappings/index.ts";
import { cynerioCef } from "../../simulators/cynerio/push.ts";
import { cynerioEvent } from "../../simulators/cynerio/records.ts";
import { createFleet, DEFAULT_START_MS } from "../../simulators/fleet/fleet.ts";
import { validateEcs } from "../helpers/ecs.ts";

const opts = { ingestedAt: "2025-04-14T10:58:03.000Z" };
const EVENT: CynerioEvent = {
  uid: "c0ffee00-0000-4000-8000-000000000001",
  title: "Default Password Login",
  severity: "High",
  timestamp: 1743206400,
  details: "Default password login: Username: service, Password fingerprint: df-1234abcd, Service: telnet,",
  asset_id: "7d9e2f4a-0000-4000-8000-000000000001",
  asset_ip: "10.20.30.41",
  asset_type: "Infusion Pump",
  src_ip: "10.99.1.5",
  dst_ip: "10.20.30.41",
  trans: "tcp",
  port: 23,
  service: "telnet",
};

/** The CEF line's extension parsed back into key/value strings, as a syslog receiver would. */
function cefExtensions(line: string): Record<string, string> {
  const ext = line.split("|").slice(7).join("|");
  const out: Record<string, string> = {};
  for (const m of ext.matchAll(/(\w+)=((?:\\.|[^\\])*?)(?=\s+\w+=|$)/g))
    out[m[1] as string] = (m[2] as string).replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
  return out;
}

describe("registry", () => {
  it("maps every Cynerio and Asimily stream of the CLI contract", () => {
    const pairs = listStreams().map((s) => `${s.source}/${s.stream}`);
    for (const p of ["cynerio/asset", "cynerio/event", "asimily/asset", "asimily/anomaly", "asimily/cve"])
      assert.ok(pairs.includes(p), p);
    assert.throws(() => getMapper("cynerio", "alert"), /cynerio\/event/);
  });
});

describe("cynerio event", () => {
  it("maps a default-password event to an alert with medsoc.credential and epoch-second time", () => {
    const doc = mapRecord("cynerio", "event", EVENT, opts);
    assert.equal(doc["@timestamp"], "2025-03-29T00:00:00.000Z");
    assert.equal(doc.event.kind, "alert");
    assert.equal(doc.event.severity, 73);
    assert.equal(doc.event.risk_score, 73);
    assert.equal(doc.event.action, "default-password-login");
    assert.deepEqual(doc.rule, { name: "Default Password Login" });
    assert.deepEqual(doc.medsoc.credential, {
      observed: "default",
      username: "service",
      fingerprint: "df-1234abcd",
    });
    assert.deepEqual(doc.host, { id: EVENT.asset_id, ip: ["10.20.30.41"] });
    assert.deepEqual(doc.destination, { ip: "10.20.30.41", port: 23 });
    assert.deepEqual(validateEcs(doc), []);
  });

  it("the same event from HTTP, Log Analytics columns and a syslog CEF record maps to the same document", () => {
    const plain = mapRecord("cynerio", "event", EVENT, opts);
    const suffixed = mapRecord(
      "cynerio",
      "event",
      Object.fromEntries(
        Object.entries(EVENT).map(([k, v]) => [
          `${k}_${typeof v === "number" ? "d" : k === "asset_id" ? "g" : "s"}`,
          v,
        ]),
      ),
      opts,
    );
    const cef = mapRecord(
      "cynerio",
      "event",
      { cef: { name: EVENT.title, severity: 8, extensions: cefExtensions(cynerioCef(EVENT)) } },
      opts,
    );
    for (const doc of [suffixed, cef]) {
      assert.equal(doc.medsoc.doc_id, plain.medsoc.doc_id, "re-delivery over another path never duplicates");
      for (const key of ["@timestamp", "host", "destination", "source", "rule", "network", "user"])
        assert.deepEqual(doc[key], plain[key], key);
      assert.deepEqual(doc.medsoc.credential, plain.medsoc.credential);
    }
  });

  it("reads the details patterns Sentinel's parser extracts", () => {
    const scan = mapRecord(
      "cynerio",
      "event",
      { ...EVENT, title: "Scanner Activity", details: "Scanner type: Nmap Source IP 10.99.1.5" },
      opts,
    );
    assert.equal((scan.cynerio as { event: { scanner_type: string } }).event.scanner_type, "Nmap");
    assert.equal(scan.medsoc.credential, undefined);
    const exploit = mapRecord(
      "cynerio",
      "event",
      { ...EVENT, title: "Exploitation Attempt", details: "Expliot: EternalBlue, x" },
      opts,
    );
    assert.equal((exploit.cynerio as { event: { exploit: string } }).event.exploit, "EternalBlue");
    const conn = mapRecord(
      "cynerio",
      "event",
      {
        ...EVENT,
        title: "Suspicious Connection",
        details: "Suspicious Connection Entity: evil.example, rep",
      },
      opts,
    );
    assert.equal((conn.destination as { domain: string }).domain, "evil.example");
    assert.deepEqual(conn.event.category, ["network"]);
  });

  it("every simulated event maps to a valid ECS alert", () => {
    const fleet = createFleet({ size: 3000, seed: 9, startMs: DEFAULT_START_MS });
    for (let k = 0; k < fleet.alertCount; k++) {
      const doc = mapRecord("cynerio", "event", cynerioEvent(fleet, k), opts);
      assert.equal(doc.event.kind, "alert");
      assert.deepEqual(validateEcs(doc), [], `event ${k}`);
    }
  });

  it("an event without uid and timestamp is a pipeline_error, never dropped", () => {
    const doc = mapLine("cynerio", "event", JSON.stringify({ title: "x" }), opts);
    assert.equal(doc.event.kind, "pipeline_error");
  });
});

describe("asimily", () => {
  it("deviceID and deviceId, numbers and strings, give the same host.id", () => {
    for (const r of [{ deviceID: "12" }, { deviceId: 12 }, { DeviceId: " 12 " }]) {
      const doc = mapRecord("asimily", "asset", { ...r, macAddr: "aa:bb:cc:dd:ee:ff" }, opts);
      assert.equal((doc.host as { id: string }).id, "12");
      assert.deepEqual((doc.host as { mac: string[] }).mac, ["AA-BB-CC-DD-EE-FF"]);
    }
  });

  it("CVE scores drift to strings and use XSOAR's bands", () => {
    const band = (cveScore: unknown) =>
      mapRecord("asimily", "cve", { deviceId: "1", cve: { cveName: "CVE-2019-0708", cveScore } }, opts);
    assert.equal(band("9.8").event.severity, 73);
    assert.equal((band("9.8").vulnerability as { severity: string }).severity, "High");
    assert.equal(band(5).event.severity, 47);
    assert.equal(band(2.1).event.severity, 21);
    assert.equal(
      (band(2.1).vulnerability as { reference: string }).reference,
      "https://nvd.nist.gov/vuln/detail/CVE-2019-0708",
    );
  });

  it("anomalies: criticality to severity, default credentials to medsoc.credential, IP vs domain peers", () => {
    const doc = mapRecord(
      "asimily",
      "anomaly",
      {
        deviceId: "4",
        anomaly: {
          anomaly: "Default Credentials Used",
          alertId: 77,
          criticality: "High",
          lastUpdated: "2025-03-29T00:00:01.250Z",
          domainDeviceOrIpDevice: "10.99.0.1",
          description: "User service logged in with the model's default password.",
        },
      },
      opts,
    );
    assert.equal(doc.event.id, "77");
    assert.equal(doc.event.severity, 73);
    assert.equal(doc["@timestamp"], "2025-03-29T00:00:01.250Z");
    assert.deepEqual(doc.medsoc.credential, { observed: "default", username: "service" });
    assert.deepEqual(doc.destination, { ip: "10.99.0.1" });
    const missing = mapLine("asimily", "anomaly", JSON.stringify({ deviceId: "4" }), opts);
    assert.equal(missing.event.kind, "pipeline_error");
  });
});
