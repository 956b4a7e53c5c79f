/**
 * Forescout eyeSight connector: the `host` stream from the Web API (pull), returned untouched.
 * Hosts Forescout pushes (eyeExtend Connect) reach the same stream through the HTTP push receiver;
 * `mappings/forescout/host.ts` maps both forms to the same document.
 */
import type { Dispatcher } from "undici";
import { PermanentError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import type { Connector, Cursor, Page, PollOptions } from "../types.ts";
import { ForescoutClient } from "./client.ts";
import type { ForescoutConfig } from "./config.ts";
import { FORESCOUT_STREAMS, isForescoutStream, pollForescoutHosts } from "./streams.ts";

export { ForescoutClient } from "./client.ts";
export {
  DEFAULT_HOST_FIELDS,
  type ForescoutConfig,
  type ForescoutConfigInput,
  forescoutConfigSchema,
} from "./config.ts";
export type * from "./records.ts";
export { FORESCOUT_STREAMS, type ForescoutStream, hostTimeMs } from "./streams.ts";

export interface ForescoutConnectorDeps {
  log?: Logger;
  dispatcher?: Dispatcher;
  now?: () => number;
}

export interface ForescoutConnector extends Connector {
  readonly client: ForescoutClient;
}

/** Creates the Forescout connector from a parsed config (`forescoutConfigSchema.parse(raw)`). */
export function createForescoutConnector(
  config: ForescoutConfig,
  deps: ForescoutConnectorDeps = {},
): ForescoutConnector {
  const log = deps.log ?? silentLogger;
  const client = new ForescoutClient(config, { log, dispatcher: deps.dispatcher, now: deps.now });

  async function* poll(
    stream: string,
    cursor: Cursor | null,
    options: PollOptions = {},
  ): AsyncGenerator<Page> {
    if (!isForescoutStream(stream))
      throw new PermanentError(
        `polling forescout: unknown stream "${stream}" (expected ${FORESCOUT_STREAMS.join(", ")})`,
      );
    yield* pollForescoutHosts(cursor, {
      client,
      log,
      pageSize: options.pageSize ?? config.pageSize,
      concurrency: config.concurrency,
      hostFields: config.hostFields,
      matchRuleIds: config.matchRuleIds,
      signal: options.signal,
    });
  }

  return {
    source: "forescout",
    streams: FORESCOUT_STREAMS,
    client,
    poll,
    validate: () => client.validate(),
    close: () => client.close(),
  };
}
