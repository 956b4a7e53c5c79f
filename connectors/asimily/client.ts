/**
 * Asimily Insight API client: HTTP Basic on every request (no token), the retry rules of
 * `connectors/http.ts`, and the auth rules of the reference: 403 with "Authentication Error: …"
 * is a credential error (`AuthError` carrying Asimily's message); a 401 is retried once (a
 * session-replication hiccup behind the load balancer), a second 401 is an `AuthError`.
 */
import type { Dispatcher } from "undici";
import { AuthError, PermanentError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { connectorJsonClient, type JsonClient, urlWithQuery } from "../http.ts";
import { reauthRule, retryOnceOn401 } from "../token-cache.ts";
import type { AsimilyConfig } from "./config.ts";

export interface AsimilyClientDeps {
  /** @defaultValue `silentLogger` */
  log?: Logger;
  /** A dispatcher to use instead of the connector's own TLS agent (tests). */
  dispatcher?: Dispatcher;
}

/** Basic-authenticated POST requests against one Asimily Insight portal. */
export class AsimilyClient {
  readonly #base: string;
  readonly #http: JsonClient;
  readonly #log: Logger;
  readonly #authorization: string;

  constructor(config: AsimilyConfig, deps: AsimilyClientDeps = {}) {
    this.#log = deps.log ?? silentLogger;
    this.#base = config.baseUrl.replace(/\/+$/, "");
    const basic = Buffer.from(`${config.username}:${config.password.reveal()}`).toString("base64");
    this.#authorization = `Basic ${basic}`;
    this.#http = connectorJsonClient("asimily", config, {
      dispatcher: deps.dispatcher,
      secrets: () => [config.password, basic],
      log: this.#log,
    });
  }

  /** Sends `POST <path>?<query>` with a JSON body and returns the parsed body. */
  async post(
    path: string,
    query: Record<string, string | number>,
    body: unknown,
    context: string,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const url = urlWithQuery(`${this.#base}${path}`, query);
    const headers = { authorization: this.#authorization };
    try {
      return await retryOnceOn401(
        async () => (await this.#http.send({ method: "POST", url, headers, body, context, signal })).body,
        reauthRule(this.#log, "asimily", context, {
          retrying: "Asimily answered 401; retrying once.",
          refused: `${context}: asimily refused the API credentials twice (HTTP 401)`,
        }),
      );
    } catch (error) {
      // "Authentication Error: …" on 403 is Asimily's answer to wrong credentials.
      if (error instanceof PermanentError && / HTTP 403/.test(error.message))
        throw new AuthError(error.message, { cause: error });
      throw error;
    }
  }

  /** Checks the credentials with one one-record asset request. */
  async validate(signal?: AbortSignal): Promise<void> {
    await this.post(
      "/api/extapi/assets",
      { size: 1, page: 0 },
      { filters: {} },
      "checking asimily credentials",
      signal,
    );
  }

  async close(): Promise<void> {
    await this.#http.close();
  }
}
