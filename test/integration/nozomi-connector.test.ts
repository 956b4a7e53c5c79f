/**
 * The Nozomi connector against the loopback Guardian simulator: sign-in and re-auth, keyset paging
 * to the end, the same-millisecond boundary, and one test per failure mode. Needs nothing but loopback.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { agentOptions } from "../../connectors/http.ts";
import { createConnector, findConnector } from "../../connectors/index.ts";
import {
  createNozomiConnector,
  type NozomiConfigInput,
  type NozomiConnector,
  nozomiConfigSchema,
} from "../../connectors/nozomi/index.ts";
import type { Cursor, Page } from "../../connectors/types.ts";
import { AuthError, PermanentError, RateLimitedError, RetryableError } from "../../core/errors.ts";
import { mapRecord } from "../../mappings/index.ts";
import { DEFAULT_START_MS } from "../../simulators/fleet/fleet.ts";
import {
  type NozomiFailures,
  type NozomiSimulator,
  startNozomiSimulator,
} from "../../simulators/nozomi/server.ts";

const DEVICES = 600;
let sim: NozomiSimulator;

before(async () => {
  sim = await startNozomiSimulator({ devices: DEVICES, seed: 7, startMs: DEFAULT_START_MS });
});
after(async () => {
  await sim.stop();
});

function connector(overrides: Partial<NozomiConfigInput> = {}): NozomiConnector {
  return createNozomiConnector(
    nozomiConfigSchema.parse({
      baseUrl: sim.url,
      auth: { type: "sign_in", keyName: sim.keyName, keyToken: sim.keyToken },
      initialLookbackSeconds: 0,
      pageSize: 50,
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
      ...overrides,
    }),
  );
}

async function collect(c: NozomiConnector, stream: string, cursor: Cursor | null = null) {
  const pages: Page[] = [];
  for await (const page of c.poll(stream, cursor)) pages.push(page);
  return {
    pages,
    records: pages.flatMap((p) => p.records as Record<string, unknown>[]),
    cursor: pages.at(-1)?.cursor ?? cursor,
  };
}

function fresh(failures: NozomiFailures = {}) {
  sim.setFailures(failures);
  sim.resetStats();
}

const TABLE = { asset: "assets", alert: "alerts", node_cve: "node_cves" } as const;

function assertEveryRowOnce(stream: keyof typeof TABLE, records: Record<string, unknown>[]) {
  const table = TABLE[stream];
  const ids = records.map((r) => r.id as string);
  assert.equal(new Set(ids).size, ids.length, "no duplicates");
  assert.equal(ids.length, sim.tableSize(table), `every ${table} row exactly once`);
}

const queries = () => sim.stats.recent.filter((r) => r.path === "/api/open/query/do");

describe("nozomi connector: paging and cursors", () => {
  test("paging to the end hands on every asset once, with one sign-in", async () => {
    fresh();
    const c = connector();
    const { records, cursor, pages } = await collect(c, "asset");
    await c.close();
    assertEveryRowOnce("asset", records);
    assert.ok(pages.length >= DEVICES / 50, `${pages.length} pages`);
    assert.equal(sim.stats.tokensIssued, 1, "the token is cached across pages");
    assert.deepEqual(records[3], sim.row("assets", 3), "records are untouched");
    const last = sim.row("assets", DEVICES - 1);
    assert.equal(cursor?.timestamp, new Date(last.last_activity_time as number).toISOString());
    const first = queries()[0];
    assert.equal(first?.query.query, "assets | sort last_activity_time asc");
    assert.equal(first?.query.count, "50");
    assert.equal(first?.auth, "Bearer");
    // Keyset paging: the next query starts from the newest time seen, inclusive.
    assert.match(
      queries()[1]?.query.query ?? "",
      /^assets \| where last_activity_time >= \d+ \| sort last_activity_time asc$/,
    );
  });

  test("a second poll from the final cursor returns nothing and starts at the cursor, inclusive", async () => {
    fresh();
    const c = connector();
    const { cursor } = await collect(c, "asset");
    sim.resetStats();
    const again = await collect(c, "asset", cursor);
    await c.close();
    assert.equal(again.records.length, 0);
    assert.equal(
      queries()[0]?.query.query,
      `assets | where last_activity_time >= ${Date.parse(cursor?.timestamp as string)} | sort last_activity_time asc`,
    );
  });

  test("a cursor inside a millisecond shared by three assets loses nothing and repeats nothing", async () => {
    fresh();
    const j = 301; // devices 300, 301, 302 share one lastSeen (tie groups of 3)
    const row = (i: number) => sim.row("assets", i);
    assert.equal(row(j).last_activity_time, row(j - 1).last_activity_time);
    assert.equal(row(j).last_activity_time, row(j + 1).last_activity_time);
    const cursor: Cursor = {
      timestamp: new Date(row(j).last_activity_time as number).toISOString(),
      idsAtTimestamp: [row(j - 1).id as string, row(j).id as string],
    };
    const c = connector();
    const { records } = await collect(c, "asset", cursor);
    await c.close();
    const expected = Array.from({ length: DEVICES - (j + 1) }, (_, k) => row(j + 1 + k).id);
    assert.deepEqual(
      records.map((r) => r.id),
      expected,
    );
  });

  test("restarting from every page's cursor hands on each asset exactly once", async () => {
    fresh();
    const c = connector({ pageSize: 40 });
    let previous: Cursor | null = null;
    const seen = new Set<string>();
    for (let round = 0; round < 100; round++) {
      const it = c.poll("asset", previous)[Symbol.asyncIterator]();
      const next = await it.next();
      await it.return?.();
      if (next.done) break;
      for (const r of next.value.records as Record<string, unknown>[]) {
        assert.ok(!seen.has(r.id as string), `asset ${r.id} handed on twice`);
        seen.add(r.id as string);
      }
      previous = next.value.cursor;
    }
    await c.close();
    assert.equal(seen.size, DEVICES);
  });

  test("a page smaller than one millisecond's records moves to page 2 of the same query", async () => {
    fresh();
    const c = connector({ pageSize: 2 });
    const { records } = await collect(c, "node_cve");
    await c.close();
    assertEveryRowOnce("node_cve", records);
    assert.ok(
      queries().some((q) => q.query.page === "2"),
      "page 2 was needed where more than 2 CVE rows share a millisecond",
    );
    assert.ok(queries().every((q) => Number(q.query.page) <= 1000));
  });

  test("more same-millisecond rows than maxPagesPerQuery pages is a PermanentError, not a loop", async () => {
    fresh();
    const c = connector({ pageSize: 1, maxPagesPerQuery: 1 });
    await assert.rejects(collect(c, "node_cve"), (e: unknown) => {
      assert.ok(e instanceof PermanentError, String(e));
      assert.match((e as Error).message, /share the time/);
      return true;
    });
    await c.close();
  });

  test("alerts and node CVEs: every row once; the next poll returns nothing", async () => {
    fresh();
    const c = connector();
    for (const stream of ["alert", "node_cve"] as const) {
      const { records, cursor } = await collect(c, stream);
      assertEveryRowOnce(stream, records);
      assert.equal((await collect(c, stream, cursor)).records.length, 0);
    }
    await c.close();
    assert.ok(queries().some((q) => q.query.query?.startsWith("alerts | sort time asc")));
    assert.ok(queries().some((q) => q.query.query?.startsWith("node_cves | sort time asc")));
  });

  test("type drift: times as numeric strings and risk as a string are read, and mapped the same", async () => {
    fresh({ typeDrift: true });
    const c = connector();
    const assets = await collect(c, "asset");
    const alerts = await collect(c, "alert");
    await c.close();
    assertEveryRowOnce("asset", assets.records);
    assertEveryRowOnce("alert", alerts.records);
    assert.ok(assets.records.some((r) => typeof r.last_activity_time === "string"));
    const stringRisk = alerts.records.find((r) => typeof r.risk === "string");
    assert.ok(stringRisk, "some alert carries risk as a string");
    const doc = mapRecord("nozomi", "alert", stringRisk, { ingestedAt: "2025-01-01T00:00:00.000Z" });
    assert.equal(doc.event.risk_score, Number(stringRisk.risk));
    const driftAsset = assets.records.find((r) => typeof r.last_activity_time === "string") as Record<
      string,
      unknown
    >;
    const assetDoc = mapRecord("nozomi", "asset", driftAsset, { ingestedAt: "2025-01-01T00:00:00.000Z" });
    assert.equal(assetDoc["@timestamp"], new Date(Number(driftAsset.last_activity_time)).toISOString());
  });

  test("the registry builds nozomi from a raw config section", async () => {
    assert.deepEqual(findConnector("nozomi")?.streams, ["asset", "alert", "node_cve"]);
    const c = createConnector("nozomi", {
      baseUrl: sim.url,
      auth: { type: "sign_in", keyName: sim.keyName, keyToken: sim.keyToken },
    });
    await c.validate();
    await c.close();
  });
});

describe("nozomi connector: authentication", () => {
  test("a token refused mid-run triggers exactly one re-sign-in and the same page is retried", async () => {
    fresh({ tokenMaxRequests: 4 });
    const c = connector();
    const { records } = await collect(c, "asset");
    await c.close();
    assertEveryRowOnce("asset", records);
    assert.ok((sim.stats.failures.unauthorized ?? 0) >= 1);
    assert.equal(sim.stats.tokensIssued, (sim.stats.failures.unauthorized ?? 0) + 1);
    const q = queries();
    const failed = q.findIndex((r) => r.status === 401);
    assert.deepEqual(q[failed + 1]?.query, q[failed]?.query, "the same page is retried");
  });

  test("a second 401 right after signing in again is an AuthError", async () => {
    fresh({ tokenMaxRequests: 0 });
    const c = connector();
    await assert.rejects(collect(c, "asset"), (e: unknown) => {
      assert.ok(e instanceof AuthError, String(e));
      assert.match((e as Error).message, /^fetching nozomi asset page 1: /);
      return true;
    });
    await c.close();
    assert.equal(sim.stats.tokensIssued, 2);
  });

  test("the token is replaced before it expires, so no query meets a 401", async () => {
    fresh({ tokenTtlMs: 1500, delayMs: 60 });
    const c = connector({ tokenRefreshSkewSeconds: 1, pageSize: 25 });
    const { records } = await collect(c, "asset");
    await c.close();
    assertEveryRowOnce("asset", records);
    assert.equal(sim.stats.failures.unauthorized, undefined);
    assert.ok(sim.stats.tokensIssued >= 2, `${sim.stats.tokensIssued} tokens`);
  });

  test("a rejected API key is an AuthError without retries, and the key is not in the message", async () => {
    fresh({ invalidCredentials: true });
    const c = connector();
    await assert.rejects(c.validate(), (e: unknown) => {
      assert.ok(e instanceof AuthError);
      assert.ok(!(e as Error).message.includes(sim.keyToken));
      return true;
    });
    await c.close();
    assert.equal(sim.stats.requests["/api/open/sign_in"], 1);
    assert.equal(sim.stats.requests["/api/open/query/do"], undefined);
  });

  test("without a sign-in endpoint the key pair goes as HTTP Basic", async () => {
    fresh({ signInUnavailable: true });
    const c = connector();
    const { records } = await collect(c, "alert");
    await c.close();
    assertEveryRowOnce("alert", records);
    assert.equal(sim.stats.requests["/api/open/sign_in"], 1, "sign-in tried once");
    assert.ok(queries().every((q) => q.auth === "Basic"));
  });

  test("basic auth: works, and a wrong password is an AuthError after one query", async () => {
    fresh();
    const ok = connector({ auth: { type: "basic", username: sim.keyName, password: sim.keyToken } });
    assertEveryRowOnce("alert", (await collect(ok, "alert")).records);
    await ok.close();
    fresh();
    const bad = connector({ auth: { type: "basic", username: sim.keyName, password: "wrong-password" } });
    await assert.rejects(collect(bad, "alert"), (e: unknown) => {
      assert.ok(e instanceof AuthError);
      assert.ok(!(e as Error).message.includes("wrong-password"));
      return true;
    });
    await bad.close();
    assert.equal(sim.stats.requests["/api/open/query/do"], 1);
  });
});

describe("nozomi connector: failure modes", () => {
  test("429 honours Retry-After before the next attempt", async () => {
    fresh({ rateLimitEvery: 3, retryAfterSeconds: 0.3 });
    const c = connector({ pageSize: 200 });
    const { records } = await collect(c, "asset");
    await c.close();
    assertEveryRowOnce("asset", records);
    const q = queries();
    const limited = q.findIndex((r) => r.status === 429);
    assert.ok(limited >= 0);
    const waited = (q[limited + 1]?.at ?? 0) - (q[limited]?.at ?? 0);
    assert.ok(waited >= 300, `waited ${waited} ms after Retry-After: 0.3`);
  });

  test("429 on every attempt ends in RateLimitedError carrying the delay", async () => {
    fresh({ rateLimitEvery: 1, retryAfterSeconds: 0.05 });
    const c = connector({ retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    await assert.rejects(collect(c, "asset"), (e: unknown) => {
      assert.ok(e instanceof RateLimitedError);
      assert.equal(e.retryAfterMs, 50);
      return true;
    });
    await c.close();
    assert.equal(sim.stats.requests["/api/open/query/do"], 3);
  });

  test("503 is retried with backoff; a persistent one is a RetryableError", async () => {
    fresh({ serverErrorEvery: 3 });
    const c = connector();
    assertEveryRowOnce("asset", (await collect(c, "asset")).records);
    assert.ok((sim.stats.failures.server_error ?? 0) >= 2);
    fresh({ serverErrorEvery: 1 });
    const d = connector({ retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
    await assert.rejects(collect(d, "asset"), (e: unknown) => {
      assert.ok(e instanceof RetryableError && !(e instanceof RateLimitedError));
      assert.match((e as Error).message, /HTTP 503: Service temporarily unavailable/);
      return true;
    });
    await c.close();
    await d.close();
  });

  test("a malformed (truncated) JSON body is retried and nothing is lost", async () => {
    fresh({ malformedJsonOn: [2, 5] });
    const c = connector();
    const { records } = await collect(c, "asset");
    await c.close();
    assertEveryRowOnce("asset", records);
    assert.equal(sim.stats.failures.malformed_json, 2);
  });

  test("a query the appliance refuses (HTTP 200 with error) is a PermanentError with its message", async () => {
    fresh();
    const c = connector({ timeFields: { asset: "created_at" } });
    await assert.rejects(collect(c, "asset"), (e: unknown) => {
      assert.ok(e instanceof PermanentError && !(e instanceof AuthError));
      assert.match((e as Error).message, /nozomi refused the query: Sorting on created_at/);
      return true;
    });
    await c.close();
    assert.equal(sim.stats.requests["/api/open/query/do"], 1, "no retry");
  });

  test("a 422 is a PermanentError with the vendor's message, and secrets are scrubbed from it", async () => {
    fresh({ statusOn: [{ request: 2, status: 422, message: `count too large for key ${sim.keyToken}` }] });
    const c = connector();
    await assert.rejects(collect(c, "asset"), (e: unknown) => {
      assert.ok(e instanceof PermanentError);
      assert.equal(
        (e as Error).message,
        "fetching nozomi asset page 2: HTTP 422: count too large for key [redacted]",
      );
      return true;
    });
    await c.close();
    assert.equal(sim.stats.requests["/api/open/query/do"], 2);
  });

  test("TLS verification is on unless the config turns it off explicitly", () => {
    const auth = { type: "basic" as const, username: "u", password: "p" };
    const on = nozomiConfigSchema.parse({ baseUrl: "https://guardian.example", auth });
    assert.equal((agentOptions(on.tls).connect as { rejectUnauthorized?: boolean }).rejectUnauthorized, true);
    const off = nozomiConfigSchema.parse({
      baseUrl: "https://guardian.example",
      auth,
      tls: { verify: false },
    });
    assert.equal(
      (agentOptions(off.tls).connect as { rejectUnauthorized?: boolean }).rejectUnauthorized,
      false,
    );
    assert.ok(!JSON.stringify(on).includes('"p"'), "secrets redact themselves");
    assert.throws(() => nozomiConfigSchema.parse({ baseUrl: "https://g", auth, pageSize: 10_001 }));
  });
});
