/**
 * The input-hygiene cases of issue 13 (items 4–6), each reproduced as it was reported: a Nozomi
 * `__proto__` object copied into the document, 10,000-deep arrays ending in a stack overflow, a
 * 30-digit id rounded to a double, a deep push body answered 503, plus the syslog structured-data
 * key that wrote to `Object.prototype`. Needs nothing but loopback.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { JsonClient } from "../../connectors/http.ts";
import {
  createHttpPushReceiver,
  MalformedBodyError,
  parsePushBody,
} from "../../connectors/http-push/index.ts";
import { parseCef } from "../../connectors/syslog/cef.ts";
import { parseLeef } from "../../connectors/syslog/leef.ts";
import { parseSyslog } from "../../connectors/syslog/syslog.ts";
import { httpPushReceiverSchema } from "../../core/config.ts";
import { PermanentError } from "../../core/errors.ts";
import { exceedsDepth, JsonInputError, parseJson } from "../../core/json.ts";
import { MappingError, mapLine, mapRecord } from "../../monitors/index.ts";
import { createCursorStore } from "../../worker/cursors/index.ts";
import { Metrics } from "../../worker/metrics.ts";
import { Pipeline } from "../../worker/pipeline.ts";
import { createQueueDriver } from "../../worker/queue/index.ts";

const opts = { ingestedAt: "2025-06-01T00:00:00.000Z" };
const BIG = "123456789012345678901234567890";
const deepArray = (n: number) => "[".repeat(n) + "]".repeat(n);

type Doc = Record<string, unknown> & {
  event: { kind: string };
  error?: { code?: string; message?: string };
  host?: { id?: string };
};

describe("__proto__ in vendor records (item 4)", () => {
  test("a Nozomi asset's __proto__ object stays under __proto__ and injects no nozomi.asset.* field", () => {
    const doc = mapLine(
      "nozomi",
      "asset",
      '{"id":"n1","name":"pump","ip":["10.0.0.1"],"__proto__":{"injected":"yes","zone":"x"}}',
      opts,
    ) as unknown as Doc;
    const asset = (doc.nozomi as { asset: Record<string, unknown> }).asset;
    assert.equal(Object.hasOwn(asset, "injected"), false);
    assert.equal(asset.injected, undefined);
    assert.deepEqual(Object.getPrototypeOf(asset), Object.prototype);
    assert.ok(Object.hasOwn(asset, "__proto__"), "the vendor's __proto__ object is kept as data");
    const back = JSON.parse(JSON.stringify(asset)) as object;
    assert.deepEqual(Object.getOwnPropertyDescriptor(back, "__proto__")?.value, {
      injected: "yes",
      zone: "x",
    });
  });

  test("Cynerio, Asimily and Forescout copies keep own keys only", () => {
    for (const [source, stream, line] of [
      ["cynerio", "asset", '{"id":"c1","name":"p","__proto__":{"injected":1}}'],
      ["asimily", "asset", '{"deviceID":7,"__proto__":{"injected":1}}'],
      ["forescout", "host", '{"ip":"10.0.0.2","mac":"001122334455","__proto__":{"injected":1}}'],
    ] as const) {
      const text = JSON.stringify(mapLine(source, stream, line, opts));
      assert.doesNotMatch(text.replaceAll(/"__proto__":\{"injected":1\}/g, ""), /injected/, source);
    }
  });

  test("a syslog record whose extension value cannot be turned into text is mapped, not crashed (fuzz seed -1428630970)", () => {
    const line = JSON.stringify({
      format: "cef",
      syslog: { format: "rfc5424", timestamp: "2025-04-14T10:40:00.000Z", hostname: "xdome-collector" },
      cef: {
        version: "0",
        deviceVendor: "Claroty",
        deviceProduct: "xDome",
        deviceVersion: "1.0",
        deviceEventClassId: "Weak/Default Password",
        name: "Weak/Default Password",
        severity: "8",
      },
      cefCustomLabels: {},
      extensions: { toString: { toString: 0 }, externalId: "4711" },
      raw: "CEF:0|Claroty|xDome|1.0|Weak/Default Password|Weak/Default Password|8|externalId=4711",
      receivedAt: "2025-04-14T10:58:00.000Z",
    });
    for (const [source, stream] of [
      ["claroty_xdome", "alert"],
      ["nozomi", "alert"],
    ] as const) {
      const doc = mapLine(source, stream, line, opts) as { error?: { code?: string; message?: string } };
      assert.notEqual(doc.error?.code, "unexpected", doc.error?.message);
    }
  });

  test("CEF and LEEF extension keys named __proto__ are kept as data, not lost to the prototype setter", () => {
    const cef = parseCef("CEF:0|Acme|W|1|c|d|5|__proto__=kept src=10.0.0.1");
    assert.ok(Object.hasOwn(cef.extensions, "__proto__"));
    assert.equal(Object.getOwnPropertyDescriptor(cef.extensions, "__proto__")?.value, "kept");
    const leef = parseLeef("LEEF:1.0|Acme|W|1|e|__proto__=kept\tsrc=10.0.0.1");
    assert.equal(Object.getOwnPropertyDescriptor(leef.extensions, "__proto__")?.value, "kept");
    assert.equal(Object.getPrototypeOf(leef.extensions), Object.prototype);
  });

  test("RFC 5424 structured data with SD-ID __proto__ no longer writes to Object.prototype", () => {
    const h = parseSyslog(
      '<134>1 2025-03-01T10:00:00Z host app - - [__proto__ polluted="yes"] CEF:0|Claroty|xDome|1|a|b|5|src=10.0.0.1',
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const sd = h.structuredData as Record<string, Record<string, string>>;
    assert.ok(Object.hasOwn(sd, "__proto__"));
    assert.equal(Object.getOwnPropertyDescriptor(sd, "__proto__")?.value?.polluted, "yes");
  });
});

describe("depth guards count arrays (item 5)", () => {
  test("normalize: a 10,000-deep array is refused with the reason, not a stack overflow", () => {
    const doc = mapLine("nozomi", "asset", `{"id":"n2","x":${deepArray(10_000)}}`, opts) as unknown as Doc;
    assert.equal(doc.event.kind, "pipeline_error");
    assert.equal(doc.error?.code, "invalid_record");
    assert.match(doc.error?.message ?? "", /nested deeper than 64 levels/);
  });

  test("mapping a parsed record (queue path): deep arrays give MappingError invalid_record", () => {
    let v: unknown = [];
    for (let i = 0; i < 10_000; i++) v = [v];
    assert.throws(
      () => mapRecord("nozomi", "asset", { id: "n3", x: v }, opts),
      (e: unknown) => e instanceof MappingError && e.code === "invalid_record",
    );
    // 33 arrays below the record: one past the limit (objects and arrays count alike).
    let w: unknown = [];
    for (let i = 0; i < 32; i++) w = [w];
    assert.throws(() => mapRecord("nozomi", "asset", { id: "n4", x: w }, opts), MappingError);
  });

  test("parseJson refuses deep text before parsing; brackets inside strings do not count", () => {
    assert.throws(
      () => parseJson(deepArray(65)),
      (e: unknown) => e instanceof JsonInputError && e.kind === "too_deep",
    );
    assert.ok(Array.isArray(parseJson(deepArray(64))));
    assert.deepEqual(parseJson(`{"a":"${"[".repeat(500)}\\"${"{".repeat(500)}"}`), {
      a: `${"[".repeat(500)}"${"{".repeat(500)}`,
    });
    assert.equal(exceedsDepth([[[{ a: [1] }]]], 5), false);
    assert.equal(exceedsDepth([[[{ a: [1] }]]], 4), true);
    assert.equal(exceedsDepth("x", 0), false);
  });

  test("parsePushBody: a too-deep body or record is a 400-class error with the reason", () => {
    assert.throws(() => parsePushBody(`[{"a":${deepArray(10_000)}}]`), MalformedBodyError);
    assert.throws(() => parsePushBody(`[{"a":${deepArray(40)}}]`), /record 0: nested deeper than 32 levels/);
  });

  test("HTTP push: a deeply nested body gets 400 with the reason (was 503 'retry later')", async () => {
    const driver = createQueueDriver({ kind: "memory" });
    const pipeline = new Pipeline({
      driver,
      cursors: createCursorStore({ kind: "memory" }),
      sources: [],
      sinks: [],
      metrics: new Metrics(),
    });
    const receiver = createHttpPushReceiver({
      config: httpPushReceiverSchema.parse({ port: 0, tokens: { armis: "push-token-0123456789" } }),
      ingestor: pipeline,
      resolve: () => ({ type: "armis", streams: ["device"] }),
    });
    try {
      for (const body of [`[{"id":1,"a":${deepArray(10_000)}}]`, `[{"id":1,"a":${deepArray(50)}}]`]) {
        const res = await receiver.app.inject({
          method: "POST",
          url: "/v1/push/armis/device",
          headers: { authorization: "Bearer push-token-0123456789", "content-type": "application/json" },
          payload: body,
        });
        assert.equal(res.statusCode, 400, res.body);
        assert.match(res.json().error, /nested deeper than/);
      }
    } finally {
      await receiver.close();
      await pipeline.close();
      await driver.close();
    }
  });

  test("HTTP push: an ingest error that retrying cannot fix is 400, not 503", async () => {
    const receiver = createHttpPushReceiver({
      config: httpPushReceiverSchema.parse({ port: 0, tokens: { armis: "push-token-0123456789" } }),
      ingestor: {
        ingest: async () => {
          throw new PermanentError("ingesting armis/device: records cannot be serialised (x)");
        },
      },
      resolve: () => ({ type: "armis", streams: ["device"] }),
    });
    const res = await receiver.app.inject({
      method: "POST",
      url: "/v1/push/armis/device",
      headers: { authorization: "Bearer push-token-0123456789" },
      payload: '[{"id":1}]',
    });
    await receiver.close();
    assert.equal(res.statusCode, 400);
    assert.match(res.json().error, /cannot be serialised/);
  });
});

describe("integers beyond 2^53 stay exact (item 6)", () => {
  test("parseJson: unsafe integers become digit strings; safe integers and floats stay numbers", () => {
    const v = parseJson(
      `{"id":${BIG},"n":-98765432109876543210,"s":9007199254740991,"f":1.5,"t":"${BIG}"}`,
    ) as Record<string, unknown>;
    assert.deepEqual(v, { id: BIG, n: "-98765432109876543210", s: 9007199254740991, f: 1.5, t: BIG });
    assert.equal(parseJson("9007199254740993"), "9007199254740993");
  });

  test("normalize: a 30-digit Nozomi and Armis id is kept exact (was 1.2345678901234568e+29)", () => {
    const nozomi = mapLine("nozomi", "asset", `{"id":${BIG},"name":"a"}`, opts) as unknown as Doc;
    assert.equal(nozomi.host?.id, BIG);
    const a = mapLine("nozomi", "asset", `{"id":${BIG},"name":"a"}`, opts) as unknown as Doc;
    const b = mapLine(
      "nozomi",
      "asset",
      `{"id":123456789012345678901234567891,"name":"a"}`,
      opts,
    ) as unknown as Doc;
    assert.notEqual((a.medsoc as { doc_id: string }).doc_id, (b.medsoc as { doc_id: string }).doc_id);
  });

  test("push bodies keep big ids exact", () => {
    assert.deepEqual(parsePushBody(`[{"id":${BIG}}]`), [{ id: BIG }]);
    assert.deepEqual(parsePushBody(`{"id":${BIG}}\n{"id":1}`), [{ id: BIG }, { id: 1 }]);
  });

  describe("connector responses (connectors/http.ts)", () => {
    let server: Server;
    let base: string;
    let requests = 0;
    let body = "";
    before(async () => {
      server = createServer((_req, res) => {
        requests++;
        res.writeHead(200, { "content-type": "application/json" }).end(body);
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));
    const client = () =>
      new JsonClient({
        component: "test",
        retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 10 },
      });

    test("a page with a 30-digit id is parsed exactly", async () => {
      body = `{"data":[{"id":${BIG}}]}`;
      const c = client();
      const res = await c.send({ method: "GET", url: `${base}/x`, context: "fetching test page 1" });
      await c.close();
      assert.deepEqual(res.body, { data: [{ id: BIG }] });
    });

    test("a too-deep page is a permanent error after one request (no retries)", async () => {
      body = `{"data":${deepArray(10_000)}}`;
      requests = 0;
      const c = client();
      await assert.rejects(
        c.send({ method: "GET", url: `${base}/x`, context: "fetching test page 1" }),
        (e: unknown) =>
          e instanceof PermanentError && /nested deeper than 64 levels/.test((e as Error).message),
      );
      await c.close();
      assert.equal(requests, 1);
    });
  });
});
