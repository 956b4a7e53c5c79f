/**
 * The Forescout connector against the loopback eyeSight simulator (login and re-login, the host
 * list and per-host properties, the property-time cursor and its boundary, one test per failure
 * mode), and the push form: the simulator's pushed records reach an HTTP receiver with the bearer
 * token and map to the same documents as the pulled hosts. Needs nothing but loopback.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  createForescoutConnector,
  type ForescoutConfigInput,
  type ForescoutConnector,
  forescoutConfigSchema,
  hostTimeMs,
} from "../../connectors/forescout/index.ts";
import { agentOptions } from "../../connectors/http.ts";
import { createConnector, findConnector } from "../../connectors/index.ts";
import type { Cursor, Page } from "../../connectors/types.ts";
import { AuthError, PermanentError, RateLimitedError, RetryableError } from "../../core/errors.ts";
import { mapRecord } from "../../mappings/index.ts";
import { DEFAULT_START_MS } from "../../simulators/fleet/fleet.ts";
import {
  type ForescoutFailures,
  type ForescoutSimulator,
  pushForescoutHosts,
  startForescoutSimulator,
} from "../../simulators/forescout/server.ts";
import { createCursorStore } from "../../worker/cursors/index.ts";
import { Metrics } from "../../worker/metrics.ts";
import { Pipeline } from "../../worker/pipeline.ts";
import { createQueueDriver } from "../../worker/queue/index.ts";
import { createSinks } from "../../worker/sinks/index.ts";

const DEVICES = 250;
let sim: ForescoutSimulator;

before(async () => {
  sim = await startForescoutSimulator({ devices: DEVICES, seed: 5, startMs: DEFAULT_START_MS });
});
after(async () => {
  await sim.stop();
});

function connector(overrides: Partial<ForescoutConfigInput> = {}): ForescoutConnector {
  return createForescoutConnector(
    forescoutConfigSchema.parse({
      baseUrl: sim.url,
      username: sim.username,
      password: sim.password,
      pageSize: 60,
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
      ...overrides,
    }),
  );
}

async function collect(c: ForescoutConnector, cursor: Cursor | null = null) {
  const pages: Page[] = [];
  for await (const page of c.poll("host", cursor)) pages.push(page);
  return {
    pages,
    records: pages.flatMap((p) => p.records as Record<string, unknown>[]),
    cursor: pages.at(-1)?.cursor ?? cursor,
  };
}

function fresh(failures: ForescoutFailures = {}) {
  sim.setFailures(failures);
  sim.resetStats();
}

function assertEveryHostOnce(records: Record<string, unknown>[], expected = DEVICES) {
  const ids = records.map((r) => String(r.id));
  assert.equal(new Set(ids).size, ids.length, "no duplicates");
  assert.equal(ids.length, expected, "every host exactly once");
}

const ingest = { ingestedAt: "2025-04-14T10:58:03.000Z" };

describe("forescout connector: hosts and cursor", () => {
  test("a poll lists the hosts, reads each one's properties and hands on every host once", async () => {
    fresh();
    const c = connector();
    const { records, pages, cursor } = await collect(c);
    await c.close();
    assertEveryHostOnce(records);
    assert.equal(sim.stats.logins, 1, "the JWT is cached across requests");
    assert.equal(sim.stats.requests["/api/hosts"], 1);
    assert.equal(sim.stats.requests["/api/hosts/{id}"], DEVICES);
    assert.deepEqual(records[4], sim.pulledHost(4), "records are the untouched host objects");
    const detail = sim.stats.recent.find((r) => r.path === "/api/hosts/{id}");
    assert.match(detail?.query.fields ?? "", /^hostname,nbthost,.*segment_path,user/);
    // The list is not in time order: only the last page moves the cursor.
    for (const p of pages.slice(0, -1)) assert.deepEqual(p.cursor, { timestamp: null, idsAtTimestamp: [] });
    const newest = Math.max(...records.map((r) => hostTimeMs(r) as number));
    assert.equal(cursor?.timestamp, new Date(newest).toISOString());
  });

  test("the next poll hands on only hosts whose properties changed", async () => {
    fresh();
    const c = connector();
    const { cursor } = await collect(c);
    assert.equal((await collect(c, cursor)).records.length, 0);
    const later = Math.floor(Date.parse(cursor?.timestamp as string) / 1000) + 60;
    sim.touch(17, later);
    sim.touch(201, later);
    const next = await collect(c, cursor);
    await c.close();
    assert.deepEqual(
      next.records.map((r) => r.ip).sort(),
      [sim.pulledHost(17).ip, sim.pulledHost(201).ip].sort(),
    );
    assert.equal(next.cursor?.timestamp, new Date(later * 1000).toISOString());
    assert.equal(next.cursor?.idsAtTimestamp.length, 2);
  });

  test("a cursor second shared by many hosts: the ones already handed on are dropped, the rest kept", async () => {
    const probe = connector();
    fresh();
    const all = (await collect(probe)).records;
    await probe.close();
    const timeOf = (r: Record<string, unknown>) => hostTimeMs(r) as number;
    // The busiest second below the newest one.
    const counts = new Map<number, Record<string, unknown>[]>();
    for (const r of all) counts.set(timeOf(r), [...(counts.get(timeOf(r)) ?? []), r]);
    const [boundary, atBoundary] = [...counts.entries()]
      .filter(([, v]) => v.length >= 3)
      .sort((a, b) => a[0] - b[0])[0] as [number, Record<string, unknown>[]];
    const seen = atBoundary.slice(0, 2).map((r) => String(r.id));
    const expected = all
      .filter((r) => timeOf(r) > boundary || (timeOf(r) === boundary && !seen.includes(String(r.id))))
      .map((r) => String(r.id))
      .sort();
    fresh();
    const c = connector();
    const { records } = await collect(c, {
      timestamp: new Date(boundary).toISOString(),
      idsAtTimestamp: seen,
    });
    await c.close();
    assert.deepEqual(records.map((r) => String(r.id)).sort(), expected);
    assert.ok(expected.length < all.length && expected.length > 0);
  });

  test("type drift: string ids, string property timestamps and a boolean value are read", async () => {
    fresh({ typeDrift: true });
    const c = connector();
    const { records, cursor } = await collect(c);
    await c.close();
    assertEveryHostOnce(records);
    assert.ok(records.some((r) => typeof r.id === "string"));
    for (const r of records.slice(0, 30)) {
      const doc = mapRecord("forescout", "host", r, ingest);
      assert.equal(doc.event.kind, "asset");
      assert.equal((doc.host as { id: string }).id, String(r.id));
    }
    assert.ok(cursor?.timestamp);
  });

  test("a host deleted between the list and its details is skipped; the others arrive", async () => {
    fresh({ goneHosts: [3, 99] });
    const c = connector();
    const { records } = await collect(c);
    await c.close();
    assertEveryHostOnce(records, DEVICES - 2);
    assert.equal(sim.stats.failures.gone_host, 2);
  });

  test("the registry builds forescout from a raw config section", async () => {
    assert.deepEqual(findConnector("forescout")?.streams, ["host"]);
    fresh();
    const c = createConnector("forescout", {
      baseUrl: sim.url,
      username: sim.username,
      password: sim.password,
    });
    await c.validate();
    await c.close();
    assert.equal(sim.stats.logins, 1);
  });
});

describe("forescout connector in the pipeline (memory driver)", () => {
  test("pages that do not move the cursor are all delivered, and a second poll adds nothing", async () => {
    fresh();
    const dir = await mkdtemp(join(tmpdir(), "medsoc-fs-"));
    const driver = createQueueDriver({ kind: "memory", attempts: 2, backoffMs: 10 });
    const cursors = createCursorStore({ kind: "memory" });
    const c = connector({ pageSize: 40 });
    const sinks = createSinks({ file: { dir } });
    const pipeline = new Pipeline({
      driver,
      cursors,
      metrics: new Metrics(),
      sinks,
      sources: [{ name: "forescout", type: "forescout", streams: ["host"], connector: c }],
    });
    pipeline.start();
    try {
      await pipeline.pollAll("s1");
      await pipeline.drained(30_000);
      const lines = (await readFile(join(dir, "host.ndjson"), "utf8")).trim().split("\n");
      assert.equal(lines.length, DEVICES, "every page of the host list reached the sink");
      assert.equal(new Set(lines.map((l) => JSON.parse(l).host.id)).size, DEVICES);
      await pipeline.pollAll("s2");
      await pipeline.drained(30_000);
      const again = (await readFile(join(dir, "host.ndjson"), "utf8")).trim().split("\n");
      assert.equal(again.length, DEVICES, "unchanged hosts are not sent again");
    } finally {
      await pipeline.close();
      await Promise.all(sinks.map((s) => s.close()));
      await c.close();
      await cursors.close();
      await driver.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("forescout connector: authentication", () => {
  test("a JWT refused mid-run triggers one re-login and the same request is retried", async () => {
    fresh({ tokenMaxRequests: 100 });
    const c = connector({ concurrency: 1 });
    const { records } = await collect(c);
    await c.close();
    assertEveryHostOnce(records);
    assert.equal(sim.stats.failures.unauthorized, 2, "requests 101 and 202 of 251");
    assert.equal(sim.stats.logins, 3);
    const api = sim.stats.recent.filter((r) => r.path !== "/api/login");
    const failed = api.findIndex((r) => r.status === 401);
    assert.equal(api[failed + 1]?.status, 200);
  });

  test("a second 401 right after logging in again is an AuthError", async () => {
    fresh({ tokenMaxRequests: 0 });
    const c = connector();
    await assert.rejects(collect(c), (e: unknown) => {
      assert.ok(e instanceof AuthError, String(e));
      assert.match(
        (e as Error).message,
        /^listing forescout hosts: forescout refused a freshly issued token/,
      );
      return true;
    });
    await c.close();
    assert.equal(sim.stats.logins, 2);
  });

  test("the JWT is replaced before it expires, so no request meets a 401", async () => {
    fresh({ tokenTtlMs: 1200, delayMs: 15 });
    const c = connector({ tokenRefreshSkewSeconds: 1, concurrency: 2 });
    const { records } = await collect(c);
    await c.close();
    assertEveryHostOnce(records);
    assert.equal(sim.stats.failures.unauthorized, undefined);
    assert.ok(sim.stats.logins >= 2, `${sim.stats.logins} logins`);
  });

  test("rejected credentials are an AuthError; the password never appears in it", async () => {
    fresh({ invalidCredentials: true });
    const c = connector();
    await assert.rejects(collect(c), (e: unknown) => {
      assert.ok(e instanceof AuthError);
      assert.ok(!(e as Error).message.includes(sim.password));
      return true;
    });
    await c.close();
    assert.equal(sim.stats.requests["/api/hosts"], undefined);
  });

  test("authorizationScheme bearer sends `Bearer <jwt>`", async () => {
    fresh();
    const c = connector({ authorizationScheme: "bearer" });
    assertEveryHostOnce((await collect(c)).records);
    await c.close();
  });
});

describe("forescout connector: failure modes", () => {
  test("429 honours Retry-After; 500 and malformed JSON are retried; nothing is lost", async () => {
    fresh({ rateLimitEvery: 40, retryAfterSeconds: 0.2, serverErrorEvery: 57, malformedJsonOn: [1, 90] });
    const c = connector({ concurrency: 1 });
    const { records } = await collect(c);
    await c.close();
    assertEveryHostOnce(records);
    assert.ok((sim.stats.failures.rate_limited ?? 0) >= 1);
    assert.ok((sim.stats.failures.server_error ?? 0) >= 1);
    assert.equal(sim.stats.failures.malformed_json, 2);
    const recent = sim.stats.recent;
    // The retry of a rate-limited request (same path and query) comes at least Retry-After later;
    // other requests (the next host-list page) may run in between.
    const limited = recent.findIndex((r) => r.status === 429);
    const first = recent[limited];
    assert.ok(first);
    const retry = recent
      .slice(limited + 1)
      .find((r) => r.path === first.path && JSON.stringify(r.query) === JSON.stringify(first.query));
    assert.ok(retry, "the rate-limited request was retried");
    assert.ok(retry.at - first.at >= 200, "Retry-After waited");
  });

  test("persistent 429 and 500 end in RateLimitedError and RetryableError", async () => {
    fresh({ rateLimitEvery: 1, retryAfterSeconds: 0.02 });
    const c = connector({ retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 } });
    await assert.rejects(collect(c), RateLimitedError);
    fresh({ serverErrorEvery: 1 });
    await assert.rejects(
      collect(c),
      (e: unknown) => e instanceof RetryableError && !(e instanceof RateLimitedError),
    );
    await c.close();
  });

  test("a 400 is a PermanentError with Forescout's message, secrets scrubbed, no retry", async () => {
    fresh({
      statusOn: [{ request: 1, status: 400, message: `Invalid filter for ${sim.username}:${sim.password}` }],
    });
    const c = connector();
    await assert.rejects(collect(c), (e: unknown) => {
      assert.ok(e instanceof PermanentError && !(e instanceof AuthError));
      assert.equal(
        (e as Error).message,
        "listing forescout hosts: HTTP 400: Invalid filter for [redacted]:[redacted]",
      );
      return true;
    });
    await c.close();
    assert.equal(sim.stats.requests["/api/hosts"], 1);
  });

  test("TLS verification is on unless the config turns it off explicitly", () => {
    const on = forescoutConfigSchema.parse({ baseUrl: "https://em.example", username: "u", password: "p" });
    assert.equal((agentOptions(on.tls).connect as { rejectUnauthorized?: boolean }).rejectUnauthorized, true);
    const off = forescoutConfigSchema.parse({
      baseUrl: "https://em.example",
      username: "u",
      password: "p",
      tls: { verify: false },
    });
    assert.equal(
      (agentOptions(off.tls).connect as { rejectUnauthorized?: boolean }).rejectUnauthorized,
      false,
    );
    assert.ok(!JSON.stringify(on).includes('"p"'));
  });
});

describe("forescout push form", () => {
  let receiver: Server;
  let url: string;
  const received: Array<{ auth: string | undefined; type: string | undefined; body: unknown[] }> = [];
  let answer: (n: number) => { status: number; headers?: Record<string, string> } = () => ({ status: 202 });

  before(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (req.url !== "/v1/push/forescout/host" || req.headers.authorization !== "Bearer push-token") {
          res.writeHead(401).end();
          return;
        }
        const a = answer(received.length);
        if (a.status < 300)
          received.push({
            auth: req.headers.authorization,
            type: req.headers["content-type"],
            body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
          });
        res.writeHead(a.status, a.headers).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((r) => receiver.close(r));
  });

  test("every host is pushed in Forescout's shape with the bearer token, and maps like the pulled host", async () => {
    received.length = 0;
    answer = () => ({ status: 202 });
    const sent = await pushForescoutHosts(
      sim.fleet,
      { httpUrl: url, httpTokens: { forescout: "push-token" } },
      { batchSize: 100 },
    );
    assert.equal(sent, DEVICES);
    assert.equal(received.length, 3, "batches of 100");
    const pushed = received.flatMap((r) => r.body as Record<string, unknown>[]);
    assert.equal(pushed.length, DEVICES);
    assert.equal(received[0]?.type, "application/json");
    // The push shape: flat, timestamp without a zone, bare MAC, placeholders for unresolved properties.
    const first = pushed[0] as Record<string, unknown>;
    assert.match(first.timestamp as string, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/);
    assert.match(first.mac as string, /^[0-9a-f]{12}$/);
    assert.equal(first.compliance_state, "N/A");
    assert.equal(first.fields, undefined);
    // A fresh simulator over the same fleet: the tests above touched some hosts of `sim`.
    const pullSim = await startForescoutSimulator({ fleet: sim.fleet });
    const c = createForescoutConnector(
      forescoutConfigSchema.parse({
        baseUrl: pullSim.url,
        username: pullSim.username,
        password: pullSim.password,
      }),
    );
    const pulled = new Map<string, Record<string, unknown>>();
    for await (const page of c.poll("host", null))
      for (const r of page.records as Record<string, unknown>[]) pulled.set(String(r.ip), r);
    await c.close();
    await pullSim.stop();
    assert.equal(pulled.size, DEVICES);
    for (let i = 0; i < DEVICES; i++) {
      const fromPush = mapRecord("forescout", "host", pushed[i], ingest);
      const fromPull = mapRecord("forescout", "host", pulled.get(String(pushed[i]?.ip)), ingest);
      assert.deepEqual(fromPush, fromPull, `host ${i}: pushed and pulled map to the same document`);
    }
  });

  test("a busy receiver (503 + Retry-After) is retried; a refusal (401) is an error", async () => {
    received.length = 0;
    let calls = 0;
    answer = () => (calls++ === 0 ? { status: 503, headers: { "retry-after": "0.05" } } : { status: 202 });
    const sent = await pushForescoutHosts(sim.fleet, {
      httpUrl: url,
      httpTokens: { forescout: "push-token" },
    });
    assert.equal(sent, DEVICES);
    assert.equal(calls, 2);
    await assert.rejects(
      pushForescoutHosts(sim.fleet, { httpUrl: url, httpTokens: { forescout: "wrong" } }),
      /HTTP 401/,
    );
  });
});
