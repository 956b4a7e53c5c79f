/**
 * `medsoc start --once` on the embedded default with a monitor that pushes: the receivers listen on
 * loopback with generated tokens, the monitor's `push(targets)` runs after they listen, and the
 * pushed records go through the same raw queue, mapping and sinks as the polled ones and are
 * counted in the summary. Needs no Redis (memory driver).
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { silentLogger } from "../../core/log.ts";
import { HOSPITAL_MONITORS, type PushTargets } from "../../simulators/hospital.ts";
import { runStart } from "../../worker/run.ts";

const alert = JSON.parse(
  (await readFile(new URL("../golden/armis/alert/mock-api.ndjson", import.meta.url), "utf8")).split(
    "\n",
  )[0] ?? "{}",
) as Record<string, unknown>;

test("start --once ingests what a simulated monitor pushes over HTTP and syslog, and counts it", async () => {
  const original = HOSPITAL_MONITORS.armis;
  assert.ok(original);
  const seen: PushTargets[] = [];
  HOSPITAL_MONITORS.armis = async (fleet) => {
    const monitor = await original(fleet);
    return {
      ...monitor,
      async push(targets) {
        seen.push(targets);
        const records = Array.from({ length: 5 }, (_, i) => ({ ...alert, alertId: 900_000 + i }));
        const res = await fetch(`${targets.httpUrl}/v1/push/armis/alert`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${targets.httpTokens?.armis}`,
            "content-type": "application/json",
          },
          body: JSON.stringify(records),
        });
        assert.equal(res.status, 202);
        const syslog = targets.syslog;
        assert.ok(syslog);
        await new Promise<void>((resolve, reject) => {
          const s = connect(syslog.port, syslog.host, () =>
            s.end(
              "<134>1 2026-03-01T10:00:00Z armis app - - - CEF:0|Armis|Armis Platform|1|42|Default credentials|8|dst=10.3.0.1\n" +
                // No route for this vendor: dead-lettered with its reason.
                "<134>1 2026-03-01T10:00:01Z acme app - - - CEF:0|Acme|Widget|1|7|Unroutable widget event|3|dst=10.3.0.2\n",
            ),
          );
          s.on("error", reject);
          s.on("close", () => resolve());
        });
        return 6;
      },
    };
  };
  const dir = await mkdtemp(join(tmpdir(), "medsoc-recv-run-"));
  try {
    const summary = await runStart({
      once: true,
      devices: 40,
      outDir: dir,
      log: silentLogger,
      progress: false,
    });
    assert.equal(seen.length, 1, "push ran once, after the receivers listened");
    assert.match(seen[0]?.httpUrl ?? "", /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(summary.perStream["armis/alert"]?.pushed, 6, "5 over HTTP + 1 routed over syslog");
    // Other hospital monitors push too (Forescout hosts): the total is the sum over the streams.
    const perStreamPushed = Object.values(summary.perStream).reduce((n, s) => n + (s.pushed ?? 0), 0);
    assert.equal(summary.pushed, perStreamPushed);
    assert.equal(summary.failedPushes, 0);
    const alerts = (await readFile(join(dir, "alert.ndjson"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const pushedIds = alerts.map((d) => d.event?.id).filter((id) => String(id).startsWith("9000"));
    assert.equal(pushedIds.length, 5, "the pushed alerts were mapped and written with the polled ones");
    // The routed syslog CEF record maps through the Armis CEF profile (mappings/syslog) like any alert.
    const cef = alerts.filter((d) => d.armis?.syslog !== undefined);
    assert.equal(cef.length, 1, "the syslog CEF alert was mapped and written");
    const doc = cef[0];
    assert.equal(doc.event.kind, "alert");
    assert.equal(doc.event.code, "42");
    assert.equal(doc.event.severity, 73, "CEF severity 8 → High (73)");
    assert.equal(doc.rule.name, "Default credentials");
    assert.equal(doc.observer.vendor, "Armis");
    assert.deepEqual(doc.host.ip, ["10.3.0.1"], "the device is the dst side");
    assert.equal(doc.medsoc.credential?.observed, "default");
    assert.equal(doc["@timestamp"], "2026-03-01T10:00:00.000Z", "the syslog header time without rt");
    assert.equal(doc.armis.syslog.format, "cef");
    // The unroutable message is dead-lettered with its vendor and product, not dropped.
    const dead = (await readFile(join(dir, "dead-letter.ndjson"), "utf8")).trim().split("\n").filter(Boolean);
    assert.equal(dead.length, summary.deadLettered);
    assert.ok(
      dead.some((l) => l.includes("Unroutable widget event") && l.includes('vendor \\"Acme\\"')),
      "the unroutable syslog record is in the dead-letter file",
    );
    assert.ok(!dead.some((l) => l.includes("Default credentials")), "the routed record is not dead-lettered");
  } finally {
    HOSPITAL_MONITORS.armis = original;
    await rm(dir, { recursive: true, force: true });
  }
});
