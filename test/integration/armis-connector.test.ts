/**
 * The Armis connector against the loopback Armis simulator: paging, cursors and their boundary,
 * and one test per failure mode. Needs nothing but loopback.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  type ArmisConfigInput,
  type ArmisConnector,
  armisConfigSchema,
  createArmisConnector,
} from "../../connectors/armis/index.ts";
import { afterValue, microsToIso, timestampMicros } from "../../connectors/armis/streams.ts";
import { agentOptions } from "../../connectors/http.ts";
import { connectors, createConnector, findConnector } from "../../connectors/index.ts";
import type { Cursor, Page } from "../../connectors/types.ts";
import {
  AuthError,
  ConfigError,
  PermanentError,
  RateLimitedError,
  RetryableError,
} from "../../core/errors.ts";
import { armisRecords } from "../../simulators/armis/records.ts";
import { type ArmisSimulator, startArmisSimulator } from "../../simulators/armis/server.ts";
import { DEFAULT_START_MS } from "../../simulators/fleet/fleet.ts";

const DEVICES = 2500;
let sim: ArmisSimulator;

before(async () => {
  sim = await startArmisSimulator({ devices: DEVICES, seed: 42, startMs: DEFAULT_START_MS });
});
after(async () => {
  await sim.stop();
});

function connector(overrides: Partial<ArmisConfigInput> = {}): ArmisConnector {
  return createArmisConnector(
    armisConfigSchema.parse({
      baseUrl: sim.url,
      secretKey: sim.secret,
      initialLookbackSeconds: 0,
      pageSize: 300,
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
      ...overrides,
    }),
  );
}

async function collect(
  c: ArmisConnector,
  stream: string,
  cursor: Cursor | null = null,
): Promise<{ pages: Page[]; records: Record<string, unknown>[]; cursor: Cursor | null }> {
  const pages: Page[] = [];
  for await (const page of c.poll(stream, cursor)) pages.push(page);
  return {
    pages,
    records: pages.flatMap((p) => p.records as Record<string, unknown>[]),
    cursor: pages.at(-1)?.cursor ?? cursor,
  };
}

function fresh(failures: Parameters<ArmisSimulator["setFailures"]>[0] = {}) {
  sim.setFailures(failures);
  sim.resetStats();
}

function deviceIds(records: Record<string, unknown>[]): number[] {
  return records.map((r) => r.id as number);
}

function assertAllDevicesOnce(records: Record<string, unknown>[]) {
  const ids = deviceIds(records);
  assert.equal(ids.length, DEVICES, "every device exactly once");
  assert.equal(new Set(ids).size, DEVICES, "no duplicates");
}

describe("armis connector: paging and cursors", () => {
  test("paging across several pages collects every device exactly once, one yield per API page", async () => {
    fresh();
    const c = connector();
    const { pages, records, cursor } = await collect(c, "device");
    await c.close();
    assertAllDevicesOnce(records);
    assert.equal(pages.length, Math.ceil(DEVICES / 300));
    assert.equal(sim.stats.requests["/api/v1/search/"], pages.length);
    assert.equal(sim.stats.tokensIssued, 1, "the token is cached across pages");
    const lastSeen = sim.records.device(DEVICES - 1).lastSeen;
    assert.equal(cursor?.timestamp, microsToIso(timestampMicros(lastSeen) as number));
    // Records are untouched vendor records.
    assert.deepEqual(records[7], sim.records.device(7));
    const first = sim.stats.recent[1];
    assert.equal(first?.query.aql, "in:devices");
    assert.equal(first?.query.orderBy, "lastSeen");
    assert.equal(first?.query.length, "300");
  });

  test("a second poll from the final cursor returns nothing", async () => {
    fresh();
    const c = connector();
    const { cursor } = await collect(c, "device");
    sim.resetStats();
    const again = await collect(c, "device", cursor);
    await c.close();
    assert.equal(again.records.length, 0);
    // It re-read the boundary second: after: is one second before the cursor's second.
    const search = sim.stats.recent.find((r) => r.path === "/api/v1/search/");
    assert.equal(
      search?.query.aql,
      `in:devices after:${afterValue(timestampMicros(cursor?.timestamp) as number)}`,
    );
  });

  test("a cursor in the middle of a second with equal timestamps loses nothing and duplicates nothing", async () => {
    fresh();
    const fleet = sim.fleet;
    // Device 1001 shares its exact lastSeen with 999 and 1000 (tie groups of 3), and other devices share its second.
    const j = 1000;
    assert.equal(armisRecords(fleet).device(j).lastSeen, armisRecords(fleet).device(j - 1).lastSeen);
    assert.equal(armisRecords(fleet).device(j).lastSeen, armisRecords(fleet).device(j + 1).lastSeen);
    const cursor: Cursor = {
      timestamp: armisRecords(fleet).device(j).lastSeen,
      idsAtTimestamp: [String(fleet.deviceId(j - 1)), String(fleet.deviceId(j))],
    };
    const c = connector();
    const { records, cursor: end } = await collect(c, "device", cursor);
    await c.close();
    const ids = deviceIds(records);
    const expected = Array.from({ length: DEVICES - (j + 1) }, (_, k) => fleet.deviceId(j + 1 + k));
    assert.deepEqual(ids, expected, "exactly the devices after the boundary, in order");
    const last = armisRecords(fleet).device(DEVICES - 1).lastSeen;
    const atLast = expected.filter((id) => armisRecords(fleet).device(id - 1).lastSeen === last).map(String);
    assert.deepEqual(end?.idsAtTimestamp.sort(), atLast.sort());
  });

  test("restarting from the cursor of every page hands each device on exactly once", async () => {
    fresh();
    const c = connector({ pageSize: 100 });
    let previous: Cursor | null = null;
    const seen = new Set<number>();
    // Restart from every intermediate cursor: the union is still every device exactly once.
    for (let round = 0; round < 40; round++) {
      const it = c.poll("device", previous)[Symbol.asyncIterator]();
      const next = await it.next();
      await it.return?.();
      if (next.done) break;
      for (const r of next.value.records as Record<string, unknown>[]) {
        assert.ok(!seen.has(r.id as number), `device ${r.id} handed on twice`);
        seen.add(r.id as number);
      }
      previous = next.value.cursor;
    }
    await c.close();
    assert.equal(seen.size, DEVICES);
  });

  test("alerts: every alert once, ordered by time, type drift untouched", async () => {
    fresh();
    const c = connector();
    const { records, cursor } = await collect(c, "alert");
    const again = await collect(c, "alert", cursor);
    await c.close();
    assert.equal(records.length, sim.fleet.alertCount);
    assert.equal(new Set(records.map((r) => r.alertId)).size, records.length);
    assert.equal(again.records.length, 0);
    const kinds = new Set(
      records.map((r) =>
        r.policyLabels === null ? "null" : Array.isArray(r.policyLabels) ? "array" : "string",
      ),
    );
    assert.deepEqual([...kinds].sort(), ["array", "null", "string"]);
    assert.equal(sim.stats.recent.find((r) => r.path === "/api/v1/search/")?.query.orderBy, "time");
  });

  test("vulnerabilities: one record per (vulnerability, device) with vulnerability_match, buffer bounded", async () => {
    fresh();
    const c = connector({ pageSize: 50, maxVulnerabilityRecordsPerPage: 200 });
    const { pages, records, cursor } = await collect(c, "vulnerability");
    const expected = sim.records.vulnerabilities().reduce((n, v) => n + sim.fleet.matchCount(v.cveUid), 0);
    assert.ok(expected > 200, "the fixture spans several pages");
    assert.equal(records.length, expected);
    const pairs = new Set<string>();
    for (const r of records) {
      const match = r.vulnerability_match as Record<string, unknown>;
      assert.equal(match.cveUid, r.cveUid);
      assert.equal(typeof match.deviceId, "number");
      pairs.add(`${r.cveUid}/${match.deviceId}`);
    }
    assert.equal(pairs.size, expected, "no (vulnerability, device) pair twice");
    for (const p of pages) assert.ok(p.records.length <= 200 + 50, `page of ${p.records.length} records`);
    // The vulnerability itself is untouched apart from the added field.
    const { vulnerability_match: _, ...vuln } = records[0] as Record<string, unknown>;
    assert.deepEqual(
      vuln,
      sim.records.vulnerabilities().find((v) => v.cveUid === vuln.cveUid),
    );
    const again = await collect(c, "vulnerability", cursor);
    await c.close();
    assert.equal(again.records.length, 0);
    assert.ok(
      (sim.stats.requests["/api/v1/vulnerability-match/"] ?? 0) > sim.records.vulnerabilities().length,
    );
  });

  test("the registry lists armis and builds it from a raw config section", async () => {
    assert.equal(connectors[0]?.source, "armis");
    assert.equal(connectors.filter((c) => c.source === "armis").length, 1);
    assert.deepEqual(findConnector("armis")?.streams, ["device", "alert", "vulnerability"]);
    const c = createConnector("armis", { baseUrl: sim.url, secretKey: sim.secret });
    await c.validate();
    await c.close();
    assert.throws(
      () => createConnector("armis", { baseUrl: "not a url", secretKey: "", extra: 1 }),
      (e: unknown) => e instanceof ConfigError && e.problems.length === 3,
    );
  });
});

describe("armis connector: failure modes", () => {
  test("a token expiring mid-run triggers exactly one re-auth and the page is retried", async () => {
    // 9 pages; each token is good for 5 API requests: the 6th gets 401 once.
    fresh({ tokenMaxRequests: 5 });
    const c = connector();
    const { records } = await collect(c, "device");
    await c.close();
    assertAllDevicesOnce(records);
    assert.equal(sim.stats.failures.unauthorized, 1);
    assert.equal(sim.stats.tokensIssued, 2);
    assert.equal(c.client.tokensObtained, 2);
    const searches = sim.stats.recent.filter((r) => r.path === "/api/v1/search/");
    const failed = searches.findIndex((r) => r.status === 401);
    assert.equal(searches[failed + 1]?.query.from, searches[failed]?.query.from, "the same page is retried");
  });

  test("a second 401 right after re-authenticating is an AuthError", async () => {
    fresh({ tokenMaxRequests: 0 });
    const c = connector();
    await assert.rejects(collect(c, "device"), (e: unknown) => {
      assert.ok(e instanceof AuthError, String(e));
      assert.match((e as Error).message, /^fetching armis device page 1: /);
      return true;
    });
    await c.close();
    assert.equal(sim.stats.tokensIssued, 2);
    assert.equal(sim.stats.requests["/api/v1/search/"], 2);
  });

  test("an invalid secret key is an AuthError without retries, and the secret is not in the message", async () => {
    fresh({ invalidSecret: true });
    const c = connector();
    await assert.rejects(c.validate(), (e: unknown) => {
      assert.ok(e instanceof AuthError);
      assert.ok(!(e as Error).message.includes(sim.secret));
      return true;
    });
    await assert.rejects(collect(c, "device"), AuthError);
    await c.close();
    assert.equal(sim.stats.requests["/api/v1/access_token/"], 2);
    assert.equal(sim.stats.requests["/api/v1/search/"], undefined);
  });

  test("429 honours Retry-After before the next attempt", async () => {
    fresh({ rateLimitEvery: 3, retryAfterSeconds: 0.3 });
    const c = connector({ pageSize: 1000 });
    const { records } = await collect(c, "device");
    await c.close();
    assertAllDevicesOnce(records);
    const recent = sim.stats.recent;
    const limited = recent.findIndex((r) => r.status === 429);
    assert.ok(limited >= 0);
    const waited = (recent[limited + 1]?.at ?? 0) - (recent[limited]?.at ?? 0);
    assert.ok(waited >= 300, `waited ${waited} ms after Retry-After: 0.3`);
  });

  test("429 on every attempt ends in RateLimitedError carrying the delay", async () => {
    fresh({ rateLimitEvery: 1, retryAfterSeconds: 0.05 });
    const c = connector({ retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    await assert.rejects(collect(c, "device"), (e: unknown) => {
      assert.ok(e instanceof RateLimitedError);
      assert.equal(e.retryAfterMs, 50);
      return true;
    });
    await c.close();
    assert.equal(sim.stats.requests["/api/v1/search/"], 3);
  });

  test("500 is retried with backoff and the poll completes", async () => {
    fresh({ serverErrorEvery: 4 });
    const c = connector();
    const { records } = await collect(c, "device");
    await c.close();
    assertAllDevicesOnce(records);
    assert.ok((sim.stats.failures.server_error ?? 0) >= 2);
  });

  test("a persistent 500 ends in RetryableError after the configured attempts", async () => {
    fresh({ serverErrorEvery: 1 });
    const c = connector({ retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2 } });
    await assert.rejects(collect(c, "device"), (e: unknown) => {
      assert.ok(e instanceof RetryableError && !(e instanceof RateLimitedError));
      assert.match((e as Error).message, /^fetching armis device page 1: HTTP 500: Internal server error/);
      return true;
    });
    await c.close();
    assert.equal(sim.stats.requests["/api/v1/search/"], 4);
  });

  test("malformed JSON and an HTML 502 from a proxy are retried", async () => {
    fresh({ malformedJsonOn: [2], htmlBadGatewayOn: [4, 5] });
    const c = connector();
    const { records } = await collect(c, "device");
    await c.close();
    assertAllDevicesOnce(records);
    assert.equal(sim.stats.failures.malformed_json, 1);
    assert.equal(sim.stats.failures.bad_gateway_html, 2);
  });

  test("a 400 is a PermanentError with the vendor's message and no retry", async () => {
    fresh({ statusOn: [{ request: 2, status: 400, message: "Invalid AQL: unknown field lastSen" }] });
    const c = connector();
    await assert.rejects(collect(c, "device"), (e: unknown) => {
      assert.ok(e instanceof PermanentError && !(e instanceof AuthError));
      assert.equal(
        (e as Error).message,
        "fetching armis device page 2: HTTP 400: Invalid AQL: unknown field lastSen",
      );
      return true;
    });
    await c.close();
    assert.equal(sim.stats.requests["/api/v1/search/"], 2);
  });

  test("a 404 is a PermanentError with no retry", async () => {
    fresh();
    const c = connector({ baseUrl: `${sim.url}/wrong-prefix` });
    await assert.rejects(collect(c, "device"), (e: unknown) => {
      assert.ok(e instanceof PermanentError);
      assert.match((e as Error).message, /HTTP 404: Not found: \/wrong-prefix\/api\/v1\/access_token\//);
      return true;
    });
    await c.close();
    assert.equal(sim.stats.requests["/wrong-prefix/api/v1/access_token/"], 1);
  });

  test("secrets never appear in thrown error messages", async () => {
    fresh({ statusOn: [{ request: 1, status: 400, message: `echo of secret_key=${sim.secret}` }] });
    // The query form puts the secret into the token URL, the vendor message echoes it.
    const c = connector({ secretKeyIn: "query" });
    await assert.rejects(collect(c, "device"), (e: unknown) => {
      const text = `${(e as Error).message} ${String((e as Error).cause ?? "")}`;
      assert.ok(!text.includes(sim.secret), text);
      assert.match(text, /\[redacted\]/);
      return true;
    });
    await c.close();
    // Network errors too (nothing listens there).
    const dead = createArmisConnector(
      armisConfigSchema.parse({
        baseUrl: "http://127.0.0.1:9",
        secretKey: sim.secret,
        secretKeyIn: "query",
        retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
      }),
    );
    await assert.rejects(dead.validate(), (e: unknown) => {
      assert.ok(e instanceof RetryableError);
      assert.ok(!(e as Error).message.includes(sim.secret));
      return true;
    });
    await dead.close();
  });

  test("the access token is refreshed before expiration_utc, so no request meets a 401", async () => {
    fresh({ tokenTtlMs: 1500, delayMs: 100 });
    const c = connector({ tokenRefreshSkewSeconds: 1 });
    const { records } = await collect(c, "device");
    await c.close();
    assertAllDevicesOnce(records);
    assert.equal(sim.stats.failures.unauthorized, undefined);
    assert.ok(sim.stats.tokensIssued >= 2, `${sim.stats.tokensIssued} tokens`);
  });

  test("TLS verification is on unless the config turns it off explicitly", () => {
    const defaults = armisConfigSchema.parse({ baseUrl: "https://acme.armis.com", secretKey: "k" });
    assert.equal(defaults.tls.verify, true);
    assert.equal(
      (agentOptions(defaults.tls).connect as { rejectUnauthorized?: boolean }).rejectUnauthorized,
      true,
    );
    const off = armisConfigSchema.parse({
      baseUrl: "https://acme.armis.com",
      secretKey: "k",
      tls: { verify: false },
    });
    assert.equal(
      (agentOptions(off.tls).connect as { rejectUnauthorized?: boolean }).rejectUnauthorized,
      false,
    );
    // The secret redacts itself wherever the parsed config is printed.
    assert.ok(!JSON.stringify(defaults).includes('"k"'));
  });
});
