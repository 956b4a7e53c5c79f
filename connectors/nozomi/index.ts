/**
 * Nozomi Networks (Guardian / CMC) connector: assets, alerts and node CVEs from the Open API query
 * endpoint, returned untouched. See `streams.ts` for the cursor rules and `client.ts` for
 * authentication and retries.
 */
import type { Dispatcher } from "undici";
import { PermanentError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import type { Connector, Cursor, Page, PollOptions } from "../types.ts";
import { NozomiClient } from "./client.ts";
import { NOZOMI_MAX_COUNT, type NozomiConfig } from "./config.ts";
import { isNozomiStream, NOZOMI_STREAMS, pollNozomiStream } from "./streams.ts";

export { jwtExpiry, NozomiClient } from "./client.ts";
export {
  NOZOMI_MAX_COUNT,
  NOZOMI_MAX_PAGE,
  type NozomiConfig,
  type NozomiConfigInput,
  nozomiConfigSchema,
} from "./config.ts";
export type * from "./records.ts";
export { NOZOMI_STREAMS, NOZOMI_TABLES, type NozomiStream } from "./streams.ts";

export interface NozomiConnectorDeps {
  /** @defaultValue `silentLogger` */
  log?: Logger;
  /** Dispatcher replacing the connector's own TLS agent (tests). */
  dispatcher?: Dispatcher;
  /** Clock, epoch milliseconds. @defaultValue Date.now */
  now?: () => number;
}

/** A Nozomi connector that also exposes its client (token counts for tests). */
export interface NozomiConnector extends Connector {
  readonly client: NozomiClient;
}

/** Creates the Nozomi connector from a parsed config (`nozomiConfigSchema.parse(raw)`). */
export function createNozomiConnector(config: NozomiConfig, deps: NozomiConnectorDeps = {}): NozomiConnector {
  const log = deps.log ?? silentLogger;
  const now = deps.now ?? Date.now;
  const client = new NozomiClient(config, { log, dispatcher: deps.dispatcher, now });

  async function* poll(
    stream: string,
    cursor: Cursor | null,
    options: PollOptions = {},
  ): AsyncGenerator<Page> {
    if (!isNozomiStream(stream))
      throw new PermanentError(
        `polling nozomi: unknown stream "${stream}" (expected ${NOZOMI_STREAMS.join(", ")})`,
      );
    yield* pollNozomiStream(stream, cursor, {
      client,
      log,
      pageSize: Math.min(options.pageSize ?? config.pageSize, NOZOMI_MAX_COUNT),
      maxPagesPerQuery: config.maxPagesPerQuery,
      timeField: config.timeFields[stream],
      initialLookbackSeconds: config.initialLookbackSeconds,
      now,
      signal: options.signal,
    });
  }

  return {
    source: "nozomi",
    streams: NOZOMI_STREAMS,
    client,
    poll,
    validate: () => client.validate(),
    close: () => client.close(),
  };
}
