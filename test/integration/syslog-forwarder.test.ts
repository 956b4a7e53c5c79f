/**
 * The simulated hospital's optional syslog forwarder end to end: xDome and Nozomi alerts of the
 * fleet rendered as CEF lines, sent over TCP to the real syslog receiver, routed into a real BullMQ
 * raw queue on Redis (unique prefix, removed afterwards), taken off the queue and mapped by the
 * (source, stream) mapper — which recognises the syslog shape. Needs Redis on 127.0.0.1:6379.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { type AddressInfo, createServer } from "node:net";
import { test } from "node:test";
import { SyslogReceiver } from "../../connectors/syslog/index.ts";
import { sleep } from "../../core/backoff.ts";
import { syslogReceiverSchema } from "../../core/config.ts";
import { mapRecord } from "../../mappings/index.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import { createFleet } from "../../simulators/fleet/fleet.ts";
import { startHospital } from "../../simulators/hospital.ts";
import { ALERT_TYPES, uuidOf } from "../../simulators/nozomi/server.ts";
import { alertSyslogLines, forwardAlertsOverSyslog } from "../../simulators/syslog-forwarder.ts";
import { createCursorStore } from "../../worker/cursors/index.ts";
import { Metrics } from "../../worker/metrics.ts";
import { Pipeline, type RawBatch } from "../../worker/pipeline.ts";
import { createQueueDriver } from "../../worker/queue/index.ts";
import { formatProblems, validateEcs } from "../helpers/ecs.ts";

test("forwarded xDome and Nozomi CEF alerts go through the receiver and BullMQ and map to ECS alerts about the fleet's devices", async () => {
  const fleet = createFleet({ size: 1000 });
  const count = Math.min(25, fleet.alertCount);
  assert.ok(count > 5, "the fleet has alerts");
  const driver = createQueueDriver({
    kind: "bullmq",
    redisUrl: "redis://127.0.0.1:6379",
    prefix: `fwd${randomUUID().replaceAll("-", "")}`,
    attempts: 2,
    backoffMs: 20,
  });
  const metrics = new Metrics();
  const pipeline = new Pipeline({
    driver,
    cursors: createCursorStore({ kind: "memory" }),
    sources: [],
    sinks: [],
    metrics,
    maxPendingBatches: 100,
  });
  const dead: unknown[] = [];
  const receiver = new SyslogReceiver({
    config: syslogReceiverSchema.parse({ tcpPort: 0, flushMs: 20 }),
    ingestor: pipeline,
    deadLetter: async (e) => {
      dead.push(e);
    },
    counter: metrics.received,
  });
  const batches: RawBatch[] = [];
  const worker = pipeline.rawQueue.process(
    async (job) => {
      batches.push(job.data);
    },
    { concurrency: 1 },
  );
  try {
    const at = await receiver.listen();
    const port = at.tcp?.port;
    assert.ok(port);
    const sent = await forwardAlertsOverSyslog(
      fleet,
      { syslog: { host: "127.0.0.1", port } },
      ["claroty_xdome", "nozomi"],
      count,
    );
    assert.equal(sent, 2 * count);
    const deadline = Date.now() + 15_000;
    while (batches.reduce((n, b) => n + b.records.length, 0) < sent) {
      if (Date.now() > deadline) throw new Error("timed out waiting for the raw queue");
      await sleep(20);
    }
    assert.deepEqual(dead, [], "every forwarded line was routed");

    const docs: Record<string, EcsDocument[]> = { claroty_xdome: [], nozomi: [] };
    for (const b of batches) {
      assert.equal(b.stream, "alert");
      for (const r of b.records) {
        const doc = mapRecord(b.type, b.stream, JSON.parse(JSON.stringify(r)), {
          ingestedAt: "2026-01-01T00:00:00.000Z",
        });
        const problems = validateEcs(doc);
        assert.equal(problems.length, 0, formatProblems(problems));
        docs[b.type]?.push(doc);
        // Deterministic: the same record maps to the same id.
        assert.equal(
          mapRecord(b.type, b.stream, r, { ingestedAt: "2027-01-01T00:00:00.000Z" }).medsoc.doc_id,
          doc.medsoc.doc_id,
        );
      }
    }
    assert.equal(docs.claroty_xdome?.length, count);
    assert.equal(docs.nozomi?.length, count);

    const byXdomeId = new Map(docs.claroty_xdome?.map((d) => [d.event.id, d]));
    const byNozomiId = new Map(docs.nozomi?.map((d) => [d.event.id, d]));
    assert.equal(
      new Set([...(docs.claroty_xdome ?? []), ...(docs.nozomi ?? [])].map((d) => d.medsoc.doc_id)).size,
      2 * count,
    );
    for (let k = 0; k < count; k++) {
      const a = fleet.alertFacts(k);
      const f = fleet.facts(a.device);
      const mac = f.mac.toUpperCase().replaceAll(":", "-");
      const x = byXdomeId.get(String(k + 1));
      assert.ok(x, `xDome alert ${k + 1} mapped`);
      assert.equal(x.event.kind, "alert");
      assert.equal(x["@timestamp"], new Date(Math.floor(a.timeUs / 1000)).toISOString());
      assert.deepEqual((x.host as { ip: string[] }).ip, [f.ip]);
      assert.deepEqual((x.host as { mac: string[] }).mac, [mac]);
      assert.equal((x.host as { id: string }).id, f.uid);
      assert.equal((x.medsoc.location as { ward: string }).ward, f.ward);
      const severity = { Low: 21, Medium: 47, High: 73, Critical: 99 }[a.severity];
      assert.equal(x.event.severity, severity);
      if (a.kind === "default_credential_login") {
        const c = x.medsoc.credential as { observed: string; username: string; fingerprint: string };
        assert.equal(c.username, f.credential.username);
        assert.equal(c.fingerprint, f.credential.fingerprint);
        assert.equal(c.observed, f.credential.kind === "unique" ? "weak" : f.credential.kind);
      } else {
        assert.equal(x.medsoc.credential, undefined);
      }
      const n = byNozomiId.get(uuidOf("alert", fleet.seed, k));
      assert.ok(n, `Nozomi alert ${k} mapped`);
      assert.equal(n.event.code, ALERT_TYPES[a.kind].typeId);
      assert.deepEqual((n.host as { ip: string[] }).ip, [f.ip]);
      assert.deepEqual((n.host as { mac: string[] }).mac, [mac]);
      assert.equal(n.rule && (n.rule as { name: string }).name, a.title);
    }
    // The rendering is what was sent.
    assert.equal(alertSyslogLines(fleet, ["nozomi"], count).length, count);
  } finally {
    await receiver.close();
    await worker.close?.();
    await pipeline.close();
    for (const q of pipeline.queues()) await q.obliterate();
    await driver.deadLetters().clear();
    await driver.close();
  }
});

test("the hospital forwards a monitor's alerts over syslog only when asked (syslogForward)", async () => {
  const lines: string[] = [];
  const server = createServer((s) => {
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString("utf8");
    });
    s.on("end", () => lines.push(...buf.split("\n").filter(Boolean)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const plain = await startHospital({ devices: 300, monitors: ["nozomi"] });
  const forwarding = await startHospital({ devices: 300, monitors: ["nozomi"], syslogForward: ["nozomi"] });
  try {
    assert.equal(plain.monitors[0]?.push, undefined, "off by default: Nozomi alerts are polled");
    const push = forwarding.monitors[0]?.push;
    assert.ok(push);
    const sent = await push({ syslog: { host: "127.0.0.1", port } });
    assert.equal(sent, forwarding.fleet.alertCount);
    const deadline = Date.now() + 5000;
    while (lines.length < sent && Date.now() < deadline) await sleep(10);
    assert.equal(lines.length, sent);
    assert.ok(lines.every((l) => l.includes("CEF:0|Nozomi Networks|N2OS|")));
  } finally {
    await plain.stop();
    await forwarding.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
