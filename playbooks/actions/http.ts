/**
 * One outside call of an action: sent once (the engine retries the step, with backoff, on a
 * retryable error), recorded for the audit trail with secrets redacted, and classified like the
 * connectors' client: 2xx ok (an empty 204 too), 401/403 `UnauthorizedError` (the client
 * re-authenticates once), 429 `RateLimitedError` with Retry-After, 408/5xx/network `RetryableError`,
 * other 4xx `PermanentError` with the vendor's message, a 2xx whose JSON does not parse `RetryableError`.
 */
import { type Dispatcher, request } from "undici";
import { UnauthorizedError, vendorMessage } from "../../connectors/http.ts";
import { parseRetryAfter } from "../../core/backoff.ts";
import { PermanentError, RateLimitedError, RetryableError } from "../../core/errors.ts";
import { type Secret, scrub } from "../../core/secret.ts";
import { type ActionContext, redact } from "./types.ts";

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
    const where = `${req.context}: HTTP ${status}`;
    if (status >= 200 && status < 300) {
      if (req.json !== false && text.length > 0 && !parsed)
        throw new RetryableError(`${req.context}: HTTP ${status} with a body that is not JSON`);
      return { status, body, text };
    }
    if (status === 401 || status === 403) throw new UnauthorizedError(`${where}: ${message}`);
    if (status === 429)
      throw new RateLimitedError(`${where}: rate limited`, {
        retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter) ?? 1000,
      });
    if (status === 408 || status >= 500) throw new RetryableError(`${where}: ${message}`);
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

/** Runs `fn`; on an `UnauthorizedError` re-authenticates once (`reauth`) and runs it again. */
export async function withReauth<T>(fn: () => Promise<T>, reauth: () => Promise<void>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
    await reauth();
    return fn();
  }
}

/** `AA-BB-…` / `aa:bb:…` → `AA:BB:CC:DD:EE:FF` (ISE's form). */
export const macColons = (mac: string) => mac.toUpperCase().replace(/-/g, ":");
export const macDashes = (mac: string) => mac.toUpperCase().replace(/:/g, "-");
