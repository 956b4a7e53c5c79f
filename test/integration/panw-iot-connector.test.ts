/**
 * The PANW IoT Security connector against the loopback simulator: query parameters, paging to the
 * end, the `stime` cursor with its same-millisecond groups and "+1 ms" step, the inventory
 * snapshot cursor, and one test per failure mode. Needs nothing but loopback.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { agentOptions } from "../../connectors/http.ts";
import { findConnector } from "../../connectors/index.ts";
import {
  createPanwIotConnector,
  type PanwIotConfigInput,
  panwIotConfigSchema,
} from "../../connectors/panw_iot/index.ts";
import type { Connector, Cursor, Page } from "../../connectors/types.ts";
import { AuthError, PermanentError, RateLimitedError, RetryableError } from "../../core/errors.ts";
import { mapRecord } from "../../mappings/index.ts";
import { DEFAULT_START_MS } from "../../simulators/fleet/fleet.ts";
import {
  type PanwIotFailures,
  type PanwIotSimulator,
  startPanwIotSimulator,
} from "../../simulators/panw_iot/server.ts";

const DEVICES = 1200;
let sim: PanwIotSimulator;
/** The connector's clock: a week after the fleet was last seen. */
const NOW = DEFAULT_START_MS + 7 * 86_400_000;

before(async () => {
  sim = await startPanwIotSimulator({ devices: DEVICES, seed: 42, startMs: DEFAULT_START_MS });
});
after(async () => {
  await sim.stop();
});

function connector(overrides: Partial<PanwIotConfigInput> = {}, now = () => NOW): Connector {
  return createPanwIotConnector(
    panwIotConfigSchema.parse({
      baseUrl: sim.url,
      customerId: sim.customerId,
      keyId: sim.keyId,
      accessKey: sim.accessKey,
      initialLookbackSeconds: 0,
      pageSize: 100,
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
      ...overrides,
    }),
    { now },
  );
}

async function collect(c: Connector, stream: string, cursor: Cursor | null = null) {
  const pages: Page[] = [];
  for await (const page of c.poll(stream, cursor)) pages.push(page);
  return {
    pages,
    records: pages.flatMap((p) => p.records as Record<string, unknown>[]),
    cursor: pages.at(-1)?.cursor ?? cursor,
  };
}

function fresh(failures: PanwIotFailures = {}) {
  sim.setFailures(failures);
  sim.resetStats();
}

const ticket = (r: Record<string, unknown>) => r.zb_ticketid as string;
const requests = (path: string) => sim.stats.requests[`/pub/v4.0/${path}`] ?? 0;

describe("panw_iot connector: paging and cursors", () => {
  test("the connector is registered with its three streams", () => {
    assert.deepEqual(findConnector("panw_iot")?.streams, ["device", "alert", "vulnerability"]);
  });

  test("alerts: every unresolved alert once, documented query, then stime = last date + 1 ms", async () => {
    fresh();
    const c = connector({ pageSize: 5 });
    const { records, cursor } = await collect(c, "alert");
    assert.equal(records.length, sim.totals.unresolvedAlerts);
    assert.equal(new Set(records.map(ticket)).size, records.length);
    const q = sim.stats.recent[0]?.query ?? {};
    assert.deepEqual(
      { ...q },
      {
        customerid: sim.customerId,
        offset: "0",
        pagelength: "5",
        stime: "-1",
        type: "policy_alert",
        resolved: "no",
        sortfield: "date",
        sortdirection: "asc",
      },
    );
    const last = Date.parse(records.at(-1)?.date as string);
    assert.deepEqual(cursor, { timestamp: new Date(last + 1).toISOString(), idsAtTimestamp: [] });
    sim.resetStats();
    const again = await collect(c, "alert", cursor);
    await c.close();
    assert.equal(again.records.length, 0);
    assert.equal(sim.stats.recent[0]?.query.stime, new Date(last + 1).toISOString());
  });

  test("vulnerabilities: groups sharing one millisecond larger than a page are read whole", async () => {
    fresh();
    const c = connector({ pageSize: 4 });
    const { records, cursor } = await collect(c, "vulnerability");
    await c.close();
    assert.equal(records.length, sim.totals.vulnerabilities);
    assert.equal(new Set(records.map(ticket)).size, records.length);
    const byDate = new Map<string, number>();
    for (const r of records)
      byDate.set(r.detected_date as string, (byDate.get(r.detected_date as string) ?? 0) + 1);
    assert.ok(Math.max(...byDate.values()) > 4, "a same-millisecond group spans several pages");
    assert.equal(cursor?.idsAtTimestamp.length, 0);
    const q = sim.stats.recent[0]?.query ?? {};
    assert.equal(q.type, "vulnerability");
    assert.equal(q.status, "Confirmed");
    assert.equal(q.groupby, "device");
  });

  test("restarting from every page's cursor hands each vulnerability on exactly once", async () => {
    fresh();
    const c = connector({ pageSize: 4 });
    let previous: Cursor | null = null;
    const seen = new Set<string>();
    let interruptedInsideGroup = 0;
    for (let round = 0; round < 2000; round++) {
      const it = c.poll("vulnerability", previous)[Symbol.asyncIterator]();
      const next = await it.next();
      await it.return?.();
      if (next.done) break;
      for (const r of next.value.records as Record<string, unknown>[]) {
        assert.ok(!seen.has(ticket(r)), `${ticket(r)} handed on twice`);
        seen.add(ticket(r));
      }
      if (next.value.cursor.idsAtTimestamp.length > 0) interruptedInsideGroup++;
      previous = next.value.cursor;
    }
    await c.close();
    assert.equal(seen.size, sim.totals.vulnerabilities);
    assert.ok(interruptedInsideGroup > 0, "some restarts began inside a same-millisecond group");
  });

  test("seen-ids boundary keeps the last date and drops the rows already handed on", async () => {
    fresh();
    const c = connector({ boundary: "seen-ids", pageSize: 50 });
    const { records, cursor } = await collect(c, "vulnerability");
    const lastDate = records.at(-1)?.detected_date as string;
    assert.equal(cursor?.timestamp, lastDate);
    const atLast = records.filter((r) => r.detected_date === lastDate).map(ticket);
    assert.deepEqual([...(cursor?.idsAtTimestamp ?? [])].sort(), atLast.sort());
    sim.resetStats();
    const again = await collect(c, "vulnerability", cursor);
    await c.close();
    assert.equal(again.records.length, 0);
    assert.equal(sim.stats.recent[0]?.query.stime, lastDate);
  });

  test("devices: the whole inventory by MAC; only the last page moves the cursor to the poll start", async () => {
    fresh();
    const c = connector({ pageSize: 500, deviceLookbackSeconds: 365 * 86_400 });
    const { pages, records } = await collect(c, "device");
    assert.equal(records.length, DEVICES);
    const macs = records.map((r) => r.deviceid as string);
    assert.deepEqual(macs, [...macs].sort());
    assert.equal(new Set(macs).size, DEVICES);
    assert.deepEqual(pages[0]?.cursor, { timestamp: null, idsAtTimestamp: [] });
    assert.deepEqual(pages.at(-1)?.cursor, { timestamp: new Date(NOW).toISOString(), idsAtTimestamp: [] });
    const q = sim.stats.recent[0]?.query ?? {};
    assert.equal(q.detail, "true");
    assert.equal(q.sortfield, "MAC");
    assert.equal(q.stime, new Date(NOW - 365 * 86_400_000).toISOString());
    sim.resetStats();
    const again = await collect(c, "device", pages.at(-1)?.cursor);
    await c.close();
    assert.equal(again.records.length, 0, "nothing was active since the previous poll");
    assert.equal(sim.stats.recent[0]?.query.stime, new Date(NOW).toISOString());
  });

  test("a default-credential alert maps to medsoc.credential with user name and fingerprint", async () => {
    fresh();
    const c = connector({ pageSize: 1000, includeResolvedAlerts: true });
    const { records } = await collect(c, "alert");
    await c.close();
    assert.equal(records.length, sim.totals.alerts);
    const cred = records.filter((r) => /fingerprint/.test(String(r.description)));
    assert.ok(cred.length > 0);
    for (const r of cred) {
      const doc = mapRecord("panw_iot", "alert", r, { ingestedAt: "2025-04-01T00:00:00.000Z" });
      const credential = (doc.medsoc as Record<string, Record<string, unknown>>).credential;
      const mac = (doc.host as { mac: string[] }).mac[0];
      const k = Array.from({ length: DEVICES }, (_, i) => i).find(
        (i) => sim.fleet.facts(i).mac.replaceAll(":", "-") === mac,
      ) as number;
      const f = sim.fleet.facts(k);
      assert.equal(credential?.username, f.credential.username);
      assert.equal(credential?.fingerprint, f.credential.fingerprint);
      assert.equal(
        credential?.observed,
        { default: "default", shared: "shared", hard_coded: "hard_coded", unique: "weak" }[f.credential.kind],
      );
    }
  });
});

describe("panw_iot connector: failure modes", () => {
  test("one 401 is retried once and the poll completes", async () => {
    fresh({ unauthorizedOn: [1] });
    const c = connector();
    const { records } = await collect(c, "vulnerability");
    await c.close();
    assert.equal(records.length, sim.totals.vulnerabilities);
    assert.equal(sim.stats.failures.unauthorized, 1);
  });

  test("wrong keys are an AuthError after one retry; a wrong tenant is an AuthError at once", async () => {
    fresh();
    const c = connector({ accessKey: "ak-wrong-0000000000" });
    await assert.rejects(collect(c, "alert"), (e: unknown) => {
      assert.ok(e instanceof AuthError);
      assert.match((e as Error).message, /refused the access keys twice \(HTTP 401\)/);
      assert.ok(!(e as Error).message.includes("ak-wrong-0000000000"));
      return true;
    });
    await c.close();
    assert.equal(requests("alert/list"), 2);
    fresh();
    const other = connector({ customerId: "someone-else" });
    await assert.rejects(other.validate(), (e: unknown) => {
      assert.ok(e instanceof AuthError);
      assert.match((e as Error).message, /HTTP 403/);
      return true;
    });
    await other.close();
    assert.equal(requests("device/list"), 1);
  });

  test("429 honours Retry-After before the next attempt", async () => {
    fresh({ rateLimitEvery: 2, retryAfterSeconds: 0.25 });
    const c = connector({ pageSize: 200 });
    const { records } = await collect(c, "vulnerability");
    await c.close();
    assert.equal(records.length, sim.totals.vulnerabilities);
    const recent = sim.stats.recent;
    const limited = recent.findIndex((r) => r.status === 429);
    assert.ok(limited >= 0);
    const waited = (recent[limited + 1]?.at ?? 0) - (recent[limited]?.at ?? 0);
    assert.ok(waited >= 250, `waited ${waited} ms after Retry-After: 0.25`);
  });

  test("429 on every attempt ends in RateLimitedError", async () => {
    fresh({ rateLimitEvery: 1, retryAfterSeconds: 0.02 });
    const c = connector({ retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 } });
    await assert.rejects(collect(c, "alert"), RateLimitedError);
    await c.close();
    assert.equal(requests("alert/list"), 2);
  });

  test("5xx, malformed JSON and HTML 502s are retried; a persistent 500 is a RetryableError", async () => {
    fresh({ serverErrorEvery: 4, malformedJsonOn: [2], htmlBadGatewayOn: [6] });
    let c = connector();
    const { records } = await collect(c, "vulnerability");
    await c.close();
    assert.equal(records.length, sim.totals.vulnerabilities);
    assert.equal(sim.stats.failures.malformed_json, 1);
    assert.equal(sim.stats.failures.bad_gateway_html, 1);
    assert.ok((sim.stats.failures.server_error ?? 0) >= 1);
    fresh({ serverErrorEvery: 1 });
    c = connector({ retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
    await assert.rejects(collect(c, "alert"), (e: unknown) => {
      assert.ok(e instanceof RetryableError && !(e instanceof RateLimitedError));
      assert.match((e as Error).message, /^fetching panw iot alert page 1: HTTP 500: Internal server error/);
      return true;
    });
    await c.close();
    assert.equal(requests("alert/list"), 3);
  });

  test("a 4xx is a PermanentError with the vendor's message and no retry", async () => {
    fresh();
    const c = connector({ baseUrl: `${sim.url}/pub/v4.0/nested` });
    await assert.rejects(collect(c, "alert"), (e: unknown) => {
      assert.ok(e instanceof PermanentError && !(e instanceof AuthError));
      assert.match((e as Error).message, /HTTP 404: not found: nested\/pub\/v4\.0\/alert\/list/);
      return true;
    });
    await c.close();
    assert.equal(sim.stats.recent.length, 1);
  });

  test("type drift passes through untouched and maps to one type per field", async () => {
    fresh({ typeDrift: true });
    const c = connector({ pageSize: 1000 });
    const vulns = (await collect(c, "vulnerability")).records;
    const devices = (await collect(c, "device")).records;
    await c.close();
    assert.equal(vulns.length, sim.totals.vulnerabilities, "+00:00 dates sort and cursor like Z dates");
    assert.ok(vulns.some((r) => String(r.detected_date).endsWith("+00:00")));
    assert.equal(devices.length, DEVICES);
    assert.ok(devices.some((r) => typeof r.risk_score === "string"));
    for (const r of vulns.filter((v) => typeof v.cvss === "string")) {
      const doc = mapRecord("panw_iot", "vulnerability", r, { ingestedAt: "2025-04-01T00:00:00.000Z" });
      assert.equal(typeof (doc.vulnerability as { score: { base: unknown } }).score.base, "number");
      assert.ok(String(doc["@timestamp"]).endsWith("Z"));
    }
  });

  test("TLS verification is on by default and the keys redact themselves", () => {
    const cfg = panwIotConfigSchema.parse({
      baseUrl: "https://acme.iot.paloaltonetworks.com",
      customerId: "acme",
      keyId: "kid-123456",
      accessKey: "ak-123456",
    });
    assert.equal(cfg.tls.verify, true);
    assert.equal(
      (agentOptions(cfg.tls).connect as { rejectUnauthorized?: boolean }).rejectUnauthorized,
      true,
    );
    const text = JSON.stringify(cfg);
    assert.ok(!text.includes("kid-123456") && !text.includes("ak-123456"));
    assert.throws(() => panwIotConfigSchema.parse({ ...cfg, keyId: "k", accessKey: "a", pageSize: 1001 }));
  });
});
