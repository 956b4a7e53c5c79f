/**
 * Forescout eyeSight Web API client: `POST /api/login` (form fields) returns the JWT as the
 * response body; it is cached for its lifetime (about 5 minutes) and replaced proactively, with one
 * forced re-login on 401; the retry rules of `connectors/http.ts` for everything else.
 */
import type { Dispatcher } from "undici";
import { AuthError, PermanentError, RetryableError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { connectorJsonClient, type JsonClient, UnauthorizedError, urlWithQuery } from "../http.ts";
import { type IssuedToken, jwtExpiry, reauthRule, TokenCache } from "../token-cache.ts";
import type { ForescoutConfig } from "./config.ts";

export interface ForescoutClientDeps {
  log?: Logger;
  dispatcher?: Dispatcher;
  now?: () => number;
}

/** JWT-authenticated GET requests against one Enterprise Manager. */
export class ForescoutClient {
  readonly #config: ForescoutConfig;
  readonly #base: string;
  readonly #http: JsonClient;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #tokens: TokenCache;

  /** Logins so far (tests, metrics). */
  tokensObtained = 0;

  constructor(config: ForescoutConfig, deps: ForescoutClientDeps = {}) {
    this.#log = deps.log ?? silentLogger;
    this.#config = config;
    this.#base = config.baseUrl.replace(/\/+$/, "");
    this.#now = deps.now ?? Date.now;
    this.#tokens = new TokenCache({
      fetch: (signal) => this.#login(signal),
      skewMs: config.tokenRefreshSkewSeconds * 1000,
      now: this.#now,
    });
    this.#http = connectorJsonClient("forescout", config, {
      dispatcher: deps.dispatcher,
      secrets: () => [config.username, config.password, ...this.#tokens.recent()],
      log: this.#log,
    });
  }

  /**
   * Authenticated GET of `path` (`/api/hosts`, …) with `Accept: application/hal+json`. On 401 the
   * JWT is replaced once and the request retried; a second 401 is an `AuthError`.
   */
  async get(
    path: string,
    query: Record<string, string | undefined>,
    context: string,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const url = urlWithQuery(`${this.#base}${path}`, query);
    return this.#tokens.withToken(
      signal,
      async (token) => {
        const authorization = this.#config.authorizationScheme === "bearer" ? `Bearer ${token}` : token;
        const headers = { authorization, accept: "application/hal+json" };
        return (await this.#http.send({ method: "GET", url, headers, context, signal })).body;
      },
      reauthRule(this.#log, "forescout", context, {
        retrying: "Forescout refused the token; logging in again once.",
        refused: `${context}: forescout refused a freshly issued token (HTTP 401)`,
      }),
    );
  }

  /** Checks the credentials with one login. */
  async validate(signal?: AbortSignal): Promise<void> {
    await this.#tokens.refresh(signal);
  }

  async close(): Promise<void> {
    await this.#http.close();
  }

  async #login(signal?: AbortSignal): Promise<IssuedToken> {
    const context = "logging in to forescout";
    let body: unknown;
    try {
      const res = await this.#http.send({
        method: "POST",
        url: `${this.#base}/api/login`,
        form: { username: this.#config.username.reveal(), password: this.#config.password.reveal() },
        headers: { accept: "*/*" },
        expectJson: false,
        context,
        signal,
      });
      body = res.body;
    } catch (error) {
      if (error instanceof UnauthorizedError)
        throw new AuthError(`${context}: forescout rejected the Web API credentials (HTTP 401)`, {
          cause: error,
        });
      if (error instanceof PermanentError && / HTTP 403/.test(error.message))
        throw new AuthError(
          `${context}: forescout refused this client (HTTP 403; check Web API > Client IPs)`,
          {
            cause: error,
          },
        );
      throw error;
    }
    const value = typeof body === "string" ? body.trim() : "";
    if (value === "" || /\s/.test(value))
      throw new RetryableError(`${context}: the login response body is not a token`);
    const lifetime = this.#now() + this.#config.tokenLifetimeSeconds * 1000;
    const exp = jwtExpiry(value);
    const expiresAt = exp === undefined ? lifetime : Math.min(exp, lifetime);
    this.tokensObtained++;
    this.#log.debug(
      { connector: "forescout", expiresAt: new Date(expiresAt).toISOString() },
      "Logged in to Forescout.",
    );
    return { value, expiresAt };
  }
}
