/**
 * Cynerio API client: OAuth 2.0 client-credentials token (RFC 6749 §4.4) cached until shortly
 * before `expires_in` runs out, one forced re-authentication on 401, and the retry rules of
 * `connectors/http.ts` for everything else.
 */
import type { Dispatcher } from "undici";
import { AuthError, PermanentError, RetryableError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { connectorJsonClient, type JsonClient, UnauthorizedError, urlWithQuery } from "../http.ts";
import { type IssuedToken, reauthRule, TokenCache } from "../token-cache.ts";
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

/** Bearer-authenticated GET requests against one Cynerio account. */
export class CynerioClient {
  readonly #config: CynerioConfig;
  readonly #base: string;
  readonly #http: JsonClient;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #tokens: TokenCache;

  /** Number of access tokens obtained so far (metrics, tests). */
  tokensObtained = 0;

  constructor(config: CynerioConfig, deps: CynerioClientDeps = {}) {
    this.#log = deps.log ?? silentLogger;
    this.#config = config;
    this.#base = config.baseUrl.replace(/\/+$/, "");
    this.#now = deps.now ?? Date.now;
    this.#tokens = new TokenCache({
      fetch: (signal) => this.#fetchToken(signal),
      skewMs: config.tokenRefreshSkewSeconds * 1000,
      now: this.#now,
    });
    this.#http = connectorJsonClient("cynerio", config, {
      dispatcher: deps.dispatcher,
      secrets: () => [
        config.clientSecret,
        basicCredentials(config.clientId, config.clientSecret.reveal()),
        ...this.#tokens.recent(),
      ],
      log: this.#log,
    });
  }

  /** Returns a valid access token, fetching a new one when none is cached or it is about to expire. */
  accessToken(signal?: AbortSignal): Promise<string> {
    return this.#tokens.current(signal);
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
    const url = urlWithQuery(`${this.#base}${path}`, query);
    return this.#tokens.withToken(
      signal,
      async (token) => {
        const headers = { authorization: `Bearer ${token}` };
        return (await this.#http.send({ method: "GET", url, headers, context, signal })).body;
      },
      reauthRule(this.#log, "cynerio", context, {
        retrying: "Cynerio refused the access token; re-authenticating once.",
        refused: `${context}: cynerio refused a freshly issued access token (HTTP 401)`,
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
    const lifetime = Number(o.expires_in);
    const seconds = Number.isFinite(lifetime) && lifetime > 0 ? lifetime : c.defaultTokenLifetimeSeconds;
    const expiresAt = this.#now() + seconds * 1000;
    this.tokensObtained++;
    this.#log.debug(
      { connector: "cynerio", expiresAt: new Date(expiresAt).toISOString() },
      "Obtained a Cynerio access token.",
    );
    return { value, expiresAt };
  }
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded, then joined and Base64-encoded. */
function basicCredentials(id: string, secret: string): string {
  return Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64");
}
