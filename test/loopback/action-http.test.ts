/**
 * The response actions' HTTP calls go through the one retry table (`classifyResponse` in
 * core/http.ts) and the one token cache (core/token-cache.ts). The cases where the actions and the
 * connectors used to disagree are decided here (issue 14) and fail safe: a call that failed is never
 * a containment applied.
 *
 * - 403: the actions' vendors (Vault, PAN-OS, CyberArk) answer an expired session with 403, so an
 *   action signs in again once; a second 403 is final (an `AuthError`, not retried by the engine).
 * - a 4xx whose body is not JSON on a JSON call (a proxy's or load balancer's page): retryable, not
 *   the vendor's refusal; a 4xx in the vendor's format (JSON, or the text/XML the caller asked for)
 *   is a `PermanentError` with the vendor's message.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import {
  AuthError,
  isRetryable,
  PermanentError,
  RateLimitedError,
  RetryableError,
} from "../../core/errors.ts";
import { classifyResponse, retryDelay, UnauthorizedError } from "../../core/http.ts";
import { silentLogger } from "../../core/log.ts";
import { actionTokens, call, withToken } from "../../playbooks/actions/http.ts";
import type { ActionContext, RecordedCall } from "../../playbooks/actions/types.ts";

type Reply = { status: number; body?: string; type?: string; headers?: Record<string, string> };
let server: Server;
let base: string;
let next: Reply[] = [];
const seen: { path: string; auth?: string }[] = [];

function ctxOf(): { ctx: ActionContext; calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  return {
    calls,
    ctx: {
      runId: "r1",
      stepId: "s1",
      idempotencyKey: "r1-s1",
      playbookId: "test",
      dryRun: false,
      record: (c) => calls.push(c),
      log: silentLogger,
      now: () => new Date(),
    },
  };
}

before(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on("end", () => {
      seen.push({ path: req.url ?? "", auth: req.headers.authorization });
      const r = next.shift() ?? { status: 200, body: "{}" };
      res.writeHead(r.status, { "content-type": r.type ?? "application/json", ...r.headers });
      res.end(r.body ?? "");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

const get = (ctx: ActionContext, json = true) =>
  call(ctx, { system: "sim", method: "GET", url: `${base}/x`, context: "reading x", json });

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (error) {
    return error as Error;
  }
  assert.fail("expected the call to fail");
}

describe("one retry table for connectors and actions", () => {
  test("the classifier: 403 re-authenticates only where the caller's vendors use it for sessions", () => {
    assert.equal(classifyResponse(403, true), "permanent");
    assert.equal(classifyResponse(403, true, { reauthStatuses: [401, 403] }), "unauthorized");
    assert.equal(classifyResponse(401, true, { reauthStatuses: [401, 403] }), "unauthorized");
    assert.equal(classifyResponse(404, false, { reauthStatuses: [401, 403] }), "retryable");
    assert.equal(classifyResponse(404, true, { reauthStatuses: [401, 403] }), "permanent");
  });

  test("an action's 4xx with a JSON body is the vendor's refusal: permanent, with its message", async () => {
    const { ctx, calls } = ctxOf();
    next = [{ status: 404, body: JSON.stringify({ message: "Endpoint not found" }) }];
    const e = await failure(get(ctx));
    assert.ok(e instanceof PermanentError && !(e instanceof AuthError), e.message);
    assert.match(e.message, /^reading x: HTTP 404: Endpoint not found$/);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.status, 404);
  });

  test("an action's 4xx with an HTML page on a JSON call is a proxy, not the vendor: retryable", async () => {
    const { ctx } = ctxOf();
    next = [{ status: 404, type: "text/html", body: "<html><h1>404 Not Found</h1>nginx</html>" }];
    const e = await failure(get(ctx));
    assert.ok(e instanceof RetryableError, e.message);
    assert.ok(isRetryable(e));
    assert.match(e.message, /HTTP 404 with a body that is not JSON: 404 Not Found nginx/);
  });

  test("a 4xx in the text/XML format the caller asked for is the vendor's: permanent", async () => {
    const { ctx } = ctxOf();
    next = [
      { status: 400, type: "application/xml", body: '<response status="error"><msg>bad</msg></response>' },
    ];
    const e = await failure(get(ctx, false));
    assert.ok(e instanceof PermanentError, e.message);
    assert.ok(!isRetryable(e));
  });

  test("a 2xx whose JSON does not parse is never taken as applied: retryable", async () => {
    const { ctx } = ctxOf();
    next = [{ status: 200, body: '{"result": "quarant' }];
    const e = await failure(get(ctx));
    assert.ok(e instanceof RetryableError, e.message);
    // An empty 2xx (204) is success.
    next = [{ status: 204 }];
    const r = await get(ctx);
    assert.equal(r.status, 204);
  });

  test("429 carries Retry-After, and the shared backoff honours it", async () => {
    const { ctx } = ctxOf();
    next = [{ status: 429, body: "{}", headers: { "retry-after": "7" } }];
    const e = await failure(get(ctx));
    assert.ok(e instanceof RateLimitedError);
    assert.equal(e.retryAfterMs, 7000);
    const policy = { baseDelayMs: 100, maxDelayMs: 1000, random: () => 0 };
    assert.equal(retryDelay(1, e, policy), 7000, "Retry-After above the cap still wins");
    assert.equal(retryDelay(1, new RetryableError("x"), policy), 50);
    assert.equal(retryDelay(3, new RetryableError("x"), policy), 200);
    assert.equal(retryDelay(10, new RetryableError("x"), { ...policy, random: () => 1 }), 1000);
  });

  test("403 then 200: the action signs in again once through the shared token cache", async () => {
    let logins = 0;
    const tokens = actionTokens(
      async () => ({ value: `tok-${++logins}`, expiresAt: Date.now() + 60_000 }),
      0,
    );
    const { ctx } = ctxOf();
    seen.length = 0;
    next = [
      { status: 403, body: JSON.stringify({ errors: ["permission denied"] }) },
      { status: 200, body: JSON.stringify({ ok: true }) },
    ];
    const r = await withToken(tokens, ctx, (token) =>
      call(ctx, {
        system: "sim",
        method: "GET",
        url: `${base}/y`,
        headers: { authorization: token },
        context: "reading y",
        secrets: [token],
      }),
    );
    assert.deepEqual(r.body, { ok: true });
    assert.equal(logins, 2);
    assert.deepEqual(
      seen.map((s) => s.auth),
      ["tok-1", "tok-2"],
    );
    // The cached token is reused by the next step without a sign-in.
    next = [{ status: 200, body: "{}" }];
    await withToken(tokens, ctx, (token) =>
      call(ctx, {
        system: "sim",
        method: "GET",
        url: `${base}/y`,
        headers: { authorization: token },
        context: "y",
      }),
    );
    assert.equal(logins, 2);
  });

  test("403 twice: final (an AuthError the engine does not retry), never a success", async () => {
    let logins = 0;
    const tokens = actionTokens(
      async () => ({ value: `tok-${++logins}`, expiresAt: Date.now() + 60_000 }),
      0,
    );
    const { ctx } = ctxOf();
    next = [
      { status: 403, body: JSON.stringify({ errors: ["permission denied"] }) },
      { status: 403, body: JSON.stringify({ errors: ["permission denied"] }) },
    ];
    const e = await failure(
      withToken(tokens, ctx, (token) =>
        call(ctx, {
          system: "sim",
          method: "GET",
          url: `${base}/z`,
          headers: { authorization: token },
          context: "z",
        }),
      ),
    );
    assert.ok(e instanceof UnauthorizedError && e instanceof AuthError, e.message);
    assert.ok(!isRetryable(e));
    assert.equal(logins, 2);
  });

  test("concurrent steps share one sign-in (single flight)", async () => {
    let logins = 0;
    const tokens = actionTokens(async () => {
      logins++;
      await new Promise((r) => setTimeout(r, 20));
      return { value: "shared", expiresAt: Date.now() + 60_000 };
    }, 0);
    next = [];
    await Promise.all(
      [1, 2, 3, 4].map(() => {
        const { ctx } = ctxOf();
        return withToken(tokens, ctx, (token) =>
          call(ctx, {
            system: "sim",
            method: "GET",
            url: `${base}/w`,
            headers: { authorization: token },
            context: "w",
          }),
        );
      }),
    );
    assert.equal(logins, 1);
  });
});
