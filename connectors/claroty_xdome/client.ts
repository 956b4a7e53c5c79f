/**
 * Claroty xDome API client: a static bearer token (no token exchange is documented; a 401 means
 * the token was revoked), one retry of the same request on 401, and the retry rules of
 * `connectors/http.ts` for everything else (429 Retry-After, 5xx backoff, 422 FastAPI bodies as
 * permanent errors carrying the vendor's message).
 */
import type { Dispatcher } from "undici";
import { type Logger, silentLogger } from "../../core/log.ts";
import { connectorJsonClient, type JsonClient } from "../http.ts";
import { reauthRule, retryOnceOn401 } from "../token-cache.ts";
import type { XDomeConfig } from "./config.ts";

export interface XDomeClientDeps {
  /** @defaultValue `silentLogger` */
  log?: Logger;
  /** A dispatcher to use instead of the connector's own TLS agent (tests). */
  dispatcher?: Dispatcher;
}

/** Bearer-authenticated `POST` queries against one xDome tenant. */
export class XDomeClient {
  readonly #config: XDomeConfig;
  readonly #base: string;
  readonly #http: JsonClient;
  readonly #log: Logger;

  constructor(config: XDomeConfig, deps: XDomeClientDeps = {}) {
    this.#config = config;
    this.#base = config.baseUrl.replace(/\/+$/, "").replace(/\/api\/v1$/, "");
    this.#log = deps.log ?? silentLogger;
    this.#http = connectorJsonClient("claroty_xdome", config, {
      dispatcher: deps.dispatcher,
      secrets: () => [config.apiToken],
      log: this.#log,
    });
  }

  /**
   * `POST /api/v1/<path>` with a JSON query body. A 401 is retried once with the same token (a
   * proxy or a token rotation in progress can refuse one request); a second 401 is an `AuthError`.
   */
  async post(path: string, body: unknown, context: string, signal?: AbortSignal): Promise<unknown> {
    const url = `${this.#base}/api/v1/${path.replace(/^\/+/, "")}`;
    const headers = { authorization: `Bearer ${this.#config.apiToken.reveal()}` };
    return retryOnceOn401(
      async () => (await this.#http.send({ method: "POST", url, headers, body, context, signal })).body,
      reauthRule(this.#log, "claroty_xdome", context, {
        retrying: "Claroty xDome refused the API token; retrying the request once.",
        refused: `${context}: claroty xdome refused the API token twice (HTTP 401); it was revoked or is wrong`,
      }),
    );
  }

  /** Checks the token with the smallest query XSOAR's test module sends. */
  async validate(signal?: AbortSignal): Promise<void> {
    await this.post(
      "device_alert_relations/",
      { fields: ["device_uid", "alert_id"], offset: 0, limit: 1, include_count: false },
      "validating the claroty xdome api token",
      signal,
    );
  }

  async close(): Promise<void> {
    await this.#http.close();
  }
}
