/**
 * The map stage emits the vulnerability findings of devices matched to advisories into the
 * `vulnerability` stream, next to the enriched device documents (memory driver, file sink; no Redis).
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Connector, Cursor, Page } from "../../connectors/types.ts";
import { armisRecords } from "../../simulators/armis/records.ts";
import { createFleet, PERIOD } from "../../simulators/fleet/fleet.ts";
import { createCursorStore } from "../../worker/cursors/index.ts";
import { Metrics } from "../../worker/metrics.ts";
import { Pipeline } from "../../worker/pipeline.ts";
import { createQueueDriver } from "../../worker/queue/index.ts";
import { createSinks } from "../../worker/sinks/index.ts";
import { validateEcs } from "../helpers/ecs.ts";

function oneShot(records: unknown[]): Connector {
  return {
    source: "armis",
    streams: ["device"],
    async *poll(_stream: string, _cursor: Cursor | null): AsyncIterable<Page> {
      yield { records, cursor: { timestamp: "2026-01-01T00:00:00.000Z", idsAtTimestamp: [] } };
    },
    async validate() {},
    async close() {},
  };
}

test("device records matched to an advisory yield findings in the vulnerability stream", async () => {
  const fleet = createFleet({ size: PERIOD, seed: 1 });
  let i = 0;
  while (fleet.profile(i).model !== "Medfusion 4000") i++;
  let j = 0;
  while (fleet.profile(j).model !== "OptiPlex 7070") j++;
  // A Medfusion 4000 whose firmware line the advisory lists exactly (1.6), and a workstation.
  const records = [
    { ...armisRecords(fleet).device(i), operatingSystemVersion: "1.6" },
    armisRecords(fleet).device(j),
  ];
  const dir = await mkdtemp(join(tmpdir(), "medsoc-findings-"));
  const driver = createQueueDriver({ kind: "memory" });
  const pipeline = new Pipeline({
    driver,
    cursors: createCursorStore({ kind: "memory" }),
    metrics: new Metrics(),
    sinks: createSinks({ file: { dir } }),
    sources: [{ name: "armis", type: "armis", streams: ["device"], connector: oneShot(records) }],
  });
  pipeline.start();
  try {
    await pipeline.pollAll("f1");
    await pipeline.drained(30_000);
    const devices = (await readFile(join(dir, "device.ndjson"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(devices.length, 2);
    assert.deepEqual(
      devices[0].medsoc.advisories.map((a: { id: string }) => a.id),
      ["ICSMA-17-250-02A"],
    );
    const findings = (await readFile(join(dir, "vulnerability.ndjson"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(findings.length, 8, "one per CVE of ICSMA-17-250-02A");
    for (const f of findings) {
      assert.deepEqual(validateEcs(f), []);
      assert.equal(f.host.id, devices[0].host.id);
      assert.equal(f.medsoc.advisory.id, "ICSMA-17-250-02A");
      assert.equal(f.vulnerability.score.base, 3.7);
      assert.equal(f.medsoc.derived_from, devices[0].medsoc.doc_id);
    }
  } finally {
    await pipeline.close();
    await driver.close();
    await rm(dir, { recursive: true, force: true });
  }
});
