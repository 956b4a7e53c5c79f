/**
 * Claroty xDome connector: devices, device × alert pairs, device × vulnerability pairs and OT
 * activity events from the xDome REST API, returned untouched. See `streams.ts` for the cursor
 * rules and `client.ts` for authentication and retries.
 */
import type { Dispatcher } from "undici";
import { PermanentError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import type { Connector, Cursor, Page, PollOptions } from "../types.ts";
import { XDomeClient } from "./client.ts";
import { XDOME_MAX_PAGE_SIZE, type XDomeConfig } from "./config.ts";
import { isXDomeStream, pollXDomeStream, streamSpec, XDOME_STREAMS } from "./streams.ts";

export { XDomeClient } from "./client.ts";
export { XDOME_MAX_PAGE_SIZE, type XDomeConfig, type XDomeConfigInput, xdomeConfigSchema } from "./config.ts";
export type * from "./records.ts";
export { XDOME_STREAMS, type XDomeStream } from "./streams.ts";

export interface XDomeConnectorDeps {
  /** @defaultValue `silentLogger` */
  log?: Logger;
  /** Dispatcher replacing the connector's own TLS agent (tests). @defaultValue an undici `Agent` built from `config.tls` */
  dispatcher?: Dispatcher;
  /** Clock, epoch milliseconds. @defaultValue Date.now */
  now?: () => number;
}

/** Creates the xDome connector from a parsed config (`xdomeConfigSchema.parse(raw)`). */
export function createXDomeConnector(config: XDomeConfig, deps: XDomeConnectorDeps = {}): Connector {
  const log = deps.log ?? silentLogger;
  const client = new XDomeClient(config, { log, dispatcher: deps.dispatcher });

  async function* poll(
    stream: string,
    cursor: Cursor | null,
    options: PollOptions = {},
  ): AsyncGenerator<Page> {
    if (!isXDomeStream(stream))
      throw new PermanentError(
        `polling claroty_xdome: unknown stream "${stream}" (expected ${XDOME_STREAMS.join(", ")})`,
      );
    yield* pollXDomeStream(stream, streamSpec(stream, config), cursor, {
      client,
      log,
      pageSize: Math.min(options.pageSize ?? config.pageSize, XDOME_MAX_PAGE_SIZE),
      initialLookbackSeconds: config.initialLookbackSeconds,
      excludeRetired: config.excludeRetired,
      now: deps.now ?? Date.now,
      signal: options.signal,
    });
  }

  return {
    source: "claroty_xdome",
    streams: XDOME_STREAMS,
    poll,
    validate: () => client.validate(),
    close: () => client.close(),
  };
}
