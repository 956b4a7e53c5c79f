/**
 * The Asimily connector against the loopback Asimily simulator: Basic auth, Spring paging to the
 * end (page caps and clamped sizes), `*LastUpdatedSince` cursors with (device, item) ties at the
 * boundary, one test per failure mode, `deviceID`/`deviceId` drift. Needs nothing but loopback.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  type AsimilyConfigInput,
  type AsimilyConnector,
  asimilyConfigSchema,
  asimilyDeviceId,
  createAsimilyConnector,
} from "../../connectors/asimily/index.ts";
import { createConnector } from "../../connectors/index.ts";
import type { Cursor, Page } from "../../connectors/types.ts";
import { AuthError, PermanentError, RetryableError } from "../../core/errors.ts";
import { mapRecord } from "../../mappings/index.ts";
import { type AsimilySimulator, startAsimilySimulator } from "../../simulators/asimily/server.ts";
import { DEFAULT_START_MS } from "../../simulators/fleet/fleet.ts";

const DEVICES = 3000;
let sim: AsimilySimulator;

before(async () => {
  sim = await startAsimilySimulator({ devices: DEVICES, seed: 5, startMs: DEFAULT_START_MS });
});
after(async () => {
  await sim.stop();
});

function connector(overrides: Partial<AsimilyConfigInput> = {}, now?: () => number): AsimilyConnector {
  return createAsimilyConnector(
    asimilyConfigSchema.parse({
      baseUrl: sim.url,
      username: sim.username,
      password: sim.password,
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
      ...overrides,
    }),
    { now },
  );
}

async function collect(c: AsimilyConnector, stream: string, cursor: Cursor | null = null) {
  const pages: Page[] = [];
  for await (const page of c.poll(stream, cursor)) pages.push(page);
  return {
    pages,
    records: pages.flatMap((p) => p.records as Record<string, unknown>[]),
    cursor: pages.at(-1)?.cursor ?? cursor,
  };
}

function fresh(failures: Parameters<AsimilySimulator["setFailures"]>[0] = {}) {
  sim.setFailures(failures);
  sim.resetStats();
}

/** Every (device, alert) pair the fleet has, keyed like the connector's tie-break ids. */
function allAnomalyKeys(): Map<string, number> {
  const out = new Map<string, number>();
  for (let k = 0; k < sim.fleet.alertCount; k++) {
    const a = sim.fleet.alertFacts(k);
    out.set(`${a.device + 1}|${k + 1}`, Math.floor(a.timeUs / 1000));
  }
  return out;
}
const anomalyKey = (r: Record<string, unknown>) =>
  `${asimilyDeviceId(r)}|${(r.anomaly as { alertId: unknown }).alertId}`;

describe("asimily connector: assets", () => {
  test("a full snapshot: every device once, Basic auth, Spring pages with the cap", async () => {
    fresh();
    const c = connector();
    const { records, cursor, pages } = await collect(c, "asset");
    await c.close();
    const ids = records.map((r) => asimilyDeviceId(r));
    assert.equal(ids.length, DEVICES);
    assert.equal(new Set(ids).size, DEVICES);
    assert.equal(pages.length, Math.ceil(DEVICES / 400));
    const req = sim.stats.recent[0];
    assert.equal(req?.path, "/api/extapi/assets");
    assert.deepEqual(req?.query, { size: "400", page: "0", sort: "deviceID" });
    assert.deepEqual(req?.body, { filters: {} });
    assert.ok(cursor?.timestamp, "the snapshot time is the cursor");
    for (const p of pages.slice(0, -1))
      assert.equal(p.cursor.timestamp, null, "only the last page moves the cursor");
  });

  test("a poll within the snapshot interval returns nothing; after it, the snapshot again", async () => {
    fresh();
    let offset = 0;
    const c = connector({ assetSnapshotIntervalSeconds: 3600 }, () => Date.now() + offset);
    const first = await collect(c, "asset");
    sim.resetStats();
    const again = await collect(c, "asset", first.cursor);
    assert.equal(again.records.length, 0);
    assert.equal(sim.stats.recent.length, 0, "no request at all");
    offset = 3_601_000;
    const later = await collect(c, "asset", first.cursor);
    await c.close();
    assert.equal(later.records.length, DEVICES);
  });

  test("a server that clamps the page size below the request still pages to the end", async () => {
    const small = await startAsimilySimulator({ fleet: sim.fleet, pageCaps: { asset: 150 } });
    const c = createAsimilyConnector(
      asimilyConfigSchema.parse({ baseUrl: small.url, username: small.username, password: small.password }),
    );
    const { records, pages } = await collect(c, "asset");
    await c.close();
    await small.stop();
    assert.equal(records.length, DEVICES);
    assert.equal(pages.length, Math.ceil(DEVICES / 150));
  });
});

describe("asimily connector: anomalies and CVEs", () => {
  test("anomalies: one record per (device, anomaly), all of them, then nothing new", async () => {
    fresh();
    const c = connector();
    const { records, cursor } = await collect(c, "anomaly");
    const expected = allAnomalyKeys();
    const keys = records.map(anomalyKey);
    assert.equal(keys.length, expected.size);
    assert.deepEqual(new Set(keys), new Set(expected.keys()));
    const newest = Math.max(...expected.values());
    assert.equal(cursor?.timestamp, new Date(newest).toISOString());
    assert.deepEqual(
      new Set(cursor?.idsAtTimestamp),
      new Set([...expected].filter(([, t]) => t === newest).map(([k]) => k)),
    );
    assert.deepEqual(sim.stats.recent[0]?.query, { size: "100", page: "0", sort: "deviceRangeId" });
    sim.resetStats();
    const again = await collect(c, "anomaly", cursor);
    await c.close();
    assert.equal(again.records.length, 0);
    assert.deepEqual(sim.stats.recent[0]?.body, {
      filters: { anomaliesLastUpdatedSince: [{ operator: ":", value: cursor?.timestamp }] },
    });
  });

  test("anomalies: a cursor with ties at its timestamp loses nothing and repeats nothing", async () => {
    fresh();
    const expected = allAnomalyKeys();
    const times = [...new Set(expected.values())].sort((a, b) => a - b);
    const t = times.find((x) => [...expected.values()].filter((y) => y === x).length >= 2) as number;
    assert.ok(t !== undefined, "the fleet has alerts sharing one millisecond");
    const atT = [...expected].filter(([, x]) => x === t).map(([k]) => k);
    const seen = atT.slice(0, 1);
    const c = connector();
    const { records } = await collect(c, "anomaly", {
      timestamp: new Date(t).toISOString(),
      idsAtTimestamp: seen,
    });
    await c.close();
    const want = [...expected].filter(([k, x]) => x >= t && !seen.includes(k)).map(([k]) => k);
    const got = records.map(anomalyKey);
    assert.equal(got.length, want.length);
    assert.deepEqual(new Set(got), new Set(want));
  });

  test("CVEs: a cursor with (device, CVE) ties at its timestamp loses nothing and repeats nothing", async () => {
    fresh();
    const all = new Map<string, number>();
    for (let i = 0; i < DEVICES; i++) {
      const f = sim.fleet.facts(i);
      for (const c of f.cves) all.set(`${f.id}|${c}`, Math.floor(f.lastSeenUs / 1000));
    }
    const counts = new Map<number, number>();
    for (const t of all.values()) counts.set(t, (counts.get(t) ?? 0) + 1);
    const t = [...counts].filter(([, n]) => n >= 3).map(([x]) => x)[10] as number;
    assert.ok(t !== undefined, "several (device, CVE) pairs share one millisecond");
    const atT = [...all].filter(([, x]) => x === t).map(([k]) => k);
    const seen = atT.slice(0, 2);
    const c = connector();
    const { records } = await collect(c, "cve", {
      timestamp: new Date(t).toISOString(),
      idsAtTimestamp: seen,
    });
    await c.close();
    const want = [...all].filter(([k, x]) => x >= t && !seen.includes(k)).map(([k]) => k);
    const got = records.map((r) => `${asimilyDeviceId(r)}|${(r.cve as { cveName: string }).cveName}`);
    assert.equal(got.length, want.length);
    assert.deepEqual(new Set(got), new Set(want));
  });

  test("CVEs: one record per (device, CVE) with the page cap of 25; epoch-millisecond bounds", async () => {
    fresh();
    const c = connector({ sinceFormat: "epoch_millis" });
    const { records, cursor, pages } = await collect(c, "cve");
    let expected = 0;
    for (let i = 0; i < DEVICES; i++) expected += sim.fleet.facts(i).cves.length;
    assert.equal(records.length, expected);
    assert.equal(
      new Set(records.map((r) => `${asimilyDeviceId(r)}|${(r.cve as { cveName: string }).cveName}`)).size,
      expected,
    );
    assert.equal(sim.stats.recent.length, Math.ceil(sim.cveDeviceCount() / 25));
    assert.ok(pages.length > 1);
    sim.resetStats();
    const again = await collect(c, "cve", cursor);
    await c.close();
    assert.equal(again.records.length, 0);
    const body = sim.stats.recent[0]?.body as { filters: Record<string, Array<{ value: unknown }>> };
    const cond = body.filters.cvesLastUpdatedSince?.[0];
    assert.equal(cond?.value, Date.parse(cursor?.timestamp as string));
  });
});

describe("asimily connector: failure modes", () => {
  test("wrong credentials: 403 becomes an AuthError with Asimily's message and no password", async () => {
    fresh();
    const c = createAsimilyConnector(
      asimilyConfigSchema.parse({ baseUrl: sim.url, username: sim.username, password: "wrong-password-123" }),
    );
    await assert.rejects(c.validate(), (e: unknown) => {
      assert.ok(e instanceof AuthError);
      assert.match(
        String(e),
        /Authentication Error: The specified API username and password are not correct/,
      );
      assert.ok(!String(e).includes("wrong-password-123"));
      return true;
    });
    await c.close();
    assert.equal(sim.stats.recent.length, 1, "not retried");
  });

  test("one 401 is retried once; two in a row are an AuthError", async () => {
    fresh({ unauthorizedOn: [2] });
    let c = connector();
    assert.equal((await collect(c, "asset")).records.length, DEVICES);
    await c.close();
    fresh({ unauthorizedOn: [1, 2] });
    c = connector();
    await assert.rejects(collect(c, "asset"), AuthError);
    await c.close();
  });

  test("429, 500, an HTML 502 and a truncated body are retried and nothing is lost", async () => {
    fresh({
      rateLimitEvery: 4,
      retryAfterSeconds: 0.02,
      serverErrorEvery: 5,
      htmlBadGatewayOn: [2],
      malformedJsonOn: [3],
    });
    const c = connector();
    const { records } = await collect(c, "anomaly");
    await c.close();
    assert.equal(records.length, sim.fleet.alertCount);
    for (const kind of ["rate_limited", "server_error", "bad_gateway_html", "malformed_json"])
      assert.ok((sim.stats.failures[kind] ?? 0) > 0, kind);
  });

  test("a 4xx is permanent with the vendor's message; persistent 5xx is RetryableError", async () => {
    fresh({ statusOn: [{ request: 1, status: 422, message: "Unknown filter key anomaliesCriticalit" }] });
    let c = connector();
    await assert.rejects(
      collect(c, "anomaly"),
      (e: unknown) => e instanceof PermanentError && /Unknown filter key/.test(String(e)),
    );
    await c.close();
    fresh({ serverErrorEvery: 1 });
    c = connector({ retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 } });
    await assert.rejects(collect(c, "cve"), RetryableError);
    await c.close();
  });

  test("type drift: deviceID/deviceId and number/string ids, string IPs and scores still map", async () => {
    fresh({ typeDrift: true });
    const c = connector();
    const assets = await collect(c, "asset");
    const cves = await collect(c, "cve");
    await c.close();
    assert.ok(assets.records.some((r) => "deviceId" in r) && assets.records.some((r) => "deviceID" in r));
    for (const [i, r] of assets.records.entries()) {
      const doc = mapRecord("asimily", "asset", r, { ingestedAt: "2025-04-14T10:58:03.000Z" });
      assert.equal((doc.host as { id: string }).id, String(i + 1));
      assert.deepEqual((doc.host as { ip: string[] }).ip, [sim.fleet.facts(i).ip]);
    }
    for (const r of cves.records.slice(0, 200)) {
      const doc = mapRecord("asimily", "cve", r, { ingestedAt: "2025-04-14T10:58:03.000Z" });
      assert.equal(typeof (doc.vulnerability as { score: { base: number } }).score.base, "number");
      assert.equal(typeof (doc.host as { id: string }).id, "string");
    }
  });

  test("config: page sizes above the documented caps are refused; TLS verification on by default", () => {
    const parsed = asimilyConfigSchema.parse({ baseUrl: "https://x", username: "u", password: "p" });
    assert.deepEqual(parsed.pageSize, { asset: 400, anomaly: 100, cve: 25 });
    assert.equal(parsed.tls.verify, true);
    assert.throws(
      () =>
        createConnector("asimily", {
          baseUrl: "https://x",
          username: "u",
          password: "p",
          pageSize: { cve: 26 },
        }),
      /pageSize\.cve/,
    );
  });
});
