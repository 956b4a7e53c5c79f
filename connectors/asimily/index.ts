/**
 * Asimily Insight connector: asset inventory, anomalies (alerts) and device CVEs from the
 * `/api/extapi` endpoints, returned as vendor records (anomalies and CVEs one per device and
 * item). See `streams.ts` for paging and cursor rules and `client.ts` for authentication.
 */
import type { Dispatcher } from "undici";
import { PermanentError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import type { Connector, Cursor, Page, PollOptions } from "../types.ts";
import { AsimilyClient } from "./client.ts";
import { ASIMILY_PAGE_CAPS, type AsimilyConfig } from "./config.ts";
import {
  ASIMILY_STREAMS,
  isAsimilyStream,
  pollAssetSnapshot,
  pollDeviceItems,
  type StreamContext,
} from "./streams.ts";

export { AsimilyClient } from "./client.ts";
export {
  ASIMILY_PAGE_CAPS,
  type AsimilyConfig,
  type AsimilyConfigInput,
  asimilyConfigSchema,
} from "./config.ts";
export type * from "./records.ts";
export { asimilyDeviceId } from "./records.ts";
export { ASIMILY_ENDPOINTS, ASIMILY_STREAMS, type AsimilyStream } from "./streams.ts";

export interface AsimilyConnectorDeps {
  /** @defaultValue `silentLogger` */
  log?: Logger;
  /** Dispatcher replacing the connector's own TLS agent (tests). */
  dispatcher?: Dispatcher;
  /** Clock, epoch milliseconds. @defaultValue Date.now */
  now?: () => number;
}

export interface AsimilyConnector extends Connector {
  readonly client: AsimilyClient;
}

/** Creates the Asimily connector from a parsed config (`asimilyConfigSchema.parse(raw)`). */
export function createAsimilyConnector(
  config: AsimilyConfig,
  deps: AsimilyConnectorDeps = {},
): AsimilyConnector {
  const log = deps.log ?? silentLogger;
  const now = deps.now ?? Date.now;
  const client = new AsimilyClient(config, { log, dispatcher: deps.dispatcher });

  async function* poll(
    stream: string,
    cursor: Cursor | null,
    options: PollOptions = {},
  ): AsyncGenerator<Page> {
    if (!isAsimilyStream(stream))
      throw new PermanentError(
        `polling asimily: unknown stream "${stream}" (expected ${ASIMILY_STREAMS.join(", ")})`,
      );
    const ctx: StreamContext = {
      client,
      config,
      log,
      pageSize: Math.min(options.pageSize ?? config.pageSize[stream], ASIMILY_PAGE_CAPS[stream]),
      now,
      signal: options.signal,
    };
    if (stream === "asset") yield* pollAssetSnapshot(cursor, ctx);
    else yield* pollDeviceItems(stream, cursor, ctx);
  }

  return {
    source: "asimily",
    streams: ASIMILY_STREAMS,
    client,
    poll,
    validate: () => client.validate(),
    close: () => client.close(),
  };
}
