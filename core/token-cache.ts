/**
 * Authentication rules every pull connector shares, in one place:
 *
 * - {@link TokenCache}: the access token of a token-authenticated API (Armis, Cynerio, Forescout,
 *   Nozomi sign-in), replaced proactively `skewMs` before it expires, fetched by one request at a
 *   time however many callers need it (single flight), and replaced after a 401 only when no
 *   other caller replaced it already.
 * - {@link retryOnceOn401}: one forced re-authentication (or, for static credentials, one plain
 *   retry) of the same request after an HTTP 401; a second 401 is the connector's `AuthError`.
 *
 * Error messages and log lines stay in each client: the vendor wording is part of its contract.
 */
import { AuthError } from "./errors.ts";
import { UnauthorizedError } from "./http.ts";
import type { Logger } from "./log.ts";

/** A token as obtained from the vendor. */
export interface IssuedToken {
  /** The token (or the whole `Authorization` value, when the vendor hands that out). */
  value: string;
  /** Epoch milliseconds after which the vendor no longer accepts it. */
  expiresAt: number;
}

export interface TokenCacheOptions<C = undefined> {
  /**
   * Obtains a new token (token request, login, sign-in). Never called twice at the same time.
   * `context`: what the caller that triggered the fetch passed along (a response action's step
   * context, so the sign-in call is recorded in that step's audit trail).
   */
  fetch: (signal?: AbortSignal, context?: C) => Promise<IssuedToken>;
  /** How long before `expiresAt` the cached token is replaced, in milliseconds. */
  skewMs: number;
  /** Clock, epoch milliseconds (tests). @defaultValue Date.now */
  now?: () => number;
  /** How many of the latest tokens {@link TokenCache.recent} keeps for scrubbing. @defaultValue 4 */
  keep?: number;
}

/** The cached access token of one connector instance (see the module comment). */
export class TokenCache<C = undefined> {
  readonly #fetch: (signal?: AbortSignal, context?: C) => Promise<IssuedToken>;
  readonly #skewMs: number;
  readonly #now: () => number;
  readonly #keep: number;
  readonly #recent: string[] = [];
  #token: IssuedToken | undefined;
  #pending: Promise<IssuedToken> | undefined;

  constructor(options: TokenCacheOptions<C>) {
    this.#fetch = options.fetch;
    this.#skewMs = options.skewMs;
    this.#now = options.now ?? Date.now;
    this.#keep = options.keep ?? 4;
  }

  /** The token cached now, valid or not. */
  get token(): IssuedToken | undefined {
    return this.#token;
  }

  /** The latest tokens obtained, oldest first (for the secret scrubber). */
  recent(): readonly string[] {
    return this.#recent;
  }

  /** A token that is valid for at least `skewMs` more: the cached one, else a freshly fetched one. */
  async current(signal?: AbortSignal, context?: C): Promise<string> {
    if (this.#token && this.#now() < this.#token.expiresAt - this.#skewMs) return this.#token.value;
    return (await this.refresh(signal, context)).value;
  }

  /**
   * Fetches a new token, whatever is cached. Concurrent callers share one request; its failure
   * reaches all of them and the next call tries again.
   */
  refresh(signal?: AbortSignal, context?: C): Promise<IssuedToken> {
    if (!this.#pending) {
      this.#pending = this.#fetch(signal, context)
        .then((token) => {
          this.#token = token;
          this.#recent.push(token.value);
          if (this.#recent.length > this.#keep) this.#recent.shift();
          return token;
        })
        .finally(() => {
          this.#pending = undefined;
        });
    }
    return this.#pending;
  }

  /**
   * The token to retry with after the vendor answered 401 to `stale`: the cached token when another
   * caller already replaced `stale`, else a new one (shared with concurrent callers).
   */
  async refreshAfter401(signal: AbortSignal | undefined, stale: string, context?: C): Promise<string> {
    if (this.#token && this.#token.value !== stale) return this.#token.value;
    return (await this.refresh(signal, context)).value;
  }

  /**
   * Runs `send` with the current token; after a 401 calls `rule.beforeRetry` (a log line), replaces
   * the token once ({@link refreshAfter401}) and runs `send` again with it. A second 401 throws
   * `rule.refused(error)`.
   */
  async withToken<T>(
    signal: AbortSignal | undefined,
    send: (token: string) => Promise<T>,
    rule: ReauthRule,
    context?: C,
  ): Promise<T> {
    let token = await this.current(signal, context);
    return retryOnceOn401(() => send(token), {
      beforeRetry: async (error) => {
        await rule.beforeRetry(error);
        token = await this.refreshAfter401(signal, token, context);
      },
      refused: rule.refused,
    });
  }
}

/** What a client does about a 401. */
export interface ReauthRule {
  /**
   * Runs after the first 401, before the one retry: log it and replace the credential, if there is
   * one to replace. Throwing here gives up at once (a 401 to credentials that cannot be renewed).
   */
  beforeRetry: (error: UnauthorizedError) => Promise<void> | void;
  /** The error thrown for a second 401 (an `AuthError` with the connector's message). */
  refused: (error: UnauthorizedError) => Error;
}

/**
 * The usual {@link ReauthRule}: the first 401 is logged at info level as `retrying` (with the
 * connector and request context), a second one is an `AuthError` with the message `refused`.
 */
export function reauthRule(
  log: Logger,
  connector: string,
  context: string,
  messages: { retrying: string; refused: string },
): ReauthRule {
  return {
    beforeRetry: () => log.info({ connector, context }, messages.retrying),
    refused: (error) => new AuthError(messages.refused, { cause: error }),
  };
}

/**
 * Runs `send`; after an {@link UnauthorizedError} runs `rule.beforeRetry`, then `send` once more.
 * A second `UnauthorizedError` becomes `rule.refused(error)`; every other error passes through.
 */
export async function retryOnceOn401<T>(send: () => Promise<T>, rule: ReauthRule): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
    await rule.beforeRetry(error);
  }
  try {
    return await send();
  } catch (error) {
    if (error instanceof UnauthorizedError) throw rule.refused(error);
    throw error;
  }
}

/** Expiry (epoch ms) from a JWT's `exp` claim, with or without a `Bearer ` prefix; undefined for an opaque token. */
export function jwtExpiry(value: string): number | undefined {
  const parts = value.replace(/^Bearer\s+/i, "").split(".");
  if (parts.length !== 3) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1] as string, "base64url").toString("utf8")) as {
      exp?: unknown;
    };
    return typeof payload.exp === "number" && Number.isFinite(payload.exp) ? payload.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
