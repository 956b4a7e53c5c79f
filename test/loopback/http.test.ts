import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import {
  agentOptions,
  classifyResponse,
  createAgent,
  JsonClient,
  type JsonClientOptions,
  UnauthorizedError,
  vendorMessage,
} from "../../connectors/http.ts";
import { PermanentError, RateLimitedError, RetryableError } from "../../core/errors.ts";
import { Secret } from "../../core/secret.ts";

type Reply = { status: number; body: string; headers?: Record<string, string> };

let server: Server;
let base: string;
let replies: Reply[] = [];
let arrivals: number[] = [];

before(async () => {
  server = createServer((_req: IncomingMessage, res: ServerResponse) => {
    arrivals.push(Date.now());
    const reply = replies.shift() ?? { status: 200, body: '{"ok":true}' };
    res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
    res.end(reply.body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  replies = [];
  arrivals = [];
});

function client(options: Partial<JsonClientOptions> = {}): JsonClient {
  return new JsonClient({
    component: "test",
    retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 4, maxRetryAfterMs: 5000 },
    ...options,
  });
}

const get = (c: JsonClient, path = "/x") =>
  c.send({ method: "GET", url: `${base}${path}`, context: "fetching test page 1" });

describe("retry classification", () => {
  test("the table: 2xx JSON succeeds, 401 re-auths, 429/408/5xx/non-JSON retry, other 4xx are permanent", () => {
    assert.equal(classifyResponse(200, true), "success");
    assert.equal(classifyResponse(200, false), "retryable");
    assert.equal(classifyResponse(401, true), "unauthorized");
    assert.equal(classifyResponse(401, false), "unauthorized");
    assert.equal(classifyResponse(429, true), "rate_limited");
    assert.equal(classifyResponse(408, true), "retryable");
    assert.equal(classifyResponse(500, true), "retryable");
    assert.equal(classifyResponse(503, false), "retryable");
    assert.equal(classifyResponse(404, false), "retryable");
    assert.equal(classifyResponse(400, true), "permanent");
    assert.equal(classifyResponse(403, true), "permanent");
    assert.equal(classifyResponse(404, true), "permanent");
  });

  test("vendor messages come from the JSON body, or a short excerpt of an HTML body", () => {
    assert.equal(vendorMessage({ message: "Invalid AQL ", success: false }, ""), "Invalid AQL");
    assert.equal(vendorMessage({ error: { message: "nope" } }, ""), "nope");
    assert.equal(vendorMessage(undefined, "<html><h1>502 Bad Gateway</h1></html>"), "502 Bad Gateway");
    assert.equal(vendorMessage(undefined, ""), "(empty body)");
    assert.ok(vendorMessage(undefined, "x".repeat(1000)).length <= 201);
  });

  test("TLS verification is on by default and off only when set to false", () => {
    const connect = (tls?: { verify?: boolean }) =>
      (agentOptions(tls).connect as { rejectUnauthorized?: boolean }).rejectUnauthorized;
    assert.equal(connect(), true);
    assert.equal(connect({}), true);
    assert.equal(connect({ verify: true }), true);
    assert.equal(connect({ verify: false }), false);
  });
});

describe("JsonClient", () => {
  test("5xx and non-JSON bodies are retried until a JSON 2xx", async () => {
    replies = [
      { status: 503, body: '{"message":"busy"}' },
      { status: 502, body: "<html>Bad Gateway</html>", headers: { "content-type": "text/html" } },
      { status: 200, body: '{"data":' },
      { status: 200, body: '{"data":1}' },
    ];
    const c = client();
    const res = await get(c);
    await c.close();
    assert.deepEqual(res.body, { data: 1 });
    assert.equal(arrivals.length, 4);
  });

  test("retries are bounded and end in RetryableError with the context", async () => {
    replies = Array.from({ length: 10 }, () => ({ status: 500, body: '{"message":"boom"}' }));
    const c = client();
    await assert.rejects(get(c), (e: unknown) => {
      assert.ok(e instanceof RetryableError && !(e instanceof RateLimitedError));
      assert.equal((e as Error).message, "fetching test page 1: HTTP 500: boom (after 4 attempt(s))");
      return true;
    });
    await c.close();
    assert.equal(arrivals.length, 4);
  });

  test("429 waits at least Retry-After (fractional seconds)", async () => {
    replies = [{ status: 429, body: "{}", headers: { "retry-after": "0.25" } }];
    const c = client();
    await get(c);
    await c.close();
    assert.equal(arrivals.length, 2);
    assert.ok((arrivals[1] as number) - (arrivals[0] as number) >= 250);
  });

  test("a Retry-After beyond the inline limit ends at once in RateLimitedError with the delay", async () => {
    replies = [{ status: 429, body: "{}", headers: { "retry-after": "3600" } }];
    const c = client();
    await assert.rejects(
      get(c),
      (e: unknown) => e instanceof RateLimitedError && e.retryAfterMs === 3_600_000,
    );
    await c.close();
    assert.equal(arrivals.length, 1);
  });

  test("401 is an UnauthorizedError without retry; other 4xx are permanent without retry", async () => {
    replies = [{ status: 401, body: '{"message":"Invalid access token"}' }];
    const c = client();
    await assert.rejects(get(c), UnauthorizedError);
    assert.equal(arrivals.length, 1);
    replies = [{ status: 404, body: '{"message":"No such endpoint"}' }];
    await assert.rejects(get(c), (e: unknown) => {
      assert.ok(e instanceof PermanentError && !(e instanceof UnauthorizedError));
      assert.equal((e as Error).message, "fetching test page 1: HTTP 404: No such endpoint");
      return true;
    });
    await c.close();
    assert.equal(arrivals.length, 2);
  });

  test("secrets are scrubbed from error messages", async () => {
    const secret = new Secret("s3cr3t-value-123");
    replies = [{ status: 400, body: JSON.stringify({ message: `bad key s3cr3t-value-123 and tok-abcdef` }) }];
    const c = client({ secrets: () => [secret, "tok-abcdef"] });
    await assert.rejects(get(c), (e: unknown) => {
      const message = (e as Error).message;
      assert.ok(!message.includes("s3cr3t-value-123") && !message.includes("tok-abcdef"), message);
      assert.equal(message, "fetching test page 1: HTTP 400: bad key [redacted] and [redacted]");
      return true;
    });
    await c.close();
  });

  test("network errors are retried, then RetryableError", async () => {
    const c = client();
    await assert.rejects(
      c.send({ method: "GET", url: "http://127.0.0.1:9/", context: "fetching test page 1" }),
      (e: unknown) =>
        e instanceof RetryableError && /network error after 4 attempt/.test((e as Error).message),
    );
    await c.close();
  });

  test("an aborted signal stops at once", async () => {
    replies = Array.from({ length: 10 }, () => ({ status: 500, body: "{}" }));
    const c = client({ retry: { maxAttempts: 10, baseDelayMs: 200, maxDelayMs: 200 } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("shutting down")), 50);
    await assert.rejects(
      c.send({ method: "GET", url: `${base}/x`, context: "fetching", signal: controller.signal }),
      /shutting down/,
    );
    await c.close();
    assert.ok(arrivals.length <= 2);
  });
});

describe("TLS against a self-signed server", () => {
  let dir: string | undefined;
  let tlsServer: ReturnType<typeof createHttpsServer> | undefined;
  let url = "";
  before(async () => {
    try {
      dir = mkdtempSync(join(tmpdir(), "medsoc-tls-"));
      execFileSync(
        "openssl",
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"].concat([
          "-keyout",
          join(dir, "key.pem"),
          "-out",
          join(dir, "cert.pem"),
        ]),
        { stdio: "ignore" },
      );
    } catch (error) {
      // A missing openssl fails the suite (never a silent skip): the set-up script installs it.
      throw new Error(
        `openssl could not make the test certificate (${(error as Error).message}): install openssl ` +
          "(bash scripts/setup-test-env.sh does)",
      );
    }
    tlsServer = createHttpsServer(
      { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) },
      (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"ok":true}');
      },
    );
    await new Promise<void>((r) => tlsServer?.listen(0, "127.0.0.1", r));
    url = `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}/`;
  });
  after(async () => {
    if (tlsServer) await new Promise<void>((r) => tlsServer?.close(() => r()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("default verification refuses it; an explicit verify: false accepts it", async () => {
    const strict = client({ retry: { maxAttempts: 1 } });
    await assert.rejects(strict.send({ method: "GET", url, context: "fetching" }), /self[- ]signed/i);
    await strict.close();
    const lax = client({ tls: { verify: false }, retry: { maxAttempts: 1 } });
    assert.deepEqual((await lax.send({ method: "GET", url, context: "fetching" })).body, { ok: true });
    await lax.close();
    const agent = createAgent({ verify: false });
    await agent.close();
  });
});
