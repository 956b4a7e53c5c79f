/**
 * Palo Alto Networks IoT Security connector: the device inventory, policy alerts and confirmed
 * vulnerabilities from the `/pub/v4.0` API, returned untouched. See `streams.ts` for the cursor
 * rules and `client.ts` for authentication and retries.
 */
import type { Dispatcher } from "undici";
import { PermanentError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import type { Connector, Cursor, Page, PollOptions } from "../types.ts";
import { PanwIotClient } from "./client.ts";
import { PANW_IOT_MAX_PAGE_SIZE, type PanwIotConfig } from "./config.ts";
import { isPanwIotStream, PANW_IOT_STREAMS, pollDeviceStream, pollTimedStream } from "./streams.ts";

export { PanwIotClient } from "./client.ts";
export {
  PANW_IOT_MAX_PAGE_SIZE,
  type PanwIotConfig,
  type PanwIotConfigInput,
  panwIotConfigSchema,
} from "./config.ts";
export type * from "./records.ts";
export { PANW_IOT_STREAMS, type PanwIotStream } from "./streams.ts";

export interface PanwIotConnectorDeps {
  /** @defaultValue `silentLogger` */
  log?: Logger;
  /** Dispatcher replacing the connector's own TLS agent (tests). @defaultValue an undici `Agent` built from `config.tls` */
  dispatcher?: Dispatcher;
  /** Clock, epoch milliseconds. @defaultValue Date.now */
  now?: () => number;
}

/** Creates the IoT Security connector from a parsed config (`panwIotConfigSchema.parse(raw)`). */
export function createPanwIotConnector(config: PanwIotConfig, deps: PanwIotConnectorDeps = {}): Connector {
  const log = deps.log ?? silentLogger;
  const client = new PanwIotClient(config, { log, dispatcher: deps.dispatcher });

  async function* poll(
    stream: string,
    cursor: Cursor | null,
    options: PollOptions = {},
  ): AsyncGenerator<Page> {
    if (!isPanwIotStream(stream))
      throw new PermanentError(
        `polling panw_iot: unknown stream "${stream}" (expected ${PANW_IOT_STREAMS.join(", ")})`,
      );
    const ctx = {
      client,
      log,
      config,
      pageSize: Math.min(options.pageSize ?? config.pageSize, PANW_IOT_MAX_PAGE_SIZE),
      now: deps.now ?? Date.now,
      signal: options.signal,
    };
    if (stream === "device") yield* pollDeviceStream(cursor, ctx);
    else yield* pollTimedStream(stream, cursor, ctx);
  }

  return {
    source: "panw_iot",
    streams: PANW_IOT_STREAMS,
    poll,
    validate: () => client.validate(),
    close: () => client.close(),
  };
}
