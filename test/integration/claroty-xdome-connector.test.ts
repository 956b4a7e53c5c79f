/**
 * The Claroty xDome connector against the loopback xDome simulator: query bodies, paging to the
 * end, cursors with ties at the boundary, and one test per failure mode. Needs nothing but loopback.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isoToMicros } from "../../connectors/boundary-cursor.ts";
import {
  createXDomeConnector,
  type XDomeConfigInput,
  xdomeConfigSchema,
} from "../../connectors/claroty_xdome/index.ts";
import { agentOptions } from "../../connectors/http.ts";
import { createConnector, findConnector } from "../../connectors/index.ts";
import type { Connector, Cursor, Page } from "../../connectors/types.ts";
import { AuthError, PermanentError, RateLimitedError, RetryableError } from "../../core/errors.ts";
import { mapRecord } from "../../mappings/index.ts";
import {
  startXDomeSimulator,
  type XDomeFailures,
  type XDomeSimulator,
} from "../../simulators/claroty_xdome/server.ts";
import { DEFAULT_START_MS } from "../../simulators/fleet/fleet.ts";

const DEVICES = 1500;
let sim: XDomeSimulator;

before(async () => {
  sim = await startXDomeSimulator({ devices: DEVICES, seed: 42, startMs: DEFAULT_START_MS });
});
after(async () => {
  await sim.stop();
});

function connector(overrides: Partial<XDomeConfigInput> = {}): Connector {
  return createXDomeConnector(
    xdomeConfigSchema.parse({
      baseUrl: sim.url,
      apiToken: sim.token,
      initialLookbackSeconds: 0,
      pageSize: 200,
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
      ...overrides,
    }),
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

function fresh(failures: XDomeFailures = {}) {
  sim.setFailures(failures);
  sim.resetStats();
}

const liveDevices = () => DEVICES - sim.totals.retiredDevices;
const pairId = (r: Record<string, unknown>) => `${r.alert_id}|${r.device_uid}`;
const apiRequests = (path: string) => sim.stats.requests[`/api/v1/${path}`] ?? 0;

describe("claroty_xdome connector: queries, paging and cursors", () => {
  test("the connector is registered with its four streams", () => {
    const def = findConnector("claroty_xdome");
    assert.deepEqual(def?.streams, ["device", "alert", "vulnerability", "event"]);
    const c = createConnector("claroty_xdome", { baseUrl: sim.url, apiToken: sim.token });
    assert.equal(c.source, "claroty_xdome");
  });

  test("devices: every live device once across pages, POST bodies as documented", async () => {
    fresh();
    const c = connector();
    const { pages, records, cursor } = await collect(c, "device");
    await c.close();
    assert.equal(records.length, liveDevices());
    assert.equal(new Set(records.map((r) => r.uid)).size, records.length);
    assert.ok(
      records.every((r) => r.retired === false),
      "retired devices are filtered out",
    );
    assert.equal(pages.length, Math.ceil(liveDevices() / 200));
    const first = sim.stats.recent[0];
    assert.equal(first?.method, "POST");
    assert.equal(first?.path, "/api/v1/devices/");
    const body = first?.body as Record<string, unknown>;
    assert.deepEqual(body.sort_by, [{ field: "updated_time", order: "asc" }]);
    assert.equal(body.limit, 200);
    assert.equal(body.offset, 0);
    assert.deepEqual(body.filter_by, { field: "retired", operation: "in", value: [false] });
    for (const f of [
      "uid",
      "mac_list",
      "fda_class",
      "phi",
      "battery_level",
      "equipment_class",
      "updated_time",
    ])
      assert.ok((body.fields as string[]).includes(f), f);
    assert.deepEqual(
      sim.stats.recent.map((r) => (r.body as { offset: number }).offset),
      pages.map((_, k) => k * 200),
    );
    // The cursor is the newest updated_time with the devices seen at it.
    const last = records.at(-1) as Record<string, unknown>;
    assert.equal(Date.parse(cursor?.timestamp ?? ""), Date.parse(last.updated_time as string));
    assert.ok(cursor?.idsAtTimestamp.includes(last.uid as string));
    // Medical fields arrive untouched.
    const pump = records.find((r) => r.device_type === "Infusion Pump") as Record<string, unknown>;
    assert.equal(pump.fda_class, 2);
    assert.equal(pump.phi, true);
    assert.equal(pump.consequence_of_failure, "Life Support");
    assert.equal(typeof pump.battery_level, "number");
  });

  test("a second poll from the final cursor uses greater_or_equal and returns nothing", async () => {
    fresh();
    const c = connector();
    const { cursor } = await collect(c, "device");
    sim.resetStats();
    const again = await collect(c, "device", cursor);
    await c.close();
    assert.equal(again.records.length, 0);
    const body = sim.stats.recent[0]?.body as { filter_by: { operation: string; operands: unknown[] } };
    assert.equal(body.filter_by.operation, "and");
    assert.deepEqual(body.filter_by.operands[0], {
      field: "updated_time",
      operation: "greater_or_equal",
      value: cursor?.timestamp,
    });
  });

  test("alerts: one record per (alert, device); an alert on two devices yields two records", async () => {
    fresh();
    const c = connector({ pageSize: 7 });
    const { records, cursor } = await collect(c, "alert");
    const again = await collect(c, "alert", cursor);
    await c.close();
    assert.ok(records.length > 20, `${records.length} relations`);
    assert.equal(new Set(records.map(pairId)).size, records.length, "no (alert, device) pair twice");
    const byAlert = new Map<unknown, number>();
    for (const r of records) byAlert.set(r.alert_id, (byAlert.get(r.alert_id) ?? 0) + 1);
    assert.ok(
      [...byAlert.values()].some((n) => n === 2),
      "a port scan touches two devices",
    );
    assert.equal(again.records.length, 0);
    assert.equal(sim.stats.recent[0]?.path, "/api/v1/device_alert_relations/");
  });

  test("a cursor inside a group of equal timestamps loses nothing and duplicates nothing", async () => {
    fresh();
    const c = connector({ pageSize: 1000 });
    const all = (await collect(c, "alert")).records;
    // A timestamp shared by several relations (same device time or a two-device alert).
    const times = all.map((r) => isoToMicros(r.device_alert_updated_time) as number);
    const j = times.findIndex((t, k) => k > 0 && t === times[k + 1]);
    assert.ok(j > 0, "the fleet has ties");
    const cursor: Cursor = {
      timestamp: all[j]?.device_alert_updated_time as string,
      idsAtTimestamp: [pairId(all[j] as Record<string, unknown>)],
    };
    // The boundary group may hold records before j as well: list what the cursor has not seen.
    const expected = all
      .filter(
        (_r, k) =>
          (times[k] as number) > (times[j] as number) || ((times[k] as number) === times[j] && k !== j),
      )
      .map(pairId);
    const rest = await collect(c, "alert", cursor);
    await c.close();
    assert.deepEqual(rest.records.map(pairId), expected);
  });

  test("restarting from the cursor of every page hands each relation on exactly once", async () => {
    fresh();
    const c = connector({ pageSize: 3 });
    let previous: Cursor | null = null;
    const seen = new Set<string>();
    for (let round = 0; round < 500; round++) {
      const it = c.poll("alert", previous)[Symbol.asyncIterator]();
      const next = await it.next();
      await it.return?.();
      if (next.done) break;
      for (const r of next.value.records as Record<string, unknown>[]) {
        assert.ok(!seen.has(pairId(r)), `${pairId(r)} handed on twice`);
        seen.add(pairId(r));
      }
      previous = next.value.cursor;
    }
    await c.close();
    const liveRelations = (await collect(connector({ pageSize: 1000 }), "alert")).records.length;
    assert.equal(seen.size, liveRelations);
  });

  test("vulnerabilities and OT events: every record once, medical fields on every relation", async () => {
    fresh();
    const c = connector({ pageSize: 500 });
    const vulns = await collect(c, "vulnerability");
    const events = await collect(c, "event");
    await c.close();
    const ids = new Set(vulns.records.map((r) => `${r.vulnerability_id}|${r.device_uid}`));
    assert.equal(ids.size, vulns.records.length);
    assert.ok(vulns.records.length > 0.9 * sim.totals.vulnerabilityRelations);
    const pump = vulns.records.find((r) => r.device_type === "Infusion Pump") as Record<string, unknown>;
    for (const f of [
      "device_fda_class",
      "device_phi",
      "device_battery_level",
      "device_consequence_of_failure",
    ])
      assert.ok(f in pump, f);
    assert.equal(events.records.length, sim.totals.events);
    assert.equal(new Set(events.records.map((r) => r.event_id)).size, sim.totals.events);
    const vBody = sim.stats.recent.find((r) => r.path === "/api/v1/device_vulnerability_relations/")
      ?.body as {
      sort_by: unknown;
    };
    assert.deepEqual(vBody.sort_by, [{ field: "device_vulnerability_detection_date", order: "asc" }]);
  });

  test("a default-credential alert maps to medsoc.credential with user name and fingerprint", async () => {
    fresh();
    const c = connector({ pageSize: 1000 });
    const { records } = await collect(c, "alert");
    await c.close();
    const cred = records.filter((r) => r.alert_type_name === "Weak/Default Password");
    assert.ok(cred.length > 0, "the fleet produces default-credential logins");
    for (const r of cred) {
      const f = sim.fleet.facts(sim.fleet.alertFacts(Number(r.alert_id) - 1).device);
      const doc = mapRecord("claroty_xdome", "alert", r, { ingestedAt: "2025-04-01T00:00:00.000Z" });
      const credential = (doc.medsoc as Record<string, unknown>).credential as Record<string, unknown>;
      assert.equal(credential.username, f.credential.username);
      assert.equal(credential.fingerprint, f.credential.fingerprint);
      const expected = { default: "default", shared: "shared", hard_coded: "hard_coded", unique: "weak" }[
        f.credential.kind
      ];
      assert.equal(credential.observed, expected);
      const clinical = (doc.medsoc as { clinical?: Record<string, unknown> }).clinical;
      assert.equal(clinical?.fda_class, f.fdaClass ?? undefined);
      assert.equal(clinical?.consequence_of_failure, f.consequenceOfFailure);
    }
  });
});

describe("claroty_xdome connector: failure modes", () => {
  test("one 401 is retried once with the same token and the poll completes", async () => {
    fresh({ unauthorizedOn: [2] });
    const c = connector();
    const { records } = await collect(c, "device");
    await c.close();
    assert.equal(records.length, liveDevices());
    assert.equal(sim.stats.failures.unauthorized, 1);
  });

  test("a revoked token is an AuthError after exactly one retry, without the token in the message", async () => {
    fresh({ revoked: true });
    const c = connector();
    await assert.rejects(collect(c, "device"), (e: unknown) => {
      assert.ok(e instanceof AuthError);
      assert.match((e as Error).message, /claroty xdome refused the API token twice \(HTTP 401\)/);
      assert.ok(!(e as Error).message.includes(sim.token));
      return true;
    });
    await assert.rejects(c.validate(), AuthError);
    await c.close();
    assert.equal(apiRequests("devices/"), 2);
  });

  test("429 honours Retry-After before the next attempt", async () => {
    fresh({ rateLimitEvery: 3, retryAfterSeconds: 0.3 });
    const c = connector();
    const { records } = await collect(c, "device");
    await c.close();
    assert.equal(records.length, liveDevices());
    const recent = sim.stats.recent;
    const limited = recent.findIndex((r) => r.status === 429);
    assert.ok(limited >= 0);
    const waited = (recent[limited + 1]?.at ?? 0) - (recent[limited]?.at ?? 0);
    assert.ok(waited >= 300, `waited ${waited} ms after Retry-After: 0.3`);
  });

  test("429 on every attempt ends in RateLimitedError carrying the delay", async () => {
    fresh({ rateLimitEvery: 1, retryAfterSeconds: 0.05 });
    const c = connector({ retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    await assert.rejects(collect(c, "alert"), (e: unknown) => {
      assert.ok(e instanceof RateLimitedError);
      assert.equal(e.retryAfterMs, 50);
      return true;
    });
    await c.close();
    assert.equal(apiRequests("device_alert_relations/"), 3);
  });

  test("5xx is retried with backoff; a persistent 500 ends in RetryableError", async () => {
    fresh({ serverErrorEvery: 3, serverErrorOn: [1] });
    let c = connector();
    const { records } = await collect(c, "device");
    await c.close();
    assert.equal(records.length, liveDevices());
    assert.ok((sim.stats.failures.server_error ?? 0) >= 2);
    fresh({ serverErrorEvery: 1 });
    c = connector({ retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
    await assert.rejects(collect(c, "event"), (e: unknown) => {
      assert.ok(e instanceof RetryableError && !(e instanceof RateLimitedError));
      assert.match(
        (e as Error).message,
        /^fetching claroty xdome event page 1: HTTP 500: Internal server error/,
      );
      return true;
    });
    await c.close();
    assert.equal(apiRequests("ot_activity_events/"), 3);
  });

  test("malformed JSON and an HTML 502 from a proxy are retried", async () => {
    fresh({ malformedJsonOn: [2], htmlBadGatewayOn: [4, 5] });
    const c = connector();
    const { records } = await collect(c, "device");
    await c.close();
    assert.equal(records.length, liveDevices());
    assert.equal(sim.stats.failures.malformed_json, 1);
    assert.equal(sim.stats.failures.bad_gateway_html, 2);
  });

  test("a 422 FastAPI body is a PermanentError with the vendor's message and no retry", async () => {
    fresh();
    // The simulator cannot filter on vulnerability_last_updated: a real validation error.
    const c = connector({ vulnerabilityCursorField: "vulnerability_last_updated" });
    await assert.rejects(collect(c, "vulnerability"), (e: unknown) => {
      assert.ok(e instanceof PermanentError && !(e instanceof AuthError));
      assert.match(
        (e as Error).message,
        /^fetching claroty xdome vulnerability page 1: HTTP 422: body\.sort_by\.0: sorting on vulnerability_last_updated asc is not supported/,
      );
      return true;
    });
    await c.close();
    assert.equal(apiRequests("device_vulnerability_relations/"), 1);
  });

  test("type drift passes through untouched and maps to one type per field", async () => {
    fresh({ typeDrift: true });
    const c = connector({ pageSize: 1000 });
    const devices = (await collect(c, "device")).records;
    const alerts = (await collect(c, "alert")).records;
    await c.close();
    assert.equal(devices.length, liveDevices());
    const drifted = devices.filter((r) => typeof r.risk_score_points === "string");
    assert.ok(drifted.length > 100);
    assert.ok(devices.some((r) => (r.ip_list as string[])[0]?.includes(" / (")));
    assert.ok(devices.some((r) => typeof r.fda_class === "string" && r.fda_class.startsWith("Class ")));
    assert.ok(alerts.some((r) => typeof r.alert_id === "string"));
    for (const r of drifted) {
      const doc = mapRecord("claroty_xdome", "device", r, { ingestedAt: "2025-04-01T00:00:00.000Z" });
      const host = doc.host as { ip: string[]; risk: { static_score: unknown } };
      assert.equal(typeof host.risk.static_score, "number");
      assert.ok(!host.ip[0]?.includes(" "), host.ip[0]);
      const clinical = (doc.medsoc as { clinical?: Record<string, unknown> }).clinical;
      if (r.fda_class !== null) assert.equal(typeof clinical?.fda_class, "number");
      if (r.battery_level !== null) assert.equal(typeof clinical?.battery_level, "number");
      if (r.phi !== null) assert.equal(typeof clinical?.phi, "boolean");
    }
  });

  test("a response without the record array is a PermanentError naming the key", async () => {
    fresh();
    const c = createXDomeConnector(
      xdomeConfigSchema.parse({
        baseUrl: `${sim.url}/api/v1`,
        apiToken: sim.token,
        initialLookbackSeconds: 0,
      }),
    );
    // `/api/v1` in the base URL is accepted; an unknown stream is a PermanentError.
    await assert.rejects(collect(c, "assets"), /unknown stream "assets"/);
    const { records } = await collect(c, "event");
    assert.equal(records.length, sim.totals.events);
    await c.close();
  });

  test("TLS verification is on by default and the token redacts itself", () => {
    const cfg = xdomeConfigSchema.parse({ baseUrl: "https://api.claroty.com", apiToken: "tok-123456" });
    assert.equal(cfg.tls.verify, true);
    assert.equal(
      (agentOptions(cfg.tls).connect as { rejectUnauthorized?: boolean }).rejectUnauthorized,
      true,
    );
    assert.ok(!JSON.stringify(cfg).includes("tok-123456"));
    assert.throws(() => xdomeConfigSchema.parse({ baseUrl: "https://x", apiToken: "t", pageSize: 6000 }));
    assert.throws(() => xdomeConfigSchema.parse({ baseUrl: "https://x", apiToken: "t", unknown: 1 }));
  });
});
