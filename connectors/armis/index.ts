/**
 * Armis Centrix connector: devices, alerts and vulnerabilities (with their affected devices) from
 * the Armis REST API, returned untouched. See `streams.ts` for the cursor rules and `client.ts` for
 * authentication and retries.
 */
import type { Dispatcher } from "undici";
import { PermanentError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import type { Connector, Cursor, Page, PollOptions } from "../types.ts";
import { ArmisClient } from "./client.ts";
import { ARMIS_MAX_PAGE_SIZE, type ArmisConfig } from "./config.ts";
import {
  ARMIS_STREAMS,
  isArmisStream,
  pollSearchStream,
  pollVulnerabilityStream,
  type StreamContext,
} from "./streams.ts";

export { ArmisClient } from "./client.ts";
export { ARMIS_MAX_PAGE_SIZE, type ArmisConfig, type ArmisConfigInput, armisConfigSchema } from "./config.ts";
export type * from "./records.ts";
export { ARMIS_STREAMS, type ArmisStream } from "./streams.ts";

export interface ArmisConnectorDeps {
  /** @defaultValue `silentLogger` */
  log?: Logger;
  /** Dispatcher replacing the connector's own TLS agent (tests). @defaultValue an undici `Agent` built from `config.tls` */
  dispatcher?: Dispatcher;
  /** Clock, epoch milliseconds. @defaultValue Date.now */
  now?: () => number;
}

/** An Armis connector that also exposes its client (token counts for tests and metrics). */
export interface ArmisConnector extends Connector {
  readonly client: ArmisClient;
}

/** Creates the Armis connector from a parsed config (`armisConfigSchema.parse(raw)`). */
export function createArmisConnector(config: ArmisConfig, deps: ArmisConnectorDeps = {}): ArmisConnector {
  const log = deps.log ?? silentLogger;
  const now = deps.now ?? Date.now;
  const client = new ArmisClient(config, { log, dispatcher: deps.dispatcher, now });

  async function* poll(
    stream: string,
    cursor: Cursor | null,
    options: PollOptions = {},
  ): AsyncGenerator<Page> {
    if (!isArmisStream(stream))
      throw new PermanentError(
        `polling armis: unknown stream "${stream}" (expected ${ARMIS_STREAMS.join(", ")})`,
      );
    const ctx: StreamContext = {
      client,
      log,
      pageSize: Math.min(options.pageSize ?? config.pageSize, ARMIS_MAX_PAGE_SIZE),
      maxVulnerabilityRecordsPerPage: config.maxVulnerabilityRecordsPerPage,
      initialLookbackSeconds: config.initialLookbackSeconds,
      now,
      signal: options.signal,
    };
    if (stream === "vulnerability") yield* pollVulnerabilityStream(cursor, ctx);
    else yield* pollSearchStream(stream, cursor, ctx);
  }

  return {
    source: "armis",
    streams: ARMIS_STREAMS,
    client,
    poll,
    validate: () => client.validate(),
    close: () => client.close(),
  };
}
