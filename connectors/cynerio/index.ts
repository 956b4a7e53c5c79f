/**
 * Cynerio connector. Two streams are part of the CLI contract:
 * - `asset`: pulled from Cynerio's asset API with OAuth 2.0 client credentials (`client.ts`,
 *   `streams.ts`). The API paths, paging parameters and cursor field are not public
 *   (monitors.md §4, "single source" / "unknown"), so they are configuration (`config.ts`) whose
 *   defaults are assumptions matching medsoc's simulator.
 * - `event`: Cynerio's IDS-style events. Cynerio PUSHES them (confirmed for Microsoft Sentinel's
 *   HTTP Data Collector API); medsoc receives them on its HTTP push receiver
 *   (`POST /v1/push/cynerio/event`) and its syslog receiver (CEF, vendor `Cynerio`), which hand the
 *   records to the same queues. There is no pull API for events, so `event` is NOT in this
 *   connector's pull streams (`streams`), and `poll("event")` throws a `PermanentError` saying
 *   so instead of pretending to poll. The `event` mapping is registered in `monitors/cynerio/index.ts`,
 *   so `medsoc normalize --source cynerio --stream event` works.
 */
import type { Dispatcher } from "undici";
import { PermanentError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import type { Connector, Cursor, Page, PollOptions } from "../types.ts";
import { CynerioClient } from "./client.ts";
import { CYNERIO_MAX_PAGE_SIZE, type CynerioConfig } from "./config.ts";
import { CYNERIO_PULL_STREAMS, pollAssets, type StreamContext } from "./streams.ts";

export { CynerioClient } from "./client.ts";
export {
  CYNERIO_ASSET_FIELDS,
  CYNERIO_MAX_PAGE_SIZE,
  type CynerioConfig,
  type CynerioConfigInput,
  cynerioConfigSchema,
} from "./config.ts";
export type * from "./records.ts";
export { CYNERIO_PULL_STREAMS, CYNERIO_STREAMS, type CynerioStream } from "./streams.ts";

export interface CynerioConnectorDeps {
  /** @defaultValue `silentLogger` */
  log?: Logger;
  /** Dispatcher replacing the connector's own TLS agent (tests). */
  dispatcher?: Dispatcher;
  /** Clock, epoch milliseconds. @defaultValue Date.now */
  now?: () => number;
}

/** A Cynerio connector that also exposes its client (token counts for tests and metrics). */
export interface CynerioConnector extends Connector {
  readonly client: CynerioClient;
}

/** The error `poll("event")` throws: events are pushed, never polled. */
export const CYNERIO_EVENT_IS_PUSHED =
  "polling cynerio event: Cynerio pushes its events (there is no pull API); receive them with the HTTP push receiver (POST /v1/push/cynerio/event) or the syslog receiver (CEF, vendor Cynerio)";

/** Creates the Cynerio connector from a parsed config (`cynerioConfigSchema.parse(raw)`). */
export function createCynerioConnector(
  config: CynerioConfig,
  deps: CynerioConnectorDeps = {},
): CynerioConnector {
  const log = deps.log ?? silentLogger;
  const now = deps.now ?? Date.now;
  const client = new CynerioClient(config, { log, dispatcher: deps.dispatcher, now });

  async function* poll(
    stream: string,
    cursor: Cursor | null,
    options: PollOptions = {},
  ): AsyncGenerator<Page> {
    if (stream === "event") throw new PermanentError(CYNERIO_EVENT_IS_PUSHED);
    if (stream !== "asset")
      throw new PermanentError(
        `polling cynerio: unknown stream "${stream}" (pull streams: ${CYNERIO_PULL_STREAMS.join(", ")})`,
      );
    const ctx: StreamContext = {
      client,
      config,
      log,
      pageSize: Math.min(options.pageSize ?? config.pageSize, CYNERIO_MAX_PAGE_SIZE),
      now,
      signal: options.signal,
    };
    yield* pollAssets(cursor, ctx);
  }

  return {
    source: "cynerio",
    streams: CYNERIO_PULL_STREAMS,
    client,
    poll,
    validate: () => client.validate(),
    close: () => client.close(),
  };
}
