/**
 * Slow and unauthenticated HTTP clients (issue 13 item 7), over raw sockets against the real
 * listeners: the worker API with the real trigger routes, and the HTTP push receiver, both with
 * short timeouts from their config. A client that trickles its headers or its body is cut off by
 * the server (408 and close) instead of holding the connection; a trigger or push request with a
 * wrong token is refused (401/404) before any of its body is sent, and the connection is closed.
 * Needs nothing but loopback: the playbook runtime behind the trigger routes is not reached (every
 * request here is refused or cut off before a route runs), so it is a minimal object that records
 * audit entries.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { createHttpPushReceiver, type HttpPushReceiver } from "../../connectors/http-push/index.ts";
import type { IngestBatch } from "../../connectors/push.ts";
import { SyslogReceiver } from "../../connectors/syslog/index.ts";
import { apiSchema, httpPushReceiverSchema, syslogReceiverSchema } from "../../core/config.ts";
import { silentLogger } from "../../core/log.ts";
import { DEFAULT_SYSLOG_ROUTES } from "../../monitors/index.ts";
import { playbooksConfigSchema } from "../../playbooks/config.ts";
import type { PlaybookRuntime } from "../../playbooks/index.ts";
import { createApi } from "../../worker/api.ts";
import { Metrics } from "../../worker/metrics.ts";
import { registerPlaybookRoutes } from "../../worker/playbook-routes.ts";

const TIMEOUTS = { headersMs: 300, requestMs: 600, idleMs: 1000, keepAliveMs: 200 };
/** How long the test waits for the server to act: far above the configured timeouts (not a timing assertion). */
const TEST_DEADLINE_MS = 20_000;

interface Conn {
  socket: Socket;
  received: () => string;
  closed: Promise<void>;
}

function open(port: number): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    const closed = new Promise<void>((r) => socket.on("close", () => r()));
    socket.on("data", (b) => {
      data += b.toString("latin1");
    });
    socket.on("error", () => {}); // a reset by the server is one way of being cut off
    socket.once("connect", () => resolve({ socket, received: () => data, closed }));
    socket.once("error", reject);
  });
}

/** Writes `text` one byte every `everyMs` until the server closes the connection (or the text ends). */
function trickle(c: Conn, text: string, everyMs = 50): void {
  let i = 0;
  const timer = setInterval(() => {
    if (c.socket.destroyed || i >= text.length) {
      clearInterval(timer);
      return;
    }
    c.socket.write(text[i++] as string);
  }, everyMs);
  c.closed.then(() => clearInterval(timer));
}

async function closedByServer(c: Conn, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"open">((r) => {
    timer = setTimeout(() => r("open"), TEST_DEADLINE_MS);
  });
  const outcome = await Promise.race([c.closed.then(() => "closed" as const), deadline]);
  clearTimeout(timer);
  if (outcome === "open") c.socket.destroy();
  assert.equal(outcome, "closed", `${what}: the server must close the connection`);
}

/** Resolves with what the server sent once it contains a full status line, before anything else is written. */
async function statusLine(c: Conn): Promise<string> {
  const deadline = Date.now() + TEST_DEADLINE_MS;
  while (!/^HTTP\/1\.1 \d{3}/.test(c.received()) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 10));
  return c.received().split("\r\n")[0] ?? "";
}

const TRIGGERS = {
  splunk: [
    {
      name: "pumps",
      playbook: "isolate-infusion-pump",
      pathToken: "splunk-path-token-123456",
      hmacSecret: "splunk-hmac-secret-123456",
    },
  ],
  kibana: [{ name: "kibana-pumps", playbook: "isolate-infusion-pump", bearerToken: "kibana-bearer-123456" }],
};

describe("worker API: slow and unauthenticated clients", () => {
  let app: FastifyInstance;
  let port: number;
  const audit: Array<{ type: string; message: string }> = [];

  before(async () => {
    const runtime = {
      audit: { append: async (e: { type: string; message: string }) => audit.push(e) },
      // An approval desk with no sign-in and no link key: the approval pages answer "not configured".
      approvals: { base: "http://127.0.0.1" },
    };
    const api = apiSchema.parse({ port: 0, timeouts: TIMEOUTS });
    app = createApi({
      metrics: new Metrics(),
      log: silentLogger,
      ready: async () => ({ ok: true, checks: {} }),
      maxBodyBytes: api.maxBodyBytes,
      timeouts: api.timeouts,
      routes: (a) =>
        registerPlaybookRoutes(
          a,
          runtime as unknown as PlaybookRuntime,
          playbooksConfigSchema.parse({ triggers: TRIGGERS }),
        ),
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    port = (app.server.address() as { port: number }).port;
  });
  after(async () => {
    await app.close();
  });

  test("20 slow-header connections are all cut off", async () => {
    const conns = await Promise.all(Array.from({ length: 20 }, () => open(port)));
    for (const c of conns)
      trickle(
        c,
        `POST /v1/triggers/splunk/pumps/wrong HTTP/1.1\r\nHost: x\r\nX-Padding: ${"a".repeat(10_000)}`,
      );
    for (const c of conns) await closedByServer(c, "slow headers");
  });

  test("a connection that sends nothing is cut off", async () => {
    const c = await open(port);
    await closedByServer(c, "silent connection");
  });

  test("20 slow-body connections with a valid path token are all cut off (408)", async () => {
    const conns = await Promise.all(Array.from({ length: 20 }, () => open(port)));
    for (const c of conns) {
      c.socket.write(
        "POST /v1/triggers/splunk/pumps/splunk-path-token-123456 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n",
      );
      trickle(c, `{"result":{"mac":"${"0".repeat(4980)}`);
    }
    for (const c of conns) await closedByServer(c, "slow body");
    assert.match(conns[0]?.received() ?? "", /^HTTP\/1\.1 408/);
  });

  test("a wrong path token is refused (401) before the body is sent, audited, and the connection closed", async () => {
    const before = audit.length;
    const c = await open(port);
    c.socket.write(
      "POST /v1/triggers/splunk/pumps/wrong-token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
    );
    assert.match(await statusLine(c), /^HTTP\/1\.1 401/);
    await closedByServer(c, "refused trigger");
    assert.equal(audit.length, before + 1);
    assert.equal(audit[before]?.type, "trigger.rejected");
  });

  test("an approval decision with a wrong API key is refused (401) before its body, audited, and closed", async () => {
    const before = audit.length;
    const c = await open(port);
    c.socket.write(
      "POST /v1/approvals/a1b2 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
    );
    assert.match(await statusLine(c), /^HTTP\/1\.1 401/);
    await closedByServer(c, "refused approval decision");
    assert.equal(audit[before]?.type, "approval.rejected");
  });

  test("an approval page POST without a session is refused before its body and closed", async () => {
    const c = await open(port);
    c.socket.write(
      "POST /approvals/a1b2 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n",
    );
    assert.match(await statusLine(c), /^HTTP\/1\.1 (401|403|404)/);
    await closedByServer(c, "refused approval page POST");
  });

  test("a wrong Kibana bearer token is refused before the body", async () => {
    const c = await open(port);
    c.socket.write(
      "POST /v1/triggers/kibana/kibana-pumps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
    );
    assert.match(await statusLine(c), /^HTTP\/1\.1 401/);
    await closedByServer(c, "refused kibana trigger");
  });

  test("HMAC route: missing or stale signature headers are refused before the body", async () => {
    for (const headers of [
      "",
      `X-Medsoc-Timestamp: ${Math.floor(Date.now() / 1000) - 3600}\r\nX-Medsoc-Signature: ${"a".repeat(64)}\r\n`,
      `X-Medsoc-Timestamp: ${Math.floor(Date.now() / 1000)}\r\nX-Medsoc-Signature: not-hex\r\n`,
    ]) {
      const c = await open(port);
      c.socket.write(
        `POST /v1/triggers/splunk HTTP/1.1\r\nHost: x\r\n${headers}Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n`,
      );
      assert.match(await statusLine(c), /^HTTP\/1\.1 401/, headers);
      await closedByServer(c, "refused signed trigger");
    }
  });

  test("HMAC route: plausible headers are let through to the body, which is then verified (401 bad signature)", async () => {
    const c = await open(port);
    const body = '{"results":[]}';
    c.socket.write(
      `POST /v1/triggers/splunk HTTP/1.1\r\nHost: x\r\nX-Medsoc-Trigger: pumps\r\nX-Medsoc-Timestamp: ${Math.floor(Date.now() / 1000)}\r\nX-Medsoc-Signature: ${"a".repeat(64)}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
    );
    // Nothing is answered before the body: the server is waiting for it.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(c.received(), "");
    c.socket.write(body);
    assert.match(await statusLine(c), /^HTTP\/1\.1 401/);
    await closedByServer(c, "signed trigger");
    assert.match(audit.at(-1)?.message ?? "", /bad signature/);
  });
});

describe("HTTP push receiver: slow and unauthenticated clients", () => {
  let receiver: HttpPushReceiver;
  let port: number;
  const batches: IngestBatch[] = [];

  before(async () => {
    receiver = createHttpPushReceiver({
      config: httpPushReceiverSchema.parse({
        port: 0,
        tokens: { armis: "push-token-0123456789" },
        timeouts: TIMEOUTS,
      }),
      ingestor: {
        ingest: async (b) => {
          batches.push(b);
          return { jobId: String(batches.length) };
        },
      },
      resolve: (source) => (source === "armis" ? { type: "armis", streams: ["device"] } : undefined),
    });
    const url = await receiver.listen();
    port = Number(new URL(url).port);
  });
  after(async () => {
    await receiver.close();
  });

  test("slow headers and slow bodies are cut off; nothing is ingested", async () => {
    const slowHeaders = await Promise.all(Array.from({ length: 10 }, () => open(port)));
    for (const c of slowHeaders)
      trickle(c, `POST /v1/push/armis/device HTTP/1.1\r\nHost: x\r\nX-Padding: ${"a".repeat(10_000)}`);
    const slowBodies = await Promise.all(Array.from({ length: 10 }, () => open(port)));
    for (const c of slowBodies) {
      c.socket.write(
        "POST /v1/push/armis/device HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer push-token-0123456789\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n",
      );
      trickle(c, `[{"id":"${"1".repeat(4990)}`);
    }
    for (const c of [...slowHeaders, ...slowBodies]) await closedByServer(c, "slow push client");
    assert.match(slowBodies[0]?.received() ?? "", /^HTTP\/1\.1 408/);
    assert.equal(batches.length, 0);
  });

  test("a wrong token is refused (401) before the body is sent, and the connection closed", async () => {
    const c = await open(port);
    c.socket.write(
      "POST /v1/push/armis/device HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n",
    );
    assert.match(await statusLine(c), /^HTTP\/1\.1 401/);
    await closedByServer(c, "refused push");
  });
});

describe("syslog TCP receiver: silent connections", () => {
  test("a connection that sends nothing for idleTimeoutMs is closed", async () => {
    const receiver = new SyslogReceiver({
      builtInRoutes: DEFAULT_SYSLOG_ROUTES,
      config: syslogReceiverSchema.parse({ enabled: true, tcpPort: 0, idleTimeoutMs: 200 }),
      ingestor: { ingest: async () => ({ jobId: "-" }) },
      deadLetter: async () => {},
    });
    const at = await receiver.listen();
    try {
      const conns = await Promise.all(Array.from({ length: 10 }, () => open(at.tcp?.port as number)));
      for (const c of conns) await closedByServer(c, "idle syslog connection");
    } finally {
      await receiver.close();
    }
  });
});
