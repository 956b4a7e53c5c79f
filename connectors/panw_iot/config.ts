/**
 * Configuration of the Palo Alto Networks IoT Security connector, parsed once (STYLE house rule 2):
 * unknown keys are rejected, every problem is reported with its path, the keys are typed so they
 * redact themselves.
 */
import { z } from "zod";
import { secretSchema, tlsSchema } from "../../core/config-fields.ts";
import { connectorRetrySchema, httpUrlSchema, positiveInt } from "../config-common.ts";

/** Largest `pagelength` the API accepts (XSOAR `PAGELENGTH`; README "0 <= pagelength <= 1000"). */
export const PANW_IOT_MAX_PAGE_SIZE = 1000;

export const panwIotConfigSchema = z
  .strictObject({
    /**
     * Tenant portal, `https://<tenant>.iot.paloaltonetworks.com`. A trailing `/pub/v4.0` is
     * accepted and ignored: the connector appends the API paths itself.
     */
    baseUrl: httpUrlSchema,
    /** Tenant id, sent as `customerid=<id>` on every request. */
    customerId: z.string().min(1, "must not be empty"),
    /** Access key id, sent as the `X-Key-Id` header. */
    keyId: secretSchema,
    /** Secret access key, sent as the `X-Access-Key` header. */
    accessKey: secretSchema,
    /** TLS settings. @defaultValue `{ verify: true }` */
    tls: tlsSchema.prefault({}),
    /** Records per request (`pagelength`). @defaultValue 1000 (maximum {@link PANW_IOT_MAX_PAGE_SIZE}) */
    pageSize: positiveInt(PANW_IOT_MAX_PAGE_SIZE).default(1000),
    /**
     * How far back the first poll of the alert and vulnerability streams reaches, in seconds.
     * `0` reads the whole history (`stime=-1`, as XSOAR's first fetch).
     * @defaultValue 86400
     */
    initialLookbackSeconds: z.number().int().nonnegative().default(86_400),
    /**
     * `stime` of the device inventory on its first poll, in seconds before now (XSOAR uses 30
     * days); later polls ask for the devices active since the previous poll started.
     * @defaultValue 2592000
     */
    deviceLookbackSeconds: positiveInt().default(2_592_000),
    /**
     * Boundary rule after a stream was read to its end. `next-millisecond` is XSOAR's: every record
     * sharing the last `date` has been read, so the next `stime` is that date + 1 ms.
     * `seen-ids` keeps `stime` = the last date and drops the ids already handed on (monitors.md
     * §1), which also catches records that arrive later with that same millisecond.
     * @defaultValue "next-millisecond"
     */
    boundary: z.enum(["next-millisecond", "seen-ids"]).default("next-millisecond"),
    /** Also collect resolved alerts (`resolved=no` is left out). XSOAR fetches unresolved ones only. @defaultValue false */
    includeResolvedAlerts: z.boolean().default(false),
    /** Headers and body timeout of one request, in milliseconds. @defaultValue 60000 */
    timeoutMs: positiveInt().default(60_000),
    /** Retry policy for 429, 5xx, non-JSON bodies and network errors. */
    retry: connectorRetrySchema.prefault({}),
  })
  .describe("panw_iot connector");

/** Config as written in a file (defaults optional, keys as strings). */
export type PanwIotConfigInput = z.input<typeof panwIotConfigSchema>;
/** Parsed config, every default applied. */
export type PanwIotConfig = z.output<typeof panwIotConfigSchema>;
