/**
 * Forescout eyeSight Web API client: `POST /api/login` (form fields) returns the JWT as the
 * response body; it is cached for its lifetime (about 5 minutes) and replaced proactively, with one
 * forced re-login on 401; the retry rules of `connectors/http.ts` for everything else.
 */
import type { Dispatcher } from "undici";
import { readCa } from "../../core/config-fields.ts";
import { AuthError, PermanentError, RetryableError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { JsonClient, UnauthorizedError } from "../http.ts";
import type { ForescoutConfig } from "./config.ts";

export interface ForescoutClientDeps {
  log?: Logger;
  dispatcher?: Dispatcher;
  now?: () => number;
}

interface CachedToken {
  value: string;
  expiresAt: number;
}

/** Expiry (epoch ms) from a JWT's `exp`, when the token is a readable JWT. */
function jwtExpiry(token: string): number | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const exp = (
      JSON.parse(Buffer.from(parts[1] as string, "base64url").toString("utf8")) as { exp?: unknown }
    ).exp;
    return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** JWT-authenticated GET requests against one Enterprise Manager. */
export class ForescoutClient {
  readonly #config: ForescoutConfig;
  readonly #base: string;
  readonly #http: JsonClient;
  readonly #log: Logger;
  readonly #now: () => number;
  #token: CachedToken | undefined;
  #pending: Promise<CachedToken> | undefined;
  readonly #issued: string[] = [];

  /** Logins so far (tests, metrics). */
  tokensObtained = 0;

  constructor(config: ForescoutConfig, deps: ForescoutClientDeps = {}) {
    this.#log = deps.log ?? silentLogger;
    if (config.tls.verify === false)
      this.#log.warn(
        { source: "forescout", baseUrl: config.baseUrl },
        "TLS certificate verification is turned off for this connector (tls.verify: false).",
      );
    this.#config = config;
    this.#base = config.baseUrl.replace(/\/+$/, "");
    this.#now = deps.now ?? Date.now;
    this.#http = new JsonClient({
      component: "forescout",
      tls: { verify: config.tls.verify, ca: readCa(config.tls, "sources.forescout.config") },
      dispatcher: deps.dispatcher,
      retry: config.retry,
      timeoutMs: config.timeoutMs,
      secrets: () => [config.username, config.password, ...this.#issued],
      log: this.#log,
    });
  }

  async #authorization(signal?: AbortSignal): Promise<string> {
    const skewMs = this.#config.tokenRefreshSkewSeconds * 1000;
    const token =
      this.#token && this.#now() < this.#token.expiresAt - skewMs ? this.#token : await this.#refresh(signal);
    return this.#header(token.value);
  }

  #header(token: string): string {
    return this.#config.authorizationScheme === "bearer" ? `Bearer ${token}` : token;
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
    const url = new URL(`${this.#base}${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    let authorization = await this.#authorization(signal);
    for (let round = 1; ; round++) {
      try {
        const res = await this.#http.send({
          method: "GET",
          url,
          headers: { authorization, accept: "application/hal+json" },
          context,
          signal,
        });
        return res.body;
      } catch (error) {
        if (!(error instanceof UnauthorizedError)) throw error;
        if (round >= 2)
          throw new AuthError(`${context}: forescout refused a freshly issued token (HTTP 401)`, {
            cause: error,
          });
        this.#log.info(
          { connector: "forescout", context },
          "Forescout refused the token; logging in again once.",
        );
        const stale = this.#token?.value;
        authorization = this.#header((await this.#refresh(signal, stale)).value);
      }
    }
  }

  /** Checks the credentials with one login. */
  async validate(signal?: AbortSignal): Promise<void> {
    await this.#refresh(signal);
  }

  async close(): Promise<void> {
    await this.#http.close();
  }

  #refresh(signal?: AbortSignal, stale?: string): Promise<CachedToken> {
    if (stale !== undefined && this.#token && this.#token.value !== stale)
      return Promise.resolve(this.#token);
    if (!this.#pending) {
      this.#pending = this.#login(signal).finally(() => {
        this.#pending = undefined;
      });
    }
    return this.#pending;
  }

  async #login(signal?: AbortSignal): Promise<CachedToken> {
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
    this.#issued.push(value);
    if (this.#issued.length > 4) this.#issued.shift();
    const lifetime = this.#now() + this.#config.tokenLifetimeSeconds * 1000;
    const exp = jwtExpiry(value);
    const expiresAt = exp === undefined ? lifetime : Math.min(exp, lifetime);
    this.#token = { value, expiresAt };
    this.tokensObtained++;
    this.#log.debug(
      { connector: "forescout", expiresAt: new Date(expiresAt).toISOString() },
      "Logged in to Forescout.",
    );
    return this.#token;
  }
}
