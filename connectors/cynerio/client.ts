/**
 * Cynerio API client: OAuth 2.0 client-credentials token (RFC 6749 §4.4) cached until shortly
 * before `expires_in` runs out, one forced re-authentication on 401, and the retry rules of
 * `connectors/http.ts` for everything else.
 */
import type { Dispatcher } from "undici";
import { readCa } from "../../core/config-fields.ts";
import { AuthError, PermanentError, RetryableError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { JsonClient, UnauthorizedError } from "../http.ts";
import type { CynerioConfig } from "./config.ts";
import type { CynerioTokenResponse } from "./records.ts";

export interface CynerioClientDeps {
  /** @defaultValue `silentLogger` */
  log?: Logger;
  /** A dispatcher to use instead of the connector's own TLS agent (tests). */
  dispatcher?: Dispatcher;
  /** Clock, epoch milliseconds (tests). @defaultValue Date.now */
  now?: () => number;
}

interface CachedToken {
  value: string;
  expiresAt: number;
}

/** Bearer-authenticated GET requests against one Cynerio account. */
export class CynerioClient {
  readonly #config: CynerioConfig;
  readonly #base: string;
  readonly #http: JsonClient;
  readonly #log: Logger;
  readonly #now: () => number;
  #token: CachedToken | undefined;
  #pending: Promise<CachedToken> | undefined;
  /** Recent tokens, scrubbed from error messages. */
  readonly #issued: string[] = [];

  /** Number of access tokens obtained so far (metrics, tests). */
  tokensObtained = 0;

  constructor(config: CynerioConfig, deps: CynerioClientDeps = {}) {
    this.#log = deps.log ?? silentLogger;
    if (config.tls.verify === false)
      this.#log.warn(
        { source: "cynerio", baseUrl: config.baseUrl },
        "TLS certificate verification is turned off for this connector (tls.verify: false).",
      );
    this.#config = config;
    this.#base = config.baseUrl.replace(/\/+$/, "");
    this.#now = deps.now ?? Date.now;
    this.#http = new JsonClient({
      component: "cynerio",
      tls: { verify: config.tls.verify, ca: readCa(config.tls, "sources.cynerio.config") },
      dispatcher: deps.dispatcher,
      retry: config.retry,
      timeoutMs: config.timeoutMs,
      secrets: () => [
        config.clientSecret,
        basicCredentials(config.clientId, config.clientSecret.reveal()),
        ...this.#issued,
      ],
      log: this.#log,
    });
  }

  /** Returns a valid access token, fetching a new one when none is cached or it is about to expire. */
  async accessToken(signal?: AbortSignal): Promise<string> {
    const skewMs = this.#config.tokenRefreshSkewSeconds * 1000;
    if (this.#token && this.#now() < this.#token.expiresAt - skewMs) return this.#token.value;
    return (await this.#refresh(signal)).value;
  }

  /**
   * Sends an authenticated GET to `path` under the API URL. On 401 the token is replaced once and
   * the same request retried; a second 401 is an `AuthError`.
   */
  async get(
    path: string,
    query: Record<string, string | number | undefined>,
    context: string,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const url = new URL(`${this.#base}${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    let token = await this.accessToken(signal);
    for (let round = 1; ; round++) {
      try {
        const res = await this.#http.send({
          method: "GET",
          url,
          headers: { authorization: `Bearer ${token}` },
          context,
          signal,
        });
        return res.body;
      } catch (error) {
        if (!(error instanceof UnauthorizedError)) throw error;
        if (round >= 2)
          throw new AuthError(`${context}: cynerio refused a freshly issued access token (HTTP 401)`, {
            cause: error,
          });
        this.#log.info(
          { connector: "cynerio", context },
          "Cynerio refused the access token; re-authenticating once.",
        );
        token = (await this.#refresh(signal, token)).value;
      }
    }
  }

  /** Checks the credentials with one token request. */
  async validate(signal?: AbortSignal): Promise<void> {
    await this.#refresh(signal);
  }

  async close(): Promise<void> {
    await this.#http.close();
  }

  /** Fetches a new token; concurrent callers share one request. `stale` skips the fetch if another caller already replaced it. */
  #refresh(signal?: AbortSignal, stale?: string): Promise<CachedToken> {
    if (stale !== undefined && this.#token && this.#token.value !== stale)
      return Promise.resolve(this.#token);
    if (!this.#pending) {
      this.#pending = this.#fetchToken(signal).finally(() => {
        this.#pending = undefined;
      });
    }
    return this.#pending;
  }

  async #fetchToken(signal?: AbortSignal): Promise<CachedToken> {
    const context = "obtaining a cynerio access token";
    const c = this.#config;
    const form: Record<string, string> = { grant_type: "client_credentials" };
    if (c.scope) form.scope = c.scope;
    if (c.audience) form.audience = c.audience;
    const headers: Record<string, string> = {};
    if (c.clientAuth === "basic") {
      headers.authorization = `Basic ${basicCredentials(c.clientId, c.clientSecret.reveal())}`;
    } else {
      form.client_id = c.clientId;
      form.client_secret = c.clientSecret.reveal();
    }
    let body: unknown;
    try {
      const res = await this.#http.send({ method: "POST", url: c.tokenUrl, headers, form, context, signal });
      body = res.body;
    } catch (error) {
      // RFC 6749 §5.2: invalid_client is 401; invalid_grant / unauthorized_client are 400.
      if (error instanceof UnauthorizedError)
        throw new AuthError(`${context}: cynerio rejected the client credentials (HTTP 401)`, {
          cause: error,
        });
      if (error instanceof PermanentError && / HTTP (400|403)/.test(error.message))
        throw new AuthError(
          this.#http.scrub(`${context}: cynerio refused the client credentials: ${error.message}`),
          {
            cause: error,
          },
        );
      throw error;
    }
    const o = (body ?? {}) as Partial<CynerioTokenResponse>;
    const value = o.access_token;
    if (typeof value !== "string" || value.length === 0)
      throw new RetryableError(`${context}: the token response carries no access_token`);
    if (o.token_type !== undefined && String(o.token_type).toLowerCase() !== "bearer")
      throw new PermanentError(`${context}: unsupported token_type ${JSON.stringify(o.token_type)}`);
    this.#issued.push(value);
    if (this.#issued.length > 4) this.#issued.shift();
    const lifetime = Number(o.expires_in);
    const seconds = Number.isFinite(lifetime) && lifetime > 0 ? lifetime : c.defaultTokenLifetimeSeconds;
    this.#token = { value, expiresAt: this.#now() + seconds * 1000 };
    this.tokensObtained++;
    this.#log.debug(
      { connector: "cynerio", expiresAt: new Date(this.#token.expiresAt).toISOString() },
      "Obtained a Cynerio access token.",
    );
    return this.#token;
  }
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded, then joined and Base64-encoded. */
function basicCredentials(id: string, secret: string): string {
  return Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64");
}
