/**
 * The Cynerio connector against the loopback Cynerio simulator: OAuth token cache and re-auth,
 * seek paging to the end, the cursor and its tie boundary, one test per failure mode, type drift.
 * Needs nothing but loopback.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  CYNERIO_EVENT_IS_PUSHED,
  type CynerioConfigInput,
  type CynerioConnector,
  createCynerioConnector,
  cynerioConfigSchema,
} from "../../connectors/cynerio/index.ts";
import { createConnector, findConnector } from "../../connectors/index.ts";
import type { Cursor, Page } from "../../connectors/types.ts";
import { AuthError, PermanentError, RateLimitedError, RetryableError } from "../../core/errors.ts";
import { listStreams, mapRecord } from "../../mappings/index.ts";
import { cynerioAsset } from "../../simulators/cynerio/records.ts";
import { type CynerioSimulator, startCynerioSimulator } from "../../simulators/cynerio/server.ts";
import { DEFAULT_START_MS } from "../../simulators/fleet/fleet.ts";

const DEVICES = 2500;
let sim: CynerioSimulator;

before(async () => {
  sim = await startCynerioSimulator({ devices: DEVICES, seed: 11, startMs: DEFAULT_START_MS });
});
after(async () => {
  await sim.stop();
});

function connector(overrides: Partial<CynerioConfigInput> = {}, now?: () => number): CynerioConnector {
  return createCynerioConnector(
    cynerioConfigSchema.parse({
      baseUrl: sim.url,
      tokenUrl: sim.tokenUrl,
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      pageSize: 300,
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
      ...overrides,
    }),
    { now },
  );
}

async function collect(c: CynerioConnector, cursor: Cursor | null = null, pageSize?: number) {
  const pages: Page[] = [];
  for await (const page of c.poll("asset", cursor, { pageSize })) pages.push(page);
  return {
    pages,
    records: pages.flatMap((p) => p.records as Record<string, unknown>[]),
    cursor: pages.at(-1)?.cursor ?? cursor,
  };
}

function fresh(failures: Parameters<CynerioSimulator["setFailures"]>[0] = {}) {
  sim.setFailures(failures);
  sim.resetStats();
}

const second = (i: number) => Math.floor(sim.fleet.lastSeenUs(i) / 1_000_000);

function assertExactly(records: Record<string, unknown>[], indices: number[]) {
  const got = records.map((r) => r.id);
  assert.equal(new Set(got).size, got.length, "no duplicates");
  assert.deepEqual(new Set(got), new Set(indices.map((i) => sim.fleet.facts(i).uid)));
}

describe("cynerio connector: paging and cursors", () => {
  test("pages to the end: every asset exactly once, untouched, one token", async () => {
    fresh();
    const c = connector();
    const { records, cursor } = await collect(c);
    await c.close();
    assertExactly(
      records,
      Array.from({ length: DEVICES }, (_, i) => i),
    );
    assert.deepEqual(records[17], cynerioAsset(sim.fleet.facts(17)), "vendor records are untouched");
    assert.equal(sim.stats.tokensIssued, 1, "the token is cached across pages");
    assert.equal(sim.stats.tokenAuth.basic, 1, "RFC 6749 client authentication by HTTP Basic by default");
    const last = second(DEVICES - 1);
    assert.equal(cursor?.timestamp, new Date(last * 1000).toISOString());
    const atLast = Array.from({ length: DEVICES }, (_, i) => i).filter((i) => second(i) === last);
    assert.deepEqual(new Set(cursor?.idsAtTimestamp), new Set(atLast.map((i) => sim.fleet.facts(i).uid)));
    const first = sim.stats.recent[0]?.query ?? {};
    assert.equal(first.page, "1");
    assert.equal(first.page_size, "300");
    assert.equal(first.sort, "last_seen");
    assert.equal(first.last_seen_from, undefined, "no lower bound on the first poll with no look-back");
    assert.match(first.fields ?? "", /^id,status,vertical_display_name,.*,type_display_name$/);
    // Seek paging: every later request restarts at page 1 from the newest second handed on.
    const later = sim.stats.recent.slice(1);
    assert.ok(later.length >= Math.ceil(DEVICES / 300) - 1);
    for (const r of later) assert.ok(r.query.last_seen_from !== undefined);
  });

  test("a second poll from the final cursor returns nothing", async () => {
    fresh();
    const c = connector();
    const { cursor } = await collect(c);
    sim.resetStats();
    const again = await collect(c, cursor);
    await c.close();
    assert.equal(again.records.length, 0);
    assert.equal(sim.stats.recent[0]?.query.last_seen_from, String(second(DEVICES - 1)));
  });

  test("a cursor in the middle of a second: ties at the boundary are neither lost nor repeated", async () => {
    fresh();
    const j = 1500;
    const s = second(j);
    const atS = Array.from({ length: DEVICES }, (_, i) => i).filter((i) => second(i) === s);
    assert.ok(atS.length >= 4, "several devices share the boundary second");
    const seen = atS.slice(0, Math.floor(atS.length / 2));
    const cursor: Cursor = {
      timestamp: new Date(s * 1000).toISOString(),
      idsAtTimestamp: seen.map((i) => sim.fleet.facts(i).uid),
    };
    const expected = Array.from({ length: DEVICES }, (_, i) => i).filter(
      (i) => second(i) >= s && !seen.includes(i),
    );
    const c = connector();
    const { records } = await collect(c, cursor);
    await c.close();
    assertExactly(records, expected);
  });

  test("pages smaller than one second of ties still end, with every tie once", async () => {
    fresh();
    const s = second(2400);
    const c = connector();
    const { records } = await collect(
      c,
      { timestamp: new Date(s * 1000).toISOString(), idsAtTimestamp: [] },
      4,
    );
    await c.close();
    const expected = Array.from({ length: DEVICES }, (_, i) => i).filter((i) => second(i) >= s);
    assertExactly(records, expected);
    assert.ok(
      sim.stats.recent.some((r) => r.query.page !== "1"),
      "a page entirely inside one second asks for the next page number",
    );
  });
});

test("a server that clamps the page size below the request still pages to the end", async () => {
  const small = await startCynerioSimulator({ fleet: sim.fleet, maxPageSize: 120 });
  const c = createCynerioConnector(
    cynerioConfigSchema.parse({
      baseUrl: small.url,
      tokenUrl: small.tokenUrl,
      clientId: small.clientId,
      clientSecret: small.clientSecret,
      pageSize: 500,
    }),
  );
  const records: Record<string, unknown>[] = [];
  for await (const page of c.poll("asset", null))
    records.push(...(page.records as Record<string, unknown>[]));
  await c.close();
  await small.stop();
  assertExactly(
    records,
    Array.from({ length: DEVICES }, (_, i) => i),
  );
});

describe("cynerio connector: tokens", () => {
  test("refreshes the token proactively before it expires", async () => {
    fresh({ tokenTtlSeconds: 600 });
    let offset = 0;
    const c = connector({ tokenRefreshSkewSeconds: 60 }, () => Date.now() + offset);
    await collect(c, null);
    assert.equal(sim.stats.tokensIssued, 1);
    offset = 541_000; // 59 s before expiry: inside the skew
    await collect(c, null);
    await c.close();
    assert.equal(sim.stats.tokensIssued, 2, "a new token before the old one ran out");
    assert.equal(sim.stats.failures.unauthorized ?? 0, 0, "no request was refused");
  });

  test("a token revoked mid-run (401) is replaced once and the same page retried", async () => {
    fresh({ tokenMaxRequests: 3 });
    const c = connector();
    const { records } = await collect(c);
    await c.close();
    assert.equal(records.length, DEVICES);
    assert.ok((sim.stats.failures.unauthorized ?? 0) >= 2);
    assert.equal(sim.stats.tokensIssued, (sim.stats.failures.unauthorized ?? 0) + 1);
  });

  test("a second 401 right after re-authentication is an AuthError", async () => {
    fresh({ tokenMaxRequests: 0 });
    const c = connector();
    await assert.rejects(
      collect(c),
      (e: unknown) => e instanceof AuthError && /freshly issued/.test(String(e)),
    );
    await c.close();
    assert.equal(sim.stats.tokensIssued, 2);
  });

  test("rejected client credentials are an AuthError that never shows the secret", async () => {
    fresh({ invalidClient: true });
    const c = connector();
    await assert.rejects(c.validate(), (e: unknown) => {
      assert.ok(e instanceof AuthError);
      assert.ok(!String((e as Error).message).includes(sim.clientSecret));
      assert.ok(!JSON.stringify(e).includes(sim.clientSecret));
      return true;
    });
    await c.close();
  });

  test("client_secret in the form body when clientAuth is body", async () => {
    fresh();
    const c = connector({ clientAuth: "body" });
    await c.validate();
    await c.close();
    assert.deepEqual(sim.stats.tokenAuth, { basic: 0, body: 1 });
  });
});

describe("cynerio connector: failure modes", () => {
  test("429 with Retry-After is waited out and nothing is lost", async () => {
    fresh({ rateLimitEvery: 3, retryAfterSeconds: 0.02 });
    const c = connector();
    const { records } = await collect(c);
    await c.close();
    assert.equal(records.length, DEVICES);
    assert.ok((sim.stats.failures.rate_limited ?? 0) > 0);
  });

  test("a Retry-After longer than the inline limit ends the poll with RateLimitedError", async () => {
    fresh({ rateLimitEvery: 1, retryAfterSeconds: 30 });
    const c = connector({ retry: { maxRetryAfterMs: 1000, baseDelayMs: 5, maxDelayMs: 20 } });
    await assert.rejects(
      collect(c),
      (e: unknown) => e instanceof RateLimitedError && e.retryAfterMs === 30_000,
    );
    await c.close();
  });

  test("5xx responses are retried with backoff; persistent ones become RetryableError", async () => {
    fresh({ serverErrorEvery: 2 });
    let c = connector();
    assert.equal((await collect(c)).records.length, DEVICES);
    await c.close();
    fresh({ serverErrorEvery: 1 });
    c = connector({ retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
    await assert.rejects(
      collect(c),
      (e: unknown) => e instanceof RetryableError && /HTTP 503/.test(String(e)),
    );
    await c.close();
    assert.equal(sim.stats.assetRequests, 3);
  });

  test("a 4xx is permanent, carries Cynerio's message and is not retried", async () => {
    fresh({ statusOn: [{ request: 1, status: 400, message: "unknown field fimware_version" }] });
    const c = connector();
    await assert.rejects(
      collect(c),
      (e: unknown) => e instanceof PermanentError && /unknown field fimware_version/.test(String(e)),
    );
    await c.close();
    assert.equal(sim.stats.assetRequests, 1);
  });

  test("a truncated JSON body is retried; a body of the wrong shape fails the poll as retryable", async () => {
    fresh({ malformedJsonOn: [2] });
    let c = connector();
    assert.equal((await collect(c)).records.length, DEVICES);
    await c.close();
    assert.equal(sim.stats.failures.malformed_json, 1);
    fresh({ wrongShapeOn: [1] });
    c = connector();
    await assert.rejects(
      collect(c),
      (e: unknown) => e instanceof RetryableError && /assets is not an array/.test(String(e)),
    );
    await c.close();
  });

  test("type drift (string times, phi as Yes/No, list IPs, string VLANs) keeps paging and mapping right", async () => {
    fresh({ typeDrift: true });
    const c = connector();
    const { records, cursor } = await collect(c);
    await c.close();
    assert.equal(records.length, DEVICES);
    assert.equal(typeof records[1]?.last_seen, "string", "the simulator drifted");
    assert.equal(cursor?.timestamp, new Date(second(DEVICES - 1) * 1000).toISOString());
    for (const [i, r] of records.slice(0, 50).entries()) {
      const doc = mapRecord("cynerio", "asset", r, { ingestedAt: "2025-04-14T10:58:03.000Z" });
      const f = sim.fleet.facts(i);
      assert.equal(doc.event.kind, "asset");
      assert.deepEqual((doc.host as { ip: string[] }).ip, [f.ip]);
      assert.equal((doc.medsoc.clinical as { phi: boolean }).phi, f.phi);
      assert.equal(doc["@timestamp"], new Date(second(i) * 1000).toISOString());
    }
  });
});

describe("cynerio connector: contract", () => {
  test("event is pushed: not a pull stream, poll refuses it clearly, the mapping is registered", async () => {
    const c = connector();
    assert.deepEqual([...c.streams], ["asset"]);
    await assert.rejects(
      collect2(c, "event"),
      (e: unknown) => e instanceof PermanentError && (e as Error).message === CYNERIO_EVENT_IS_PUSHED,
    );
    await c.close();
    assert.ok(listStreams().some((s) => s.source === "cynerio" && s.stream === "event"));
    assert.deepEqual([...(findConnector("cynerio")?.streams ?? [])], ["asset"]);
  });

  test("registered: config problems are reported with their paths, TLS verification on by default", () => {
    const parsed = cynerioConfigSchema.parse({
      baseUrl: "https://a.cyner.io",
      tokenUrl: "https://l.cynerio.com/t",
      clientId: "x",
      clientSecret: "y",
    });
    assert.equal(parsed.tls.verify, true);
    assert.equal(parsed.assets.path, "/api/v1/assets");
    assert.throws(
      () => createConnector("cynerio", { baseUrl: "ftp://x", clientId: "", pageSize: 5000 }),
      (e: unknown) =>
        /baseUrl/.test(String(e)) &&
        /tokenUrl/.test(String(e)) &&
        /clientSecret/.test(String(e)) &&
        /pageSize/.test(String(e)),
    );
  });
});

async function collect2(c: CynerioConnector, stream: string): Promise<void> {
  for await (const _ of c.poll(stream, null)) {
    // drain
  }
}
