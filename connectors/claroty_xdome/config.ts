/**
 * Configuration of the Claroty xDome connector, parsed once (STYLE house rule 2): unknown keys are
 * rejected, every problem is reported with its path, the API token is typed so it redacts itself.
 */
import { z } from "zod";
import { secretSchema, tlsSchema } from "../../core/config-fields.ts";
import { connectorRetrySchema, httpUrlSchema, positiveInt } from "../config-common.ts";

/** Largest `limit` xDome accepts (`get_devices_parameters.py` in guruevi/medigate_api: 0–5000). */
export const XDOME_MAX_PAGE_SIZE = 5000;

export const xdomeConfigSchema = z
  .strictObject({
    /**
     * API host, `https://api.claroty.com` (or the tenant's host). A trailing `/api/v1` is accepted
     * and ignored: the connector appends the API paths itself.
     */
    baseUrl: httpUrlSchema,
    /** Static API token, sent as `Authorization: Bearer <token>`. A 401 means it was revoked. */
    apiToken: secretSchema,
    /** TLS settings. @defaultValue `{ verify: true }` */
    tls: tlsSchema.prefault({}),
    /** Records per request (`limit`). @defaultValue 1000 (maximum {@link XDOME_MAX_PAGE_SIZE}) */
    pageSize: positiveInt(XDOME_MAX_PAGE_SIZE).default(1000),
    /**
     * How far back the first poll of a stream (no cursor yet) reaches, in seconds. `0` reads the
     * whole history.
     * @defaultValue 86400
     */
    initialLookbackSeconds: z.number().int().nonnegative().default(86_400),
    /**
     * Leave out retired devices (`retired` / `device_retired` in [false]), as XSOAR's fetch does.
     * @defaultValue true
     */
    excludeRetired: z.boolean().default(true),
    /**
     * Device field the device stream filters and sorts on. `updated_time` is the field of the
     * request-model example in the reference; which device timestamp a tenant exposes is unverified.
     * @defaultValue "updated_time"
     */
    deviceCursorField: z.string().min(1).default("updated_time"),
    /**
     * Relation field the vulnerability stream filters and sorts on. The default is the
     * per-(device, vulnerability) detection date, so a new device matched to an old CVE is not
     * missed; `vulnerability_last_updated` is the alternative the reference names (unverified
     * which one a tenant can filter on).
     * @defaultValue "device_vulnerability_detection_date"
     */
    vulnerabilityCursorField: z
      .enum(["device_vulnerability_detection_date", "vulnerability_last_updated"])
      .default("device_vulnerability_detection_date"),
    /** Headers and body timeout of one request, in milliseconds. @defaultValue 60000 */
    timeoutMs: positiveInt().default(60_000),
    /** Retry policy for 429, 5xx, non-JSON bodies and network errors. */
    retry: connectorRetrySchema.prefault({}),
  })
  .describe("claroty_xdome connector");

/** Config as written in a file (defaults optional, token as a string). */
export type XDomeConfigInput = z.input<typeof xdomeConfigSchema>;
/** Parsed config, every default applied. */
export type XDomeConfig = z.output<typeof xdomeConfigSchema>;
