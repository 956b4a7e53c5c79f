/**
 * Asimily Insight API client: HTTP Basic on every request (no token), the retry rules of
 * `connectors/http.ts`, and the auth rules of the reference: 403 with "Authentication Error: …"
 * is a credential error (`AuthError` carrying Asimily's message); a 401 is retried once (a
 * session-replication hiccup behind the load balancer), a second 401 is an `AuthError`.
 */
import type { Dispatcher } from "undici";
import { readCa } from "../../core/config-fields.ts";
import { AuthError, PermanentError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { JsonClient, UnauthorizedError } from "../http.ts";
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
    if (config.tls.verify === false)
      this.#log.warn(
        { source: "asimily", baseUrl: config.baseUrl },
        "TLS certificate verification is turned off for this connector (tls.verify: false).",
      );
    this.#base = config.baseUrl.replace(/\/+$/, "");
    const basic = Buffer.from(`${config.username}:${config.password.reveal()}`).toString("base64");
    this.#authorization = `Basic ${basic}`;
    this.#http = new JsonClient({
      component: "asimily",
      tls: { verify: config.tls.verify, ca: readCa(config.tls, "sources.asimily.config") },
      dispatcher: deps.dispatcher,
      retry: config.retry,
      timeoutMs: config.timeoutMs,
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
    const url = new URL(`${this.#base}${path}`);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v));
    for (let round = 1; ; round++) {
      try {
        const res = await this.#http.send({
          method: "POST",
          url,
          headers: { authorization: this.#authorization },
          body,
          context,
          signal,
        });
        return res.body;
      } catch (error) {
        if (error instanceof UnauthorizedError) {
          if (round >= 2)
            throw new AuthError(`${context}: asimily refused the API credentials twice (HTTP 401)`, {
              cause: error,
            });
          this.#log.info({ connector: "asimily", context }, "Asimily answered 401; retrying once.");
          continue;
        }
        if (error instanceof PermanentError && / HTTP 403/.test(error.message))
          throw new AuthError(error.message, { cause: error });
        throw error;
      }
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
