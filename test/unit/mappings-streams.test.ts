/**
 * Streams aligned across both SIEMs (issue 11): every document's `event.dataset` and `data_stream.*`
 * name the stream the sinks write it to, because both come from `siemStreamOf` (mappings/stream.ts).
 * Needs nothing.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SIEM_STREAMS, siemStreamOf } from "../../mappings/stream.ts";
import { mapRecord } from "../../monitors/index.ts";
import { auditDocument } from "../../playbooks/engine/audit.ts";
import { routeDocument } from "../../worker/sinks/elasticsearch.ts";
import { buildHecEnvelope } from "../../worker/sinks/splunk-hec.ts";
import { goldenSamples } from "../helpers/siem-samples.ts";

describe("SIEM streams", () => {
  const golden = goldenSamples();
  const all = Object.values(golden).flat();

  it("every golden document says the dataset it is routed to, in both SIEMs", () => {
    assert.ok(all.length > 100, `golden documents: ${all.length}`);
    for (const doc of all) {
      const where = `${doc.medsoc.source}/${doc.medsoc.stream} ${doc.medsoc.doc_id}`;
      const stream = siemStreamOf(doc);
      const dataset = `medsoc.${stream}`;
      assert.equal(doc.event.dataset, dataset, where);
      assert.equal(doc.event.module, "medsoc", where);
      assert.deepEqual(doc.data_stream, { type: "logs", dataset, namespace: "default" }, where);
      // Routing reads a copy: routeDocument corrects data_stream in place when it disagrees.
      const copy = structuredClone(doc);
      assert.equal(routeDocument(copy, "default"), `logs-${dataset}-default`, where);
      assert.deepEqual(copy, doc, `${where}: nothing to correct`);
      const env = buildHecEnvelope(doc, doc.medsoc.stream, { host: "h" });
      assert.equal(typeof env === "string" ? env : env.sourcetype, `medsoc:${stream}`, where);
    }
  });

  it("vendor inventory streams (asset, host, device) all go to medsoc.device; the vendor stream stays in medsoc.stream", () => {
    const streams = new Set((golden.device ?? []).map((d) => `${d.medsoc.source}/${d.medsoc.stream}`));
    for (const s of ["nozomi/asset", "forescout/host", "cynerio/asset", "asimily/asset", "armis/device"])
      assert.ok(streams.has(s), `${s} in the device stream (got ${[...streams].join(", ")})`);
    for (const d of golden.device ?? []) assert.equal(d.event.dataset, "medsoc.device");
  });

  it("claroty_xdome/event documents go to the event stream (logs-medsoc.event-*, medsoc:event)", () => {
    const events = (golden.event ?? []).filter((d) => d.medsoc.source === "claroty_xdome");
    assert.ok(events.length > 0);
    for (const d of events) {
      assert.equal(d.event.dataset, "medsoc.event");
      assert.equal(routeDocument(structuredClone(d), "default"), "logs-medsoc.event-default");
    }
    assert.deepEqual([...SIEM_STREAMS].sort(), ["alert", "audit", "device", "event", "vulnerability"]);
  });

  it("takes the namespace from the mapping context (the Elasticsearch sink's namespace)", () => {
    const doc = mapRecord(
      "nozomi",
      "asset",
      { id: "a-1", name: "pump-1", ip: ["10.1.2.3"], time: 1_700_000_000_000 },
      { ingestedAt: "2025-04-14T10:58:03.000Z", namespace: "stjude" },
    );
    assert.deepEqual(doc.data_stream, { type: "logs", dataset: "medsoc.device", namespace: "stjude" });
    assert.equal(routeDocument(doc, "stjude"), "logs-medsoc.device-stjude");
  });

  it("audit trail documents go to the audit stream", () => {
    const doc = auditDocument({
      type: "step.executed",
      message: "Isolated pump-1.",
      seq: 1,
      at: "2025-04-14T10:58:03.000Z",
      id: "00000000-0000-4000-8000-000000000000",
      prev: "0",
      hash: "h",
    } as Parameters<typeof auditDocument>[0]);
    assert.equal(siemStreamOf(doc), "audit");
    assert.equal(doc.event.dataset, "medsoc.audit");
    assert.equal(routeDocument(doc, "default"), "logs-medsoc.audit-default");
  });
});
