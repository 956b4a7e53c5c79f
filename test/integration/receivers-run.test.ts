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
              "<134>1 2026-03-01T10:00:00Z armis app - - - CEF:0|Armis|Armis Platform|1|42|Default credentials|8|dst=10.3.0.1\n",
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
    assert.equal(summary.perStream["armis/alert"]?.pushed, 6, "5 over HTTP + 1 over syslog");
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
    // The syslog CEF record is not an Armis API alert: it is dead-lettered with its reason, not dropped.
    const dead = (await readFile(join(dir, "dead-letter.ndjson"), "utf8")).trim().split("\n").filter(Boolean);
    assert.equal(dead.length, summary.deadLettered);
    assert.ok(
      dead.some((l) => l.includes("Default credentials")),
      "the syslog record is in the dead-letter file",
    );
  } finally {
    HOSPITAL_MONITORS.armis = original;
    await rm(dir, { recursive: true, force: true });
  }
});
