/**
 * Configuration of the Nozomi Networks (Guardian / CMC) connector, parsed once (STYLE house rule 2):
 * unknown keys are rejected, every problem is reported with its path, credentials redact themselves.
 */
import { z } from "zod";
import { secretSchema, tlsSchema } from "../../core/config-fields.ts";
import { connectorRetrySchema, httpUrlSchema, positiveInt } from "../config-common.ts";

/** Largest `count` the query endpoint accepts (monitors.md §5; stix-shifter README). */
export const NOZOMI_MAX_COUNT = 10_000;
/** Largest `page` the query endpoint accepts (monitors.md §5). */
export const NOZOMI_MAX_PAGE = 1000;

/**
 * How the connector authenticates. `sign_in` exchanges an API key (`keyName`/`keyToken`) at
 * `POST /api/open/sign_in` for a JWT returned in the `Authorization` response header (newer XSOAR
 * and Sekoia clients; single source); `basic` sends HTTP Basic on every request (Elastic's package).
 */
export const nozomiAuthSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("sign_in"),
    /** API key name. */
    keyName: secretSchema,
    /** API key token. */
    keyToken: secretSchema,
    /**
     * When the appliance has no sign-in endpoint (404/405), send the key pair as HTTP Basic instead,
     * as the XSOAR client does. @defaultValue true
     */
    fallbackToBasic: z.boolean().default(true),
  }),
  z.strictObject({
    type: z.literal("basic"),
    username: secretSchema,
    password: secretSchema,
  }),
]);

export const nozomiConfigSchema = z
  .strictObject({
    /** Guardian or CMC appliance, `https://<appliance>`. */
    baseUrl: httpUrlSchema,
    /** Credentials. */
    auth: nozomiAuthSchema,
    /** TLS settings. @defaultValue `{ verify: true }` */
    tls: tlsSchema.prefault({}),
    /** Records per query page (`count`). @defaultValue 1000 (maximum {@link NOZOMI_MAX_COUNT}) */
    pageSize: positiveInt(NOZOMI_MAX_COUNT).default(1000),
    /**
     * Pages read from one query before it is re-issued from the newest time seen (the appliance
     * refuses `page` above {@link NOZOMI_MAX_PAGE}). @defaultValue 1000
     */
    maxPagesPerQuery: positiveInt(NOZOMI_MAX_PAGE).default(NOZOMI_MAX_PAGE),
    /**
     * Epoch-millisecond field each stream filters and sorts on. `asset` uses `last_activity_time`
     * so that updated assets are read again (Elastic's package uses `created_at`, which only
     * finds new assets); `alert` and `node_cve` use `time` (XSOAR; Elastic uses `record_created_at`).
     */
    timeFields: z
      .strictObject({
        asset: z
          .string()
          .regex(/^[a-z_]+$/)
          .default("last_activity_time"),
        alert: z
          .string()
          .regex(/^[a-z_]+$/)
          .default("time"),
        node_cve: z
          .string()
          .regex(/^[a-z_]+$/)
          .default("time"),
      })
      .prefault({}),
    /**
     * How far back the first poll of a stream (no cursor yet) reaches, in seconds. `0` reads the
     * whole history. @defaultValue 86400
     */
    initialLookbackSeconds: z.number().int().nonnegative().default(86_400),
    /** Token lifetime assumed when the JWT carries no readable `exp`, in seconds. @defaultValue 1800 */
    defaultTokenLifetimeSeconds: positiveInt().default(1800),
    /** Seconds before expiry at which the cached token is replaced proactively. @defaultValue 60 */
    tokenRefreshSkewSeconds: z.number().int().nonnegative().default(60),
    /** Headers and body timeout of one request, in milliseconds. @defaultValue 60000 */
    timeoutMs: positiveInt().default(60_000),
    /** Retry policy for 429, 5xx, non-JSON bodies and network errors. */
    retry: connectorRetrySchema.prefault({}),
  })
  .describe("nozomi connector");

/** Config as written in a file (defaults optional, secrets as strings). */
export type NozomiConfigInput = z.input<typeof nozomiConfigSchema>;
/** Parsed config, every default applied. */
export type NozomiConfig = z.output<typeof nozomiConfigSchema>;
