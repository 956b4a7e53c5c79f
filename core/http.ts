/**
 * Small HTTP/JSON client helpers every pull connector reuses. Retry classification lives here and
 * only here (STYLE: "retry classification in one place"):
 *
 * | outcome                                   | decision                                        |
 * |-------------------------------------------|-------------------------------------------------|
 * | 2xx with a JSON body                      | success                                         |
 * | 2xx with a body that is not JSON          | retryable (truncated or proxy body)             |
 * | 2xx with JSON nested deeper than 64 levels | `PermanentError` (core/json.ts), no retry       |
 * | 401                                       | {@link UnauthorizedError}, never retried here: the connector re-authenticates once |
 * | 429                                       | retried after `max(Retry-After, backoff)`, then `RateLimitedError` |
 * | 408, 5xx, network error, timeout          | retried with exponential backoff and jitter, then `RetryableError` |
 * | any other status with a non-JSON body     | retryable: a reverse proxy answered, not the vendor (monitors.md §1 rule 9) |
 * | any other 4xx with a JSON body            | `PermanentError` carrying the vendor's message, no retry |
 *
 * Every error message is scrubbed of the connector's secrets before it is thrown.
 */
import { Agent, type Dispatcher, request } from "undici";
import { backoffDelay, parseRetryAfter, sleep } from "./backoff.ts";
import { readCa } from "./config-fields.ts";
import { AuthError, PermanentError, RateLimitedError, RetryableError } from "./errors.ts";
import { JsonInputError, parseJson } from "./json.ts";
import { type Logger, silentLogger } from "./log.ts";
import { type Secret, scrub } from "./secret.ts";

/** TLS settings of one connector. */
export interface TlsOptions {
  /**
   * Verify the server certificate. Only an explicit `false` in the connector config turns it off.
   * @defaultValue true
   */
  verify?: boolean;
  /** Extra CA certificates (PEM) to trust, for tenants behind a private CA. @defaultValue none */
  ca?: string;
}

/** Bounded retry policy for one request. */
export interface RetryPolicy {
  /** Attempts per request, the first included. @defaultValue 5 */
  maxAttempts: number;
  /** Backoff base in milliseconds; attempt n waits between half and all of `base * 2^(n-1)`. @defaultValue 500 */
  baseDelayMs: number;
  /** Cap of one backoff wait in milliseconds. @defaultValue 30000 */
  maxDelayMs: number;
  /**
   * Longest Retry-After (milliseconds) waited inline. A longer one ends the request at once with a
   * `RateLimitedError` carrying the delay, so the scheduler waits instead of a held worker.
   * @defaultValue 120000
   */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
});

/** Options of the undici `Agent` for a connector's TLS settings (exported so tests can check them). */
export function agentOptions(tls: TlsOptions = {}, extra: { connections?: number } = {}): Agent.Options {
  return {
    connect: {
      rejectUnauthorized: tls.verify !== false,
      ...(tls.ca ? { ca: tls.ca } : {}),
    },
    connections: extra.connections ?? 8,
    keepAliveTimeout: 10_000,
  };
}

/** An undici `Agent` honouring the connector's TLS settings. */
export function createAgent(tls: TlsOptions = {}, extra: { connections?: number } = {}): Agent {
  return new Agent(agentOptions(tls, extra));
}

/** What to do with one HTTP outcome. */
export type Classification = "success" | "unauthorized" | "rate_limited" | "retryable" | "permanent";

/** How a caller's vendors use the status codes the table leaves open. */
export interface ClassifyOptions {
  /**
   * Statuses that mean "sign in again": the caller re-authenticates once and retries, and a second
   * one is an `AuthError`. Response actions pass `[401, 403]`: Vault, PAN-OS and CyberArk answer an
   * expired or revoked session with 403. @defaultValue [401] (the monitors' APIs: 403 is a refusal)
   */
  reauthStatuses?: readonly number[];
}

/**
 * Classifies a status code and whether its body is in the format the caller asked for (JSON, or
 * the vendor's text/XML when the caller said so) — see the table above. The one retry table of
 * medsoc: connectors, response actions and the engine's step retries all go through it.
 */
export function classifyResponse(
  status: number,
  bodyIsJson: boolean,
  options: ClassifyOptions = {},
): Classification {
  if (status >= 200 && status < 300) return bodyIsJson ? "success" : "retryable";
  if ((options.reauthStatuses ?? [401]).includes(status)) return "unauthorized";
  if (status === 429) return "rate_limited";
  if (status === 408 || status >= 500) return "retryable";
  if (!bodyIsJson) return "retryable";
  return "permanent";
}

/**
 * How long to wait before attempt `attempt + 1` after `error`: exponential backoff with jitter from
 * `policy`, never shorter than the error's Retry-After (`RetryableError.retryAfterMs`). Used where a
 * retry goes through a queue's delay instead of a sleep (the playbook engine's step retries).
 */
export function retryDelay(
  attempt: number,
  error: unknown,
  policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs"> & { random?: () => number },
): number {
  const floor = error instanceof RetryableError ? error.retryAfterMs : undefined;
  return backoffDelay(attempt, {
    baseMs: policy.baseDelayMs,
    maxMs: Math.max(policy.maxDelayMs, floor ?? 0),
    floorMs: floor,
    random: policy.random,
  });
}

/** HTTP 401: the caller re-authenticates once and retries; a second 401 becomes a plain `AuthError`. */
export class UnauthorizedError extends AuthError {}

/** The vendor's own error message from a JSON error body, or a short excerpt of a text body. */
export function vendorMessage(body: unknown, text: string): string {
  if (body && typeof body === "object") {
    const o = body as Record<string, unknown>;
    for (const key of ["message", "error_description", "error", "detail", "title"]) {
      const v = o[key];
      if (typeof v === "string" && v.trim()) return v.trim();
      // FastAPI validation errors (Claroty xDome 422): {"detail":[{"loc":[…],"msg":"…","type":"…"}]}
      if (Array.isArray(v) && v.some((d) => typeof d?.msg === "string")) return fastApiDetail(v);
      if (v && typeof v === "object" && typeof (v as Record<string, unknown>).message === "string")
        return String((v as Record<string, unknown>).message).trim();
    }
  }
  const flat = text
    .replace(/<[^>]*>/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat || "(empty body)";
}

/** `loc: msg` for each FastAPI validation problem, joined with `; `. */
function fastApiDetail(detail: unknown[]): string {
  const parts: string[] = [];
  for (const d of detail) {
    if (!d || typeof d !== "object") continue;
    const o = d as { loc?: unknown; msg?: unknown };
    if (typeof o.msg !== "string") continue;
    const loc = Array.isArray(o.loc) ? o.loc.map(String).join(".") : "";
    parts.push(loc ? `${loc}: ${o.msg}` : o.msg);
  }
  const text = parts.join("; ");
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/** One JSON request. */
export interface JsonRequest {
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  /** Absolute URL. */
  url: string | URL;
  headers?: Record<string, string>;
  /** Serialised as JSON when present. */
  body?: unknown;
  /** Sent as `application/x-www-form-urlencoded` when present (instead of `body`). */
  form?: Record<string, string>;
  /**
   * False when a 2xx answer need not be JSON (a login that returns the token as text or in a
   * header): the response `body` is then the parsed JSON if it parses, else the raw text.
   * @defaultValue true
   */
  expectJson?: boolean;
  /** Lowercase context prefixed to every error ("fetching armis device page 3"). */
  context: string;
  signal?: AbortSignal;
}

/** A successful response with its parsed JSON body. */
export interface JsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface JsonClientOptions {
  /** Connector name used in logs (`armis`). */
  component: string;
  /** TLS settings; ignored when `dispatcher` is given. @defaultValue verification on */
  tls?: TlsOptions;
  /** A dispatcher to use instead of creating an `Agent` (tests). */
  dispatcher?: Dispatcher;
  /** Retry policy. @defaultValue {@link DEFAULT_RETRY_POLICY} */
  retry?: Partial<RetryPolicy>;
  /** Headers and body timeout of one attempt, in milliseconds. @defaultValue 60000 */
  timeoutMs?: number;
  /** Secrets to scrub from every error message (read at throw time, so new tokens count). */
  secrets?: () => Iterable<string | Secret | undefined>;
  /** @defaultValue `silentLogger` */
  log?: Logger;
  /** Random source of the jitter (tests). @defaultValue Math.random */
  random?: () => number;
}

interface Attempt {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  text: string;
  json: boolean;
  /** Why a JSON body was refused without retry (nested too deep). */
  refused?: string;
}

const header = (headers: Record<string, string | string[] | undefined>, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** A JSON-over-HTTP client with the retry rules above. One per connector instance. */
export class JsonClient {
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #retry: RetryPolicy;
  readonly #timeoutMs: number;
  readonly #secrets: () => Iterable<string | Secret | undefined>;
  readonly #log: Logger;
  readonly #component: string;
  readonly #random: () => number;

  constructor(options: JsonClientOptions) {
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher = options.dispatcher ?? createAgent(options.tls);
    this.#retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#secrets = options.secrets ?? (() => []);
    this.#log = options.log ?? silentLogger;
    this.#component = options.component;
    this.#random = options.random ?? Math.random;
  }

  /** Removes every known secret from `text`. */
  scrub(text: string): string {
    return scrub(text, this.#secrets());
  }

  /**
   * Sends `req`, retrying what can succeed on retry, and returns the first 2xx JSON response.
   * Throws `UnauthorizedError` on 401 (no retry), `RateLimitedError`/`RetryableError` once the
   * attempts are spent, `PermanentError` for other 4xx.
   */
  async send(req: JsonRequest): Promise<JsonResponse> {
    const { maxAttempts } = this.#retry;
    for (let attempt = 1; ; attempt++) {
      let outcome: Attempt;
      try {
        outcome = await this.#attempt(req);
      } catch (error) {
        if (req.signal?.aborted) throw req.signal.reason;
        const reason = this.scrub(error instanceof Error ? error.message : String(error));
        if (attempt >= maxAttempts)
          throw new RetryableError(
            this.scrub(`${req.context}: network error after ${attempt} attempt(s): ${reason}`),
            {
              cause: error,
            },
          );
        const delayMs = backoffDelay(attempt, this.#backoff());
        this.#log.warn(
          { connector: this.#component, context: req.context, attempt, delayMs, reason },
          "Request failed with a network error; retrying.",
        );
        await sleep(delayMs, req.signal);
        continue;
      }
      const textOk = req.expectJson === false && outcome.status >= 200 && outcome.status < 300;
      if (outcome.refused !== undefined && outcome.status >= 200 && outcome.status < 300 && !textOk)
        throw new PermanentError(
          this.scrub(`${req.context}: HTTP ${outcome.status} body refused: ${outcome.refused}`),
        );
      const verdict = classifyResponse(outcome.status, outcome.json || textOk);
      if (verdict === "success")
        return {
          status: outcome.status,
          headers: outcome.headers,
          body: outcome.json ? outcome.body : outcome.text,
        };
      const message = vendorMessage(outcome.json ? outcome.body : undefined, outcome.text);
      const what =
        outcome.status < 300
          ? `HTTP ${outcome.status} with a body that is not JSON`
          : outcome.json
            ? `HTTP ${outcome.status}`
            : `HTTP ${outcome.status} with a body that is not JSON`;
      const detail = `${what}: ${message}`;
      if (verdict === "unauthorized") throw new UnauthorizedError(this.scrub(`${req.context}: ${detail}`));
      if (verdict === "permanent") throw new PermanentError(this.scrub(`${req.context}: ${detail}`));
      if (verdict === "rate_limited") {
        const retryAfterMs = parseRetryAfter(header(outcome.headers, "retry-after"));
        if (retryAfterMs !== undefined && retryAfterMs > this.#retry.maxRetryAfterMs)
          throw new RateLimitedError(
            this.scrub(
              `${req.context}: rate limited, Retry-After ${retryAfterMs} ms exceeds the inline limit: ${message}`,
            ),
            { retryAfterMs },
          );
        if (attempt >= maxAttempts)
          throw new RateLimitedError(
            this.scrub(`${req.context}: still rate limited after ${attempt} attempt(s): ${message}`),
            { retryAfterMs: retryAfterMs ?? this.#retry.baseDelayMs },
          );
        const delayMs = backoffDelay(attempt, { ...this.#backoff(), floorMs: retryAfterMs });
        this.#log.warn(
          { connector: this.#component, context: req.context, attempt, delayMs, retryAfterMs },
          "Request was rate limited; waiting before the next attempt.",
        );
        await sleep(delayMs, req.signal);
        continue;
      }
      // retryable
      if (attempt >= maxAttempts)
        throw new RetryableError(this.scrub(`${req.context}: ${detail} (after ${attempt} attempt(s))`));
      const delayMs = backoffDelay(attempt, this.#backoff());
      this.#log.warn(
        { connector: this.#component, context: req.context, attempt, delayMs, status: outcome.status },
        "Request failed with a retryable response; retrying.",
      );
      await sleep(delayMs, req.signal);
    }
  }

  /** Releases the sockets (only when this client created its dispatcher). */
  async close(): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  #backoff() {
    return { baseMs: this.#retry.baseDelayMs, maxMs: this.#retry.maxDelayMs, random: this.#random };
  }

  async #attempt(req: JsonRequest): Promise<Attempt> {
    req.signal?.throwIfAborted();
    const headers: Record<string, string> = { accept: "application/json", ...req.headers };
    let body: string | undefined;
    if (req.form !== undefined) {
      body = new URLSearchParams(req.form).toString();
      headers["content-type"] = "application/x-www-form-urlencoded";
    } else if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers["content-type"] = "application/json";
    }
    const res = await request(req.url, {
      method: req.method,
      headers,
      body,
      dispatcher: this.#dispatcher,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
      signal: req.signal,
    });
    const text = await res.body.text();
    let parsed: unknown;
    let json = false;
    let refused: string | undefined;
    if (text.length > 0) {
      try {
        // Depth-checked; integers beyond 2^53 (numeric ids) kept exact as digit strings.
        parsed = parseJson(text);
        json = true;
      } catch (error) {
        if (error instanceof JsonInputError && error.kind === "too_deep") refused = error.message;
        json = false;
      }
    }
    return { status: res.statusCode, headers: res.headers, body: parsed, text, json, refused };
  }
}

/** The config fields every pull connector's HTTP client is built from. */
export interface ConnectorHttpConfig {
  baseUrl: string;
  tls: { verify: boolean; caFile?: string | undefined };
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
}

/**
 * The `JsonClient` of one pull connector (`source` is its id, `armis`): TLS verification and CA
 * file from `sources.<source>.config.tls`, its retry policy and timeout, and a warning in the log
 * when certificate verification is turned off.
 */
export function connectorJsonClient(
  source: string,
  config: ConnectorHttpConfig,
  options: Pick<JsonClientOptions, "dispatcher" | "secrets" | "log">,
): JsonClient {
  const log = options.log ?? silentLogger;
  if (config.tls.verify === false)
    log.warn(
      { source, baseUrl: config.baseUrl },
      "TLS certificate verification is turned off for this connector (tls.verify: false).",
    );
  return new JsonClient({
    component: source,
    tls: { verify: config.tls.verify, ca: readCa(config.tls, `sources.${source}.config`) },
    dispatcher: options.dispatcher,
    retry: config.retry,
    timeoutMs: config.timeoutMs,
    secrets: options.secrets,
    log,
  });
}

/** `base` with `query` appended as search parameters, in order; undefined values are left out. */
export function urlWithQuery(base: string, query: Record<string, string | number | undefined>): URL {
  const url = new URL(base);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  return url;
}
