/**
 * `medsoc start --once` on the embedded default ingests the Cynerio and Asimily streams of the
 * simulated hospital end to end (memory queues, file sink). Also the regression test for pages
 * that leave the cursor unchanged (Asimily snapshots and device-ordered lists): every one of them
 * must reach the sink, not be taken for a re-delivery of the previous page. Needs nothing but loopback.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { test } from "node:test";
import { silentLogger } from "../../core/log.ts";
import { CYNERIO_DEFAULT_PASSWORD_EXPOSURE_TITLE } from "../../simulators/cynerio/records.ts";
import { createFleet } from "../../simulators/fleet/fleet.ts";
import { runStart } from "../../worker/run.ts";

test("start --once ingests cynerio/asset and asimily/asset, anomaly and cve completely", async () => {
  const dir = await mkdtemp(join(tmpdir(), "medsoc-hospital-"));
  try {
    const devices = 1200;
    const summary = await runStart({
      once: true,
      devices,
      outDir: dir,
      progress: false,
      log: silentLogger,
      out: new Writable({ write: (_c, _e, cb) => cb() }),
    });
    assert.equal(summary.deadLettered, 0);
    assert.equal(summary.failedPolls, 0);
    const s = summary.perStream;
    assert.deepEqual(s["cynerio/asset"], { polled: devices, mapped: devices });
    assert.deepEqual(s["asimily/asset"], { polled: devices, mapped: devices });
    assert.ok((s["asimily/anomaly"]?.polled ?? 0) > 0);
    assert.equal(s["asimily/anomaly"]?.mapped, s["asimily/anomaly"]?.polled);
    assert.ok((s["asimily/cve"]?.polled ?? 0) > 25, "more than one CVE page");
    assert.equal(s["asimily/cve"]?.mapped, s["asimily/cve"]?.polled);
    assert.equal(s["asimily/anomaly"]?.polled, s["armis/alert"]?.polled, "one anomaly per alert fact");
    const assets = (await readFile(join(dir, "asset.ndjson"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const byVendor = (v: string) => assets.filter((d) => d.observer.vendor === v);
    assert.equal(byVendor("Cynerio").length, devices);
    assert.equal(byVendor("Asimily").length, devices);
    // Cross-monitor: the same MACs through both monitors.
    const macs = (docs: Array<{ host: { mac: string[] } }>) => new Set(docs.map((d) => d.host.mac[0]));
    assert.deepEqual(macs(byVendor("Cynerio")), macs(byVendor("Asimily")));
    // Cynerio's pushed events: every alert, then one default-password detection per device whose
    // password is a factory default or a shared one, each carrying the device's fingerprint.
    const fleet = createFleet({ size: devices });
    const exposed = new Map<string, string>();
    for (let i = 0; i < devices; i++) {
      const f = fleet.facts(i);
      if (f.credential.kind === "default" || f.credential.kind === "shared")
        exposed.set(f.uid, f.credential.fingerprint);
    }
    assert.equal(s["cynerio/event"]?.pushed, fleet.alertCount + exposed.size);
    assert.equal(s["cynerio/event"]?.mapped, fleet.alertCount + exposed.size);
    const detections = (await readFile(join(dir, "event.ndjson"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((d) => d.rule?.name === CYNERIO_DEFAULT_PASSWORD_EXPOSURE_TITLE);
    assert.equal(detections.length, exposed.size);
    for (const d of detections) assert.equal(d.medsoc.credential.fingerprint, exposed.get(d.host.id));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
