/**
 * Palo Alto Networks IoT Security API client: static `X-Key-Id`/`X-Access-Key` headers and
 * `customerid` on every request (no token exchange), one retry of the same request on 401, and
 * the retry rules of `connectors/http.ts` for everything else.
 */
import type { Dispatcher } from "undici";
import { readCa } from "../../core/config-fields.ts";
import { AuthError, PermanentError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { JsonClient, UnauthorizedError } from "../http.ts";
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
    const log = deps.log ?? silentLogger;
    if (config.tls.verify === false)
      log.warn(
        { source: "panw_iot", baseUrl: config.baseUrl },
        "TLS certificate verification is turned off for this connector (tls.verify: false).",
      );
    this.#config = config;
    this.#base = config.baseUrl.replace(/\/+$/, "").replace(/\/pub\/v4\.0$/, "");
    this.#log = log;
    this.#http = new JsonClient({
      component: "panw_iot",
      tls: { verify: config.tls.verify, ca: readCa(config.tls, "sources.panw_iot.config") },
      dispatcher: deps.dispatcher,
      retry: config.retry,
      timeoutMs: config.timeoutMs,
      secrets: () => [config.keyId, config.accessKey],
      log,
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
    const url = new URL(`${this.#base}/pub/v4.0${path}`);
    url.searchParams.set("customerid", this.#config.customerId);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers = {
      "x-key-id": this.#config.keyId.reveal(),
      "x-access-key": this.#config.accessKey.reveal(),
    };
    for (let round = 1; ; round++) {
      try {
        const res = await this.#http.send({ method: "GET", url, headers, context, signal });
        return res.body;
      } catch (error) {
        if (error instanceof PermanentError && / HTTP 403/.test(error.message))
          throw new AuthError(`${context}: panw iot refused the access keys (HTTP 403)`, { cause: error });
        if (!(error instanceof UnauthorizedError)) throw error;
        if (round >= 2)
          throw new AuthError(
            `${context}: panw iot refused the access keys twice (HTTP 401); they are wrong or revoked`,
            { cause: error },
          );
        this.#log.info(
          { connector: "panw_iot", context },
          "PANW IoT Security refused the access keys; retrying the request once.",
        );
      }
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
