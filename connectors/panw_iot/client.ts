/**
 * Palo Alto Networks IoT Security API client: static `X-Key-Id`/`X-Access-Key` headers and
 * `customerid` on every request (no token exchange), one retry of the same request on 401, and
 * the retry rules of `connectors/http.ts` for everything else.
 */
import type { Dispatcher } from "undici";
import { AuthError, PermanentError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { connectorJsonClient, type JsonClient, urlWithQuery } from "../http.ts";
import { reauthRule, retryOnceOn401 } from "../token-cache.ts";
import type { PanwIotConfig } from "./config.ts";

export interface PanwIotClientDeps {
  /** @defaultValue `silentLogger` */
  log?: Logger;
  /** A dispatcher to use instead of the connector's own TLS agent (tests). */
  dispatcher?: Dispatcher;
}

/** Key-authenticated GET requests against one IoT Security tenant. */
export class PanwIotClient {
  readonly #config: PanwIotConfig;
  readonly #base: string;
  readonly #http: JsonClient;
  readonly #log: Logger;

  constructor(config: PanwIotConfig, deps: PanwIotClientDeps = {}) {
    this.#config = config;
    this.#base = config.baseUrl.replace(/\/+$/, "").replace(/\/pub\/v4\.0$/, "");
    this.#log = deps.log ?? silentLogger;
    this.#http = connectorJsonClient("panw_iot", config, {
      dispatcher: deps.dispatcher,
      secrets: () => [config.keyId, config.accessKey],
      log: this.#log,
    });
  }

  /**
   * `GET /pub/v4.0<path>?customerid=…&<query>`. A 401 is retried once (the keys are static, so a
   * second 401 means they are wrong or revoked: `AuthError`); a 403 is an `AuthError` at once.
   */
  async get(
    path: string,
    query: Record<string, string | number | undefined>,
    context: string,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const url = urlWithQuery(`${this.#base}/pub/v4.0${path}`, {
      customerid: this.#config.customerId,
      ...query,
    });
    const headers = {
      "x-key-id": this.#config.keyId.reveal(),
      "x-access-key": this.#config.accessKey.reveal(),
    };
    try {
      return await retryOnceOn401(
        async () => (await this.#http.send({ method: "GET", url, headers, context, signal })).body,
        reauthRule(this.#log, "panw_iot", context, {
          retrying: "PANW IoT Security refused the access keys; retrying the request once.",
          refused: `${context}: panw iot refused the access keys twice (HTTP 401); they are wrong or revoked`,
        }),
      );
    } catch (error) {
      if (error instanceof PermanentError && / HTTP 403/.test(error.message))
        throw new AuthError(`${context}: panw iot refused the access keys (HTTP 403)`, { cause: error });
      throw error;
    }
  }

  /** Checks the keys with one one-record inventory request. */
  async validate(signal?: AbortSignal): Promise<void> {
    await this.get(
      "/device/list",
      { offset: 0, pagelength: 1 },
      "validating the panw iot access keys",
      signal,
    );
  }

  async close(): Promise<void> {
    await this.#http.close();
  }
}
