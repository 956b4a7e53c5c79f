/**
 * Nozomi Open API client: HTTP Basic, or a sign-in token (returned in the `Authorization` response
 * header) cached until shortly before it expires, with one forced re-authentication on 401; the
 * retry rules of `connectors/http.ts` for everything else.
 */
import type { Dispatcher } from "undici";
import { AuthError, PermanentError, RetryableError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { connectorJsonClient, type JsonClient, UnauthorizedError } from "../http.ts";
import { type IssuedToken, jwtExpiry, retryOnceOn401, TokenCache } from "../token-cache.ts";
import type { NozomiConfig } from "./config.ts";
import type { NozomiQueryResponse } from "./records.ts";

export interface NozomiClientDeps {
  /** @defaultValue `silentLogger` */
  log?: Logger;
  /** A dispatcher to use instead of the connector's own TLS agent (tests). */
  dispatcher?: Dispatcher;
  /** Clock, epoch milliseconds (tests). @defaultValue Date.now */
  now?: () => number;
}

export { jwtExpiry };

/** Queries against one Guardian or CMC appliance. */
export class NozomiClient {
  readonly #config: NozomiConfig;
  readonly #base: string;
  readonly #http: JsonClient;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #tokens: TokenCache;
  /** True once sign-in proved unavailable and the key pair goes as Basic. */
  #basicFallback = false;

  /** Sign-in tokens obtained so far (tests, metrics). */
  tokensObtained = 0;

  constructor(config: NozomiConfig, deps: NozomiClientDeps = {}) {
    this.#log = deps.log ?? silentLogger;
    this.#config = config;
    this.#base = config.baseUrl.replace(/\/+$/, "");
    this.#now = deps.now ?? Date.now;
    this.#tokens = new TokenCache({
      fetch: (signal) => this.#signIn(signal),
      skewMs: config.tokenRefreshSkewSeconds * 1000,
      now: this.#now,
    });
    const auth = config.auth;
    // A sign-in token is the whole `Authorization` value: scrub it with and without `Bearer `.
    const issued = () => this.#tokens.recent().flatMap((v) => [v, v.replace(/^Bearer\s+/i, "")]);
    this.#http = connectorJsonClient("nozomi", config, {
      dispatcher: deps.dispatcher,
      secrets: () =>
        auth.type === "basic"
          ? [auth.username, auth.password, this.#basicHeader(), ...issued()]
          : [auth.keyName, auth.keyToken, this.#basicHeader(), ...issued()],
      log: this.#log,
    });
  }

  #basicHeader(): string {
    const auth = this.#config.auth;
    const [user, pass] =
      auth.type === "basic" ? [auth.username, auth.password] : [auth.keyName, auth.keyToken];
    return `Basic ${Buffer.from(`${user.reveal()}:${pass.reveal()}`).toString("base64")}`;
  }

  /** The `Authorization` header for the next request. */
  async authorization(signal?: AbortSignal): Promise<string> {
    if (this.#config.auth.type === "basic" || this.#basicFallback) return this.#basicHeader();
    return this.#tokens.current(signal);
  }

  /**
   * Runs one N2QL query page: `GET /api/open/query/do?query=…&page=…&count=…`. A 200 whose `error`
   * is set is the appliance refusing the query (`PermanentError` with its message). On 401 a
   * sign-in token is replaced once and the page retried; a second 401 (or any 401 with Basic) is
   * an `AuthError`.
   */
  async query(
    n2ql: string,
    page: number,
    count: number,
    context: string,
    signal?: AbortSignal,
  ): Promise<NozomiQueryResponse> {
    const url = new URL(`${this.#base}/api/open/query/do`);
    url.searchParams.set("query", n2ql);
    url.searchParams.set("page", String(page));
    url.searchParams.set("count", String(count));
    url.searchParams.set("skip_total_count", "true");
    let authorization = await this.authorization(signal);
    const refused = () =>
      this.#config.auth.type === "basic" || this.#basicFallback
        ? `${context}: nozomi refused the credentials (HTTP 401)`
        : `${context}: nozomi refused a freshly issued sign-in token (HTTP 401)`;
    return retryOnceOn401(
      async () => {
        const res = await this.#http.send({
          method: "GET",
          url,
          headers: { authorization },
          context,
          signal,
        });
        return checkQuery(res.body, context, this.#http);
      },
      {
        beforeRetry: async (error) => {
          // Basic credentials cannot be renewed: their first 401 is final.
          if (this.#config.auth.type === "basic" || this.#basicFallback)
            throw new AuthError(refused(), { cause: error });
          this.#log.info(
            { connector: "nozomi", context },
            "Nozomi refused the token; signing in again once.",
          );
          authorization = await this.#tokens.refreshAfter401(signal, authorization);
        },
        refused: (error) => new AuthError(refused(), { cause: error }),
      },
    );
  }

  /** Checks the credentials: a sign-in, or a one-record query with Basic. */
  async validate(signal?: AbortSignal): Promise<void> {
    if (this.#config.auth.type === "sign_in" && !this.#basicFallback) {
      await this.#tokens.refresh(signal);
      if (!this.#basicFallback) return;
    }
    await this.query("alerts | head 1", 1, 1, "validating nozomi credentials", signal);
  }

  async close(): Promise<void> {
    await this.#http.close();
  }

  async #signIn(signal?: AbortSignal): Promise<IssuedToken> {
    const auth = this.#config.auth;
    if (auth.type !== "sign_in") throw new PermanentError("signing in to nozomi: basic auth has no sign-in");
    const context = "signing in to nozomi";
    let headers: Record<string, string | string[] | undefined>;
    try {
      const res = await this.#http.send({
        method: "POST",
        url: `${this.#base}/api/open/sign_in`,
        body: { key_name: auth.keyName.reveal(), key_token: auth.keyToken.reveal() },
        expectJson: false,
        context,
        signal,
      });
      headers = res.headers;
    } catch (error) {
      if (error instanceof UnauthorizedError)
        throw new AuthError(`${context}: nozomi rejected the API key (HTTP 401)`, { cause: error });
      if (error instanceof PermanentError && / HTTP 403/.test(error.message))
        throw new AuthError(`${context}: nozomi refused the API key (HTTP 403)`, { cause: error });
      if (auth.fallbackToBasic && error instanceof PermanentError && / HTTP (404|405)/.test(error.message)) {
        this.#log.warn(
          { connector: "nozomi" },
          "Nozomi has no sign-in endpoint; sending the API key as HTTP Basic instead.",
        );
        this.#basicFallback = true;
        return { value: this.#basicHeader(), expiresAt: Number.POSITIVE_INFINITY };
      }
      throw error;
    }
    const raw = headers.authorization;
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (typeof value !== "string" || value.trim() === "")
      throw new RetryableError(`${context}: the sign-in response carries no Authorization header`);
    const expiresAt = jwtExpiry(value) ?? this.#now() + this.#config.defaultTokenLifetimeSeconds * 1000;
    this.tokensObtained++;
    this.#log.debug(
      { connector: "nozomi", expiresAt: new Date(expiresAt).toISOString() },
      "Obtained a Nozomi sign-in token.",
    );
    return { value, expiresAt };
  }
}

/** The query envelope `{result, header, total, error}`; `error` set on a 200 is a refused query. */
function checkQuery(body: unknown, context: string, http: JsonClient): NozomiQueryResponse {
  if (!body || typeof body !== "object" || Array.isArray(body))
    throw new RetryableError(`${context}: the response is not a nozomi query envelope`);
  const o = body as { result?: unknown; error?: unknown };
  if (typeof o.error === "string" && o.error.trim() !== "")
    throw new PermanentError(http.scrub(`${context}: nozomi refused the query: ${o.error.trim()}`));
  if (!Array.isArray(o.result))
    throw new RetryableError(`${context}: unexpected response shape, result is not an array`);
  return body as NozomiQueryResponse;
}
