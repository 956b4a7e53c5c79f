/**
 * Armis API client: access-token cache with proactive refresh, one forced re-authentication on
 * 401, and the retry rules of `connectors/http.ts` for everything else.
 */
import type { Dispatcher } from "undici";
import { AuthError, PermanentError, RetryableError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { connectorJsonClient, type JsonClient, UnauthorizedError, urlWithQuery } from "../http.ts";
import { type IssuedToken, reauthRule, TokenCache } from "../token-cache.ts";
import type { ArmisConfig } from "./config.ts";
import type { ArmisTokenResponse } from "./records.ts";

export interface ArmisClientDeps {
  /** @defaultValue `silentLogger` */
  log?: Logger;
  /** A dispatcher to use instead of the connector's own TLS agent (tests). */
  dispatcher?: Dispatcher;
  /** Clock, epoch milliseconds (tests). @defaultValue Date.now */
  now?: () => number;
}

/** Token-authenticated GET requests against one Armis tenant. */
export class ArmisClient {
  readonly #config: ArmisConfig;
  readonly #base: string;
  readonly #http: JsonClient;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #tokens: TokenCache;

  constructor(config: ArmisConfig, deps: ArmisClientDeps = {}) {
    this.#config = config;
    this.#base = config.baseUrl.replace(/\/+$/, "").replace(/\/api\/v1$/, "");
    this.#log = deps.log ?? silentLogger;
    this.#now = deps.now ?? Date.now;
    this.#tokens = new TokenCache({
      fetch: (signal) => this.#fetchToken(signal),
      skewMs: config.tokenRefreshSkewSeconds * 1000,
      now: this.#now,
    });
    this.#http = connectorJsonClient("armis", config, {
      dispatcher: deps.dispatcher,
      secrets: () => [config.secretKey, ...this.#tokens.recent()],
      log: this.#log,
    });
  }

  /** Number of access tokens obtained so far (metrics, tests). */
  tokensObtained = 0;

  /** Returns a valid access token, fetching a new one when none is cached or it is about to expire. */
  accessToken(signal?: AbortSignal): Promise<string> {
    return this.#tokens.current(signal);
  }

  /**
   * Sends an authenticated GET to `path` (under `/api/v1`). On 401 the token is replaced once and
   * the same request retried; a second 401 is an `AuthError`.
   */
  async get(
    path: string,
    query: Record<string, string | number | undefined>,
    context: string,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const url = urlWithQuery(`${this.#base}/api/v1${path}`, query);
    return this.#tokens.withToken(
      signal,
      async (token) => {
        const res = await this.#http.send({
          method: "GET",
          url,
          headers: { authorization: token },
          context,
          signal,
        });
        return checkSuccess(res.body, context, this.#http);
      },
      reauthRule(this.#log, "armis", context, {
        retrying: "Armis refused the access token; re-authenticating once.",
        refused: `${context}: armis refused a freshly issued access token (HTTP 401)`,
      }),
    );
  }

  /** Checks the credentials with one token request. */
  async validate(signal?: AbortSignal): Promise<void> {
    await this.#tokens.refresh(signal);
  }

  async close(): Promise<void> {
    await this.#http.close();
  }

  async #fetchToken(signal?: AbortSignal): Promise<IssuedToken> {
    const context = "obtaining an armis access token";
    const url = new URL(`${this.#base}/api/v1/access_token/`);
    const secret = this.#config.secretKey.reveal();
    if (this.#config.secretKeyIn === "query") url.searchParams.set("secret_key", secret);
    let body: unknown;
    try {
      const res = await this.#http.send({
        method: "POST",
        url,
        body: this.#config.secretKeyIn === "body" ? { secret_key: secret } : undefined,
        context,
        signal,
      });
      body = checkSuccess(res.body, context, this.#http);
    } catch (error) {
      if (error instanceof UnauthorizedError)
        throw new AuthError(`${context}: armis rejected the secret key (HTTP 401)`, { cause: error });
      if (error instanceof PermanentError && / HTTP 403/.test(error.message))
        throw new AuthError(`${context}: armis refused the secret key (HTTP 403)`, { cause: error });
      throw error;
    }
    const data = (body as Partial<ArmisTokenResponse>).data;
    const value = data?.access_token;
    if (typeof value !== "string" || value.length === 0)
      throw new RetryableError(`${context}: the token response carries no data.access_token`);
    const parsed = typeof data?.expiration_utc === "string" ? Date.parse(data.expiration_utc) : Number.NaN;
    const expiresAt = Number.isNaN(parsed)
      ? this.#now() + this.#config.defaultTokenLifetimeSeconds * 1000
      : parsed;
    this.tokensObtained++;
    this.#log.debug(
      { connector: "armis", expiresAt: new Date(expiresAt).toISOString() },
      "Obtained an Armis access token.",
    );
    return { value, expiresAt };
  }
}

/** Armis wraps every response in `{success, data}`; `success: false` in a 2xx is the vendor refusing the request. */
function checkSuccess(body: unknown, context: string, http: JsonClient): unknown {
  if (!body || typeof body !== "object")
    throw new RetryableError(`${context}: the response is not an armis envelope`);
  const o = body as { success?: unknown; message?: unknown };
  if (o.success === false) {
    const message = typeof o.message === "string" ? o.message : "success: false";
    throw new PermanentError(http.scrub(`${context}: armis refused the request: ${message}`));
  }
  return body;
}
