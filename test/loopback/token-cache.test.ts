import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { JsonClient, UnauthorizedError } from "../../connectors/http.ts";
import {
  type IssuedToken,
  jwtExpiry,
  reauthRule,
  retryOnceOn401,
  TokenCache,
} from "../../connectors/token-cache.ts";
import { AuthError, RetryableError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";

/** A token source that counts its calls and hands out `t1`, `t2`, … valid for `lifetimeMs`. */
function source(clock: { now: number }, lifetimeMs = 60_000) {
  const calls: number[] = [];
  let gate: Promise<void> = Promise.resolve();
  return {
    calls,
    hold(): () => void {
      let open!: () => void;
      gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      return open;
    },
    fetch: async (): Promise<IssuedToken> => {
      calls.push(clock.now);
      await gate;
      return { value: `t${calls.length}`, expiresAt: clock.now + lifetimeMs };
    },
  };
}

const unauthorized = () => new UnauthorizedError("GET /x: HTTP 401: token expired");

describe("TokenCache", () => {
  test("concurrent callers share one token request (single flight)", async () => {
    const clock = { now: 1_000_000 };
    const src = source(clock);
    const cache = new TokenCache({ fetch: src.fetch, skewMs: 10_000, now: () => clock.now });
    const open = src.hold();
    const waiting = Promise.all(Array.from({ length: 5 }, () => cache.current()));
    await new Promise((r) => setImmediate(r));
    assert.equal(src.calls.length, 1, "only one request while the first is in flight");
    open();
    assert.deepEqual(await waiting, ["t1", "t1", "t1", "t1", "t1"]);
    assert.equal(await cache.current(), "t1", "served from the cache afterwards");
    assert.equal(src.calls.length, 1);
  });

  test("replaces the token proactively once it is within the skew of its expiry", async () => {
    const clock = { now: 1_000_000 };
    const src = source(clock, 60_000);
    const cache = new TokenCache({ fetch: src.fetch, skewMs: 10_000, now: () => clock.now });
    assert.equal(await cache.current(), "t1");
    clock.now += 49_999; // expires in 10.001 s: still outside the skew
    assert.equal(await cache.current(), "t1");
    assert.equal(src.calls.length, 1);
    clock.now += 1; // exactly the skew before expiry: replaced before the vendor refuses it
    assert.equal(await cache.current(), "t2");
    assert.equal(src.calls.length, 2);
    assert.equal(cache.token?.expiresAt, clock.now + 60_000);
  });

  test("a failed request reaches every waiting caller and the next call tries again", async () => {
    let n = 0;
    const cache = new TokenCache({
      fetch: async () => {
        n++;
        await new Promise((r) => setImmediate(r));
        if (n === 1) throw new RetryableError("token endpoint down");
        return { value: "good", expiresAt: Number.POSITIVE_INFINITY };
      },
      skewMs: 0,
    });
    const results = await Promise.allSettled([cache.current(), cache.current()]);
    assert.deepEqual(
      results.map((r) => r.status),
      ["rejected", "rejected"],
    );
    assert.equal(n, 1);
    assert.equal(await cache.current(), "good");
    assert.equal(n, 2);
  });

  test("refreshAfter401 replaces only the token that was refused, once for concurrent callers", async () => {
    const clock = { now: 0 };
    const src = source(clock);
    const cache = new TokenCache({ fetch: src.fetch, skewMs: 0, now: () => clock.now });
    const stale = await cache.current();
    const open = src.hold();
    const both = Promise.all([
      cache.refreshAfter401(undefined, stale),
      cache.refreshAfter401(undefined, stale),
    ]);
    await new Promise((r) => setImmediate(r));
    open();
    assert.deepEqual(await both, ["t2", "t2"]);
    assert.equal(src.calls.length, 2, "one request for both callers");
    // A caller still holding t1 gets t2, which another caller already obtained: no new request.
    assert.equal(await cache.refreshAfter401(undefined, stale), "t2");
    assert.equal(src.calls.length, 2);
  });

  test("recent() keeps the latest tokens for the scrubber", async () => {
    const clock = { now: 0 };
    const src = source(clock);
    const cache = new TokenCache({ fetch: src.fetch, skewMs: 0, keep: 2, now: () => clock.now });
    for (let i = 0; i < 3; i++) await cache.refresh();
    assert.deepEqual(cache.recent(), ["t2", "t3"]);
  });
});

describe("the one-forced-re-auth rule", () => {
  test("a 401 replaces the token once and retries the same request with the new token", async () => {
    const clock = { now: 0 };
    const src = source(clock);
    const cache = new TokenCache({ fetch: src.fetch, skewMs: 0, now: () => clock.now });
    const sent: string[] = [];
    const logged: string[] = [];
    const result = await cache.withToken(
      undefined,
      async (token) => {
        sent.push(token);
        if (token === "t1") throw unauthorized();
        return `ok with ${token}`;
      },
      {
        beforeRetry: (error) => {
          logged.push(error.message);
        },
        refused: (error) => new AuthError("refused twice", { cause: error }),
      },
    );
    assert.equal(result, "ok with t2");
    assert.deepEqual(sent, ["t1", "t2"]);
    assert.deepEqual(logged, ["GET /x: HTTP 401: token expired"]);
    assert.equal(src.calls.length, 2);
  });

  test("a second 401 is the connector's AuthError, with no third attempt", async () => {
    const clock = { now: 0 };
    const src = source(clock);
    const cache = new TokenCache({ fetch: src.fetch, skewMs: 0, now: () => clock.now });
    let attempts = 0;
    await assert.rejects(
      cache.withToken(
        undefined,
        async () => {
          attempts++;
          throw unauthorized();
        },
        {
          beforeRetry: () => {},
          refused: (error) =>
            new AuthError("ctx: vendor refused a freshly issued token (HTTP 401)", { cause: error }),
        },
      ),
      (error: unknown) =>
        error instanceof AuthError &&
        !(error instanceof UnauthorizedError) &&
        error.message === "ctx: vendor refused a freshly issued token (HTTP 401)" &&
        error.cause instanceof UnauthorizedError,
    );
    assert.equal(attempts, 2);
    assert.equal(src.calls.length, 2, "the first token and one forced replacement");
  });

  test("other errors pass through without a retry or a new token", async () => {
    const clock = { now: 0 };
    const src = source(clock);
    const cache = new TokenCache({ fetch: src.fetch, skewMs: 0, now: () => clock.now });
    let attempts = 0;
    await assert.rejects(
      cache.withToken(
        undefined,
        async () => {
          attempts++;
          throw new RetryableError("HTTP 503");
        },
        { beforeRetry: () => assert.fail("no retry for a 503 here"), refused: () => new Error("unused") },
      ),
      RetryableError,
    );
    assert.equal(attempts, 1);
    assert.equal(src.calls.length, 1);
  });

  test("static credentials: one plain retry; beforeRetry throwing gives up at once", async () => {
    let attempts = 0;
    const value = await retryOnceOn401(
      async () => {
        attempts++;
        if (attempts === 1) throw unauthorized();
        return "second time lucky";
      },
      { beforeRetry: () => {}, refused: () => new Error("unused") },
    );
    assert.equal(value, "second time lucky");
    attempts = 0;
    await assert.rejects(
      retryOnceOn401(
        async () => {
          attempts++;
          throw unauthorized();
        },
        {
          beforeRetry: (error) => {
            throw new AuthError("basic credentials refused (HTTP 401)", { cause: error });
          },
          refused: () => new Error("unused"),
        },
      ),
      /basic credentials refused/,
    );
    assert.equal(attempts, 1);
  });
});

test("reauthRule logs the first 401 with its context and words the second as the connector's AuthError", async () => {
  const lines: unknown[][] = [];
  const log = { info: (...args: unknown[]) => lines.push(args) } as unknown as Logger;
  let attempts = 0;
  await assert.rejects(
    retryOnceOn401(
      async () => {
        attempts++;
        throw unauthorized();
      },
      reauthRule(log, "vendorx", "fetching page 2", {
        retrying: "VendorX refused the token; re-authenticating once.",
        refused: "fetching page 2: vendorx refused a freshly issued token (HTTP 401)",
      }),
    ),
    (error: unknown) =>
      error instanceof AuthError &&
      error.message === "fetching page 2: vendorx refused a freshly issued token (HTTP 401)" &&
      error.cause instanceof UnauthorizedError,
  );
  assert.equal(attempts, 2);
  assert.deepEqual(lines, [
    [
      { connector: "vendorx", context: "fetching page 2" },
      "VendorX refused the token; re-authenticating once.",
    ],
  ]);
});

describe("TokenCache over HTTP", () => {
  let server: Server;
  let base: string;
  let issued = 0;
  let refuseNext = 0;
  const seen: string[] = [];

  before(async () => {
    server = createServer((req, res) => {
      if (req.url === "/token") {
        issued++;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ access_token: `tok-${issued}` }));
        return;
      }
      seen.push(String(req.headers.authorization));
      if (refuseNext > 0) {
        refuseNext--;
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ message: "token expired" }));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ok: true }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test("a real 401 from the server drives exactly one re-authentication", async () => {
    const http = new JsonClient({ component: "test", retry: { maxAttempts: 1 } });
    const cache = new TokenCache({
      fetch: async (signal) => {
        const res = await http.send({ method: "POST", url: `${base}/token`, context: "token", signal });
        return { value: (res.body as { access_token: string }).access_token, expiresAt: Date.now() + 60_000 };
      },
      skewMs: 1000,
    });
    const get = () =>
      cache.withToken(
        undefined,
        async (token) =>
          (
            await http.send({
              method: "GET",
              url: `${base}/data`,
              headers: { authorization: token },
              context: "get",
            })
          ).body,
        { beforeRetry: () => {}, refused: (e) => new AuthError("get: refused twice", { cause: e }) },
      );
    try {
      assert.deepEqual(await get(), { ok: true });
      refuseNext = 1;
      assert.deepEqual(await get(), { ok: true });
      assert.deepEqual(seen, ["tok-1", "tok-1", "tok-2"]);
      refuseNext = 2;
      await assert.rejects(get(), /get: refused twice/);
      assert.deepEqual(seen.slice(3), ["tok-2", "tok-3"]);
      assert.equal(issued, 3);
    } finally {
      await http.close();
    }
  });
});

test("jwtExpiry reads `exp` with or without Bearer and ignores opaque tokens", () => {
  const payload = Buffer.from(JSON.stringify({ exp: 1_800_000_000 })).toString("base64url");
  const jwt = `eyJhbGciOiJIUzI1NiJ9.${payload}.sig`;
  assert.equal(jwtExpiry(jwt), 1_800_000_000_000);
  assert.equal(jwtExpiry(`Bearer ${jwt}`), 1_800_000_000_000);
  assert.equal(jwtExpiry("opaque"), undefined);
  assert.equal(jwtExpiry("a.!!!.c"), undefined);
});
