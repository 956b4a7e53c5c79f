/**
 * One outside call of an action: sent once (the engine retries the step through the queue's delay
 * on a retryable error), recorded for the audit trail with secrets redacted, and classified by the
 * one retry table of medsoc, `classifyResponse` in `core/http.ts`, with the actions' one difference
 * (their vendors answer an expired session with 403):
 *
 * | answer                                             | error                                         |
 * |----------------------------------------------------|-----------------------------------------------|
 * | 2xx in the format asked for (an empty body too)    | none                                          |
 * | 2xx with a JSON body that does not parse           | `RetryableError` (truncated or a proxy's page) |
 * | 401 or 403                                         | `UnauthorizedError`: {@link withReauth} signs in again once; a second one is final (`AuthError`) |
 * | 429                                                | `RateLimitedError` with Retry-After           |
 * | 408, 5xx, network error, timeout                   | `RetryableError`                              |
 * | other 4xx with a body that is not in the format asked for (an HTML page on a JSON call) | `RetryableError`: a proxy or load balancer answered, not the vendor |
 * | other 4xx in the format asked for                  | `PermanentError` with the vendor's message    |
 *
 * Fail safe: whatever the class, a failed call is never a containment applied; a retryable answer is
 * retried by the engine and, once the attempts are spent, fails the step. A 4xx the vendor did not
 * give (a proxy's page) is not taken as the vendor's refusal, so a credential push answered that way
 * goes through the read-back instead of being rolled back as refused.
 */
import { type Dispatcher, request } from "undici";
import { parseRetryAfter } from "../../core/backoff.ts";
import { PermanentError, RateLimitedError, RetryableError } from "../../core/errors.ts";
import { classifyResponse, UnauthorizedError, vendorMessage } from "../../core/http.ts";
import { type Secret, scrub } from "../../core/secret.ts";
import { type IssuedToken, retryOnceOn401, TokenCache } from "../../core/token-cache.ts";
import { type ActionContext, redact } from "./types.ts";

/** Statuses on which an action signs in again once (Vault, PAN-OS, CyberArk: 403 for an expired session). */
export const ACTION_REAUTH_STATUSES: readonly number[] = [401, 403];

export interface CallRequest {
  system: string;
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  /** JSON body (objects) or a pre-encoded string (form, XML). */
  body?: unknown;
  contentType?: string;
  /** Parse the response as JSON. @defaultValue true */
  json?: boolean;
  /** Secret values to scrub from the recording and errors. */
  secrets?: Iterable<string | Secret | undefined>;
  /** Lowercase context for errors ("applying ANC policy"). */
  context: string;
  dispatcher?: Dispatcher;
  timeoutMs?: number;
}

export interface CallResponse {
  status: number;
  body: unknown;
  text: string;
}

export async function call(
  ctx: Pick<ActionContext, "record" | "signal">,
  req: CallRequest,
): Promise<CallResponse> {
  const secrets = [...(req.secrets ?? [])];
  const headers: Record<string, string> = { accept: "application/json", ...req.headers };
  let payload: string | undefined;
  if (req.body !== undefined) {
    payload = typeof req.body === "string" ? req.body : JSON.stringify(req.body);
    headers["content-type"] = req.contentType ?? "application/json";
  }
  const started = Date.now();
  const safeUrl = scrub(req.url, secrets);
  const recordBody = typeof req.body === "string" ? scrub(req.body, secrets) : redact(req.body, secrets);
  let status: number;
  let text: string;
  try {
    const res = await request(req.url, {
      method: req.method,
      headers,
      body: payload,
      dispatcher: req.dispatcher,
      headersTimeout: req.timeoutMs ?? 15_000,
      bodyTimeout: req.timeoutMs ?? 15_000,
      signal: ctx.signal,
    });
    status = res.statusCode;
    text = await res.body.text();
    const retryAfter = res.headers["retry-after"];
    let body: unknown;
    let parsed = false;
    if (text.length && req.json !== false) {
      try {
        body = JSON.parse(text);
        parsed = true;
      } catch {
        parsed = false;
      }
    }
    ctx.record({
      system: req.system,
      method: req.method,
      url: safeUrl,
      status,
      request: recordBody,
      response: parsed ? redact(body, secrets) : scrub(text.slice(0, 500), secrets),
      durationMs: Date.now() - started,
    });
    const message = scrub(vendorMessage(parsed ? body : undefined, text), secrets);
    // "In the format asked for": JSON when JSON was asked for (an empty body counts on a 2xx: 204),
    // any body when the caller reads text or XML.
    const inFormat = req.json === false ? true : parsed || (text.length === 0 && status < 300);
    const verdict = classifyResponse(status, inFormat, { reauthStatuses: ACTION_REAUTH_STATUSES });
    const where = `${req.context}: HTTP ${status}${inFormat ? "" : " with a body that is not JSON"}`;
    if (verdict === "success") return { status, body, text };
    if (verdict === "unauthorized") throw new UnauthorizedError(`${where}: ${message}`);
    if (verdict === "rate_limited")
      throw new RateLimitedError(`${where}: rate limited`, {
        retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter) ?? 1000,
      });
    if (verdict === "retryable") throw new RetryableError(`${where}: ${message}`);
    throw new PermanentError(`${where}: ${message}`);
  } catch (error) {
    if (error instanceof PermanentError || error instanceof RetryableError) throw error;
    const msg = scrub(error instanceof Error ? error.message : String(error), secrets);
    ctx.record({
      system: req.system,
      method: req.method,
      url: safeUrl,
      request: recordBody,
      error: msg,
      durationMs: Date.now() - started,
    });
    throw new RetryableError(`${req.context}: network error: ${msg}`, { cause: error });
  }
}

/** Runs `fn`; on an `UnauthorizedError` re-authenticates once (`reauth`) and runs it again (a second one is final). */
export function withReauth<T>(fn: () => Promise<T>, reauth: () => Promise<void>): Promise<T> {
  return retryOnceOn401(fn, { beforeRetry: reauth, refused: (error) => error });
}

/**
 * The cached access token of one action client: `core/token-cache.ts`, the connectors' cache
 * (replaced `skewMs` before it expires, one sign-in at a time however many steps need it). `fetch`
 * signs in with the context of the step that needed the token (its audit trail records the call).
 */
export function actionTokens(
  fetch: (ctx: ActionContext) => Promise<IssuedToken>,
  skewMs: number,
): TokenCache<ActionContext> {
  return new TokenCache<ActionContext>({
    skewMs,
    fetch: (_signal, ctx) => {
      if (!ctx) throw new Error("actionTokens: a token is fetched for a step (pass its context)");
      return fetch(ctx);
    },
  });
}

/**
 * Runs `send` with the current token; after a 401/403 signs in again once (unless another step
 * already replaced the token) and runs it again; a second refusal is final (`UnauthorizedError`).
 */
export function withToken<T>(
  tokens: TokenCache<ActionContext>,
  ctx: ActionContext,
  send: (token: string) => Promise<T>,
): Promise<T> {
  return tokens.withToken(ctx.signal, send, { beforeRetry: () => undefined, refused: (error) => error }, ctx);
}

/** `AA-BB-…` / `aa:bb:…` → `AA:BB:CC:DD:EE:FF` (ISE's form). */
export const macColons = (mac: string) => mac.toUpperCase().replace(/-/g, ":");
export const macDashes = (mac: string) => mac.toUpperCase().replace(/:/g, "-");
