/**
 * Configuration of the Armis Centrix connector, parsed once (STYLE house rule 2): unknown keys are
 * rejected, every problem is reported with its path, the secret key is typed so it redacts itself.
 */
import { z } from "zod";
import { secretSchema, tlsSchema } from "../../core/config-fields.ts";
import { connectorRetrySchema, httpUrlSchema, positiveInt } from "../config-common.ts";

/** Largest page size accepted. The reference gives no documented Armis maximum; Elastic's integration
 * defaults to 2000 in production, so larger values are refused until confirmed with Armis. */
export const ARMIS_MAX_PAGE_SIZE = 2000;

export const armisConfigSchema = z
  .strictObject({
    /**
     * Tenant URL, `https://<tenant>.armis.com`. A trailing `/api/v1` is accepted and ignored: the
     * connector appends the API paths itself.
     */
    baseUrl: httpUrlSchema,
    /** API secret key, exchanged for an access token at `POST /api/v1/access_token/`. */
    secretKey: secretSchema,
    /**
     * How the secret key is sent to the token endpoint. `body` is Elastic's JSON body
     * `{"secret_key": "…"}`; `query` is XSOAR's `?secret_key=` form, kept as a fallback because
     * which one Armis documents is unverified (monitors.md §3).
     * @defaultValue "body"
     */
    secretKeyIn: z.enum(["body", "query"]).default("body"),
    /** TLS settings. @defaultValue `{ verify: true }` */
    tls: tlsSchema.prefault({}),
    /**
     * Records per search request (`length`), and devices per vulnerability-match request.
     * @defaultValue 1000 (maximum {@link ARMIS_MAX_PAGE_SIZE})
     */
    pageSize: positiveInt(ARMIS_MAX_PAGE_SIZE).default(1000),
    /**
     * Most (vulnerability, device) records buffered before the vulnerability stream yields a page,
     * so one CVE matching half the fleet never sits in memory at once.
     * @defaultValue 5000
     */
    maxVulnerabilityRecordsPerPage: positiveInt(100_000).default(5000),
    /**
     * How far back the first poll of a stream (no cursor yet) reaches, in seconds. `0` reads the
     * whole history. Elastic's integration uses 24 hours.
     * @defaultValue 86400
     */
    initialLookbackSeconds: z.number().int().nonnegative().default(86_400),
    /**
     * Seconds before `expiration_utc` at which the cached access token is replaced proactively.
     * @defaultValue 60
     */
    tokenRefreshSkewSeconds: z.number().int().nonnegative().default(60),
    /**
     * Token lifetime assumed when the token response carries no parsable `expiration_utc`, in seconds.
     * @defaultValue 600
     */
    defaultTokenLifetimeSeconds: positiveInt().default(600),
    /** Headers and body timeout of one request, in milliseconds. @defaultValue 60000 */
    timeoutMs: positiveInt().default(60_000),
    /** Retry policy for 429, 5xx, non-JSON bodies and network errors. */
    retry: connectorRetrySchema.prefault({}),
  })
  .describe("armis connector");

/** Config as written in a file (defaults optional, secret as a string). */
export type ArmisConfigInput = z.input<typeof armisConfigSchema>;
/** Parsed config, every default applied. */
export type ArmisConfig = z.output<typeof armisConfigSchema>;
