/**
 * The simulated Cynerio pusher: the HTTP batches and syslog lines it sends are Cynerio events in
 * the documented schema, for every event of the fleet, and they map to ECS alerts. Needs nothing
 * but loopback.
 */
import assert from "node:assert/strict";
import { createServer as createHttpServer, type IncomingMessage } from "node:http";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { describe, test } from "node:test";
import type { CynerioEvent } from "../../connectors/cynerio/records.ts";
import { mapRecord } from "../../mappings/index.ts";
import {
  cefValue,
  cynerioCef,
  cynerioEvents,
  cynerioSyslogLine,
  pushCynerioEvents,
} from "../../simulators/cynerio/push.ts";
import {
  CYNERIO_DEFAULT_PASSWORD_EXPOSURE_TITLE,
  CYNERIO_DEFAULT_PASSWORD_TITLE,
  cynerioDefaultPasswordEvent,
} from "../../simulators/cynerio/records.ts";
import { createFleet, DEFAULT_START_MS } from "../../simulators/fleet/fleet.ts";
import { HOSPITAL_MONITORS } from "../../simulators/hospital.ts";
import { formatProblems, validateEcs } from "../helpers/ecs.ts";

const fleet = createFleet({ size: 4000, seed: 3, startMs: DEFAULT_START_MS });
/** Devices whose password is a factory default or a shared one: one posture detection each. */
const exposed = Array.from({ length: fleet.size }, (_, i) => fleet.facts(i)).filter(
  (f) => f.credential.kind === "default" || f.credential.kind === "shared",
);
const TOTAL = fleet.alertCount + exposed.length;
const COLUMNS = new Set([
  "uid",
  "title",
  "severity",
  "timestamp",
  "details",
  "asset_id",
  "asset_ip",
  "asset_type",
  "src_ip",
  "dst_ip",
  "trans",
  "port",
  "host",
  "browser",
  "service",
]);

async function receiver(answers: number[] = []) {
  const requests: Array<{ url: string; headers: IncomingMessage["headers"]; body: unknown }> = [];
  const server = createHttpServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    requests.push({
      url: req.url ?? "",
      headers: req.headers,
      body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
    });
    const status = answers.shift() ?? 202;
    res.writeHead(status, status === 429 ? { "retry-after": "0.01" } : {});
    res.end(status >= 300 ? JSON.stringify({ error: "busy" }) : "");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((r) => server.close(r)),
  };
}

describe("cynerio pusher: HTTP", () => {
  test("POSTs every event as JSON arrays with the bearer token, in Cynerio's schema", async () => {
    const rx = await receiver();
    const sent = await pushCynerioEvents(
      fleet,
      { httpUrl: rx.url, httpTokens: { cynerio: "tok-123" } },
      { batchSize: 40 },
    );
    await rx.close();
    assert.equal(sent, TOTAL);
    assert.ok(exposed.length > 0.3 * fleet.size, `${exposed.length} exposed devices`);
    assert.equal(rx.requests.length, Math.ceil(TOTAL / 40));
    const all: CynerioEvent[] = [];
    for (const r of rx.requests) {
      assert.equal(r.url, "/v1/push/cynerio/event");
      assert.equal(r.headers.authorization, "Bearer tok-123");
      assert.equal(r.headers["content-type"], "application/json");
      assert.ok(Array.isArray(r.body) && r.body.length <= 40);
      all.push(...(r.body as CynerioEvent[]));
    }
    assert.deepEqual(all, [...cynerioEvents(fleet)]);
    assert.equal(new Set(all.map((e) => e.uid)).size, all.length, "uids are unique");
    for (const [k, e] of all.entries()) {
      for (const key of Object.keys(e)) assert.ok(COLUMNS.has(key), `${key} is a Cynerio column`);
      assert.ok(Number.isInteger(e.timestamp), "epoch seconds");
      assert.ok(["Low", "Medium", "High", "Critical"].includes(e.severity));
      if (k < fleet.alertCount) {
        const a = fleet.alertFacts(k);
        assert.equal(e.timestamp, Math.floor(a.timeUs / 1e6));
        assert.equal(e.asset_id, fleet.facts(a.device).uid, "the same device as the asset API");
      } else {
        // Then one default-password detection per exposed device, in device order, at its lastSeen.
        const f = exposed[k - fleet.alertCount];
        assert.ok(f);
        assert.equal(e.title, CYNERIO_DEFAULT_PASSWORD_EXPOSURE_TITLE);
        assert.equal(e.asset_id, f.uid);
        assert.equal(e.timestamp, Math.floor(f.lastSeenUs / 1e6));
      }
    }
    // from/count page through the same sequence, across the alert/detection boundary.
    const from = fleet.alertCount - 3;
    assert.deepEqual([...cynerioEvents(fleet, from, 7)], all.slice(from, from + 7));
    assert.equal([...cynerioEvents(fleet, TOTAL - 2)].length, 2);
  });

  test("default-credential logins carry the device's username and password fingerprint and map to medsoc.credential", async () => {
    const events = [...cynerioEvents(fleet, 0, fleet.alertCount)];
    const logins = events.filter((_e, k) => fleet.alertFacts(k).kind === "default_credential_login");
    assert.ok(logins.length > 0);
    for (const e of logins) {
      const k = events.indexOf(e);
      const cred = fleet.facts(fleet.alertFacts(k).device).credential;
      assert.equal(e.title, CYNERIO_DEFAULT_PASSWORD_TITLE);
      const doc = mapRecord("cynerio", "event", e, { ingestedAt: "2025-04-14T10:58:03.000Z" });
      assert.deepEqual(doc.medsoc.credential, {
        observed: "default",
        username: cred.username,
        fingerprint: cred.fingerprint,
      });
    }
    for (const e of [...events.slice(0, 300), ...[...cynerioEvents(fleet)].slice(-100)]) {
      const doc = mapRecord("cynerio", "event", e, { ingestedAt: "2025-04-14T10:58:03.000Z" });
      assert.equal(doc.event.kind, "alert");
      assert.deepEqual(validateEcs(doc), [], formatProblems(validateEcs(doc)));
    }
  });

  test("default-password detections: one per default/shared device, an exposure with the device's credential", () => {
    const events = [...cynerioEvents(fleet)].slice(fleet.alertCount);
    assert.equal(events.length, exposed.length);
    assert.equal(new Set(events.map((e) => e.uid)).size, events.length, "uids are unique");
    assert.deepEqual(
      [...cynerioEvents(fleet)].slice(fleet.alertCount).map((e) => e.uid),
      events.map((e) => e.uid),
      "deterministic uids",
    );
    for (const [j, e] of events.entries()) {
      const f = exposed[j];
      assert.ok(f);
      assert.doesNotMatch(e.title, /login/i, "an exposure, not a login");
      assert.equal(e.src_ip, undefined, "nobody logged in");
      const doc = mapRecord("cynerio", "event", e, { ingestedAt: "2025-04-14T10:58:03.000Z" });
      assert.deepEqual(doc.medsoc.credential, {
        observed: "default",
        username: f.credential.username,
        fingerprint: f.credential.fingerprint,
      });
      assert.equal((doc.host as { id?: string } | undefined)?.id, f.uid);
      // What the default-credential-login rule matches on (playbooks/rules/default-credential-login.yaml).
      const rule = (doc.rule as { name?: string } | undefined)?.name;
      assert.match(`${doc.message} ${rule}`.toLowerCase(), /default password/);
    }
    for (let i = 0; i < fleet.size; i++) {
      const f = fleet.facts(i);
      const e = cynerioDefaultPasswordEvent(f, fleet.seed);
      assert.equal(e !== undefined, f.credential.kind === "default" || f.credential.kind === "shared");
    }
  });

  test("429 with Retry-After and 503 are retried; other errors stop the push with the status", async () => {
    let rx = await receiver([429, 503]);
    assert.equal(
      await pushCynerioEvents(fleet, { httpUrl: rx.url, httpTokens: { cynerio: "t" } }, { count: 10 }),
      10,
    );
    assert.equal(rx.requests.length, 3, "the same batch three times");
    await rx.close();
    rx = await receiver([401]);
    await assert.rejects(
      pushCynerioEvents(fleet, { httpUrl: rx.url, httpTokens: { cynerio: "t" } }, { count: 10 }),
      /HTTP 401/,
    );
    await rx.close();
    await assert.rejects(pushCynerioEvents(fleet, {}), /no target/);
  });
});

describe("cynerio pusher: syslog", () => {
  test("one RFC 5424 line per event over TCP, CEF with vendor Cynerio and the columns as extension keys", async () => {
    const received: string[] = [];
    let buffer = "";
    const server = createTcpServer((socket) => {
      socket.setEncoding("utf8");
      socket.on("data", (d: string) => {
        buffer += d;
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const sent = await pushCynerioEvents(fleet, { syslog: { host: "127.0.0.1", port } }, { count: 120 });
    await new Promise((r) => setTimeout(r, 50));
    server.close();
    received.push(...buffer.split("\n").filter(Boolean));
    assert.equal(sent, 120);
    assert.equal(received.length, 120);
    const events = [...cynerioEvents(fleet, 0, 120)];
    for (const [i, line] of received.entries()) {
      const e = events[i] as CynerioEvent;
      assert.equal(line, cynerioSyslogLine(e));
      assert.match(
        line,
        /^<1[3-4]\d>1 \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z cynerio-sim cynerio - - - CEF:0\|Cynerio\|Cynerio Healthcare Cybersecurity\|1\.0\|[a-z_]+\|/,
      );
      assert.ok(line.includes(`uid=${e.uid} `));
      assert.ok(line.includes(`timestamp=${e.timestamp} `));
    }
  });

  test("both targets: each event goes to exactly one transport (HTTP unless syslog is preferred)", async () => {
    const rx = await receiver();
    const n = await pushCynerioEvents(
      fleet,
      { httpUrl: rx.url, httpTokens: { cynerio: "t" }, syslog: { host: "127.0.0.1", port: 9 } },
      { count: 5 },
    );
    await rx.close();
    assert.equal(n, 5);
    assert.equal(rx.requests.length, 1);
  });

  test("CEF escaping: backslash, equals and line breaks in values; pipes in the header", () => {
    assert.equal(cefValue("a=b\\c\nd\re"), "a\\=b\\\\c\\nd\\re");
    const line = cynerioCef({ uid: "u", title: "A|B", severity: "High", timestamp: 1, details: "x=1\ny" });
    assert.ok(line.startsWith("CEF:0|Cynerio|Cynerio Healthcare Cybersecurity|1.0|a_b|A\\|B|8|"));
    assert.ok(line.endsWith("uid=u title=A|B severity=High timestamp=1 details=x\\=1\\ny"));
  });
});

test("the hospital's cynerio monitor pushes the fleet's events and polls assets", async () => {
  const start = HOSPITAL_MONITORS.cynerio;
  assert.ok(start);
  const monitor = await start(fleet);
  const rx = await receiver();
  try {
    assert.equal(monitor.source, "cynerio");
    assert.ok(monitor.push);
    assert.equal(await monitor.push({ httpUrl: rx.url, httpTokens: { cynerio: "x" } }), TOTAL);
    assert.deepEqual(Object.keys(monitor.sourceConfig).sort(), [
      "baseUrl",
      "clientId",
      "clientSecret",
      "tokenUrl",
    ]);
  } finally {
    await rx.close();
    await monitor.stop();
  }
});
