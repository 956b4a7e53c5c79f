/**
 * Document ids that identify the document (issue 13, item 3): a full pull of the simulated xDome
 * tenant through the pipeline into the HEC double — twice, on the memory driver and WITHOUT the
 * delivery ledger, so only the ids can keep events apart — must index every event id once per pull.
 * Before advisory findings hashed the record they derive from, one finding reached through two xDome
 * records shared an id and HEC indexed both (747 duplicate events per full pull at 5,000 devices).
 * Needs nothing but loopback.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { advisoryFindings } from "../../mappings/advisories/enrich.ts";
import type { EcsDocument, MappingContext } from "../../mappings/types.ts";
import { createConnector } from "../../monitors/index.ts";
import { startXDomeSimulator } from "../../simulators/claroty_xdome/server.ts";
import { startHecDouble } from "../../simulators/hec.ts";
import { createCursorStore } from "../../worker/cursors/index.ts";
import { Metrics } from "../../worker/metrics.ts";
import { Pipeline } from "../../worker/pipeline.ts";
import { MemoryQueueDriver } from "../../worker/queue/index.ts";
import { createSplunkHecSink } from "../../worker/sinks/splunk-hec.ts";

const TOKEN = "0d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6";

function device(docId: string): EcsDocument {
  return {
    "@timestamp": "2026-11-01T00:00:00.000Z",
    event: { kind: "asset", category: ["host"], type: ["info"] },
    host: { id: "1001", name: "pcu-1", os: { family: "windows", version: "CE 5.0" } },
    device: { id: "1001", manufacturer: "BD", model: { name: "Alaris 8015 PC Unit" } },
    medsoc: { doc_id: docId, source: "claroty_xdome", stream: "device", device: { firmware_version: "9.6" } },
  };
}

describe("derived finding ids", () => {
  it("one finding from two records gets two ids; the same record twice the same id", () => {
    const ctx: MappingContext = {
      source: "claroty_xdome",
      stream: "device",
      ingestedAt: "2026-11-28T00:00:00Z",
    };
    const a = advisoryFindings(device("record-a"), ctx);
    const again = advisoryFindings(device("record-a"), ctx);
    const b = advisoryFindings(device("record-b"), ctx);
    assert.ok(a.length > 0, "the pump matches an advisory");
    assert.deepEqual(
      again.map((f) => f.medsoc.doc_id),
      a.map((f) => f.medsoc.doc_id),
    );
    const idsA = new Set(a.map((f) => f.medsoc.doc_id));
    assert.ok(
      b.every((f) => !idsA.has(f.medsoc.doc_id)),
      "a second record's findings are other documents",
    );
    assert.ok(a.every((f) => f.medsoc.derived_from === "record-a"));
  });

  it("a full xDome pull delivered twice to the HEC double: zero duplicate events within each pull", async () => {
    const sim = await startXDomeSimulator({ devices: 600, seed: 3 });
    const hec = await startHecDouble({ token: TOKEN });
    try {
      const perPull: { events: number; duplicated: number; findings: number }[] = [];
      for (let pull = 0; pull < 2; pull++) {
        const from = hec.stored.length;
        const connector = createConnector("claroty_xdome", { baseUrl: sim.url, apiToken: sim.token }, {});
        const sink = createSplunkHecSink({
          url: hec.url,
          token: TOKEN,
          retry: { baseDelayMs: 1, maxDelayMs: 5 },
        });
        const pipeline = new Pipeline({
          driver: new MemoryQueueDriver(),
          cursors: createCursorStore({ kind: "memory" }),
          sources: [
            { name: "claroty_xdome", type: "claroty_xdome", streams: [...connector.streams], connector },
          ],
          sinks: [sink],
          metrics: new Metrics(),
        });
        pipeline.start();
        await pipeline.pollAll(`now-${pull}`);
        await pipeline.drained();
        await pipeline.close();
        await sink.close();
        await connector.close();
        const byId = new Map<string, number>();
        let findings = 0;
        for (const env of hec.stored.slice(from)) {
          const id = (env.fields as { event_id: string }).event_id;
          byId.set(id, (byId.get(id) ?? 0) + 1);
          if ((env.event as EcsDocument).medsoc.derived_from !== undefined) findings += 1;
        }
        const duplicated = [...byId.values()].reduce((n, c) => n + c - 1, 0);
        perPull.push({ events: hec.stored.length - from, duplicated, findings });
      }
      process.stdout.write(`# finding-ids: ${JSON.stringify(perPull)}\n`);
      for (const p of perPull) {
        assert.ok(p.findings > 0, "advisory findings were delivered");
        assert.equal(p.duplicated, 0, "no event id indexed twice in one pull");
      }
      assert.equal(perPull[0]?.events, perPull[1]?.events, "both pulls deliver the same documents");
    } finally {
      await hec.stop();
      await sim.stop();
    }
  });
});
