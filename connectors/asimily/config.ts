/**
 * Configuration of the Asimily Insight connector, parsed once (STYLE house rule 2). Endpoints,
 * Basic auth, the `filters` body, Spring-style pages and the page caps come from the Cortex XSOAR
 * "Asimily Insight" integration (monitors.md §7, `data/vendors/asimily/xsoar_api_shapes.json`).
 */
import { z } from "zod";
import { secretSchema, tlsSchema } from "../../core/config-fields.ts";
import { connectorRetrySchema, httpUrlSchema, positiveInt } from "../config-common.ts";

/**
 * Page caps used by the XSOAR integration (`page_limits_in_xsoar`): assets 400, anomalies 100,
 * device CVEs 25 per page. Larger page sizes are refused.
 */
export const ASIMILY_PAGE_CAPS = Object.freeze({ asset: 400, anomaly: 100, cve: 25 });

/** One Asimily filter condition, `{"operator": ":", "value": "X-Ray"}`. */
export const asimilyFilterSchema = z.strictObject({
  operator: z.string().min(1),
  value: z.union([z.string(), z.number(), z.boolean()]),
});

export const asimilyConfigSchema = z
  .strictObject({
    /** Customer-specific Asimily Insight URL (`https://<portal>`); the connector appends `/api/extapi/…`. */
    baseUrl: httpUrlSchema,
    /** API user (HTTP Basic). */
    username: z.string().min(1),
    /** API password (HTTP Basic). */
    password: secretSchema,
    /** TLS settings. @defaultValue `{ verify: true }` */
    tls: tlsSchema.prefault({}),
    /** Records per page, per stream, at most {@link ASIMILY_PAGE_CAPS}. @defaultValue the caps */
    pageSize: z
      .strictObject({
        asset: positiveInt(ASIMILY_PAGE_CAPS.asset).default(ASIMILY_PAGE_CAPS.asset),
        anomaly: positiveInt(ASIMILY_PAGE_CAPS.anomaly).default(ASIMILY_PAGE_CAPS.anomaly),
        cve: positiveInt(ASIMILY_PAGE_CAPS.cve).default(ASIMILY_PAGE_CAPS.cve),
      })
      .prefault({}),
    /**
     * Extra filters sent in every request body (`{"deviceFamily": [{"operator": ":", "value":
     * "Infusion Pump"}]}`), for example to collect one device family only. @defaultValue none
     */
    filters: z.record(z.string().min(1), z.array(asimilyFilterSchema).min(1)).default({}),
    /**
     * Format of the `anomaliesLastUpdatedSince` / `cvesLastUpdatedSince` values, which the
     * reference does not give (monitors.md §7, "format unverified"). @defaultValue "iso"
     */
    sinceFormat: z.enum(["iso", "epoch_millis"]).default("iso"),
    /** Operator of the `*LastUpdatedSince` conditions (unverified; most documented filters use `:`). @defaultValue ":" */
    sinceOperator: z.string().min(1).default(":"),
    /**
     * Field of an anomaly (then of its device entry) that the cursor follows. Not in the public
     * mock (which is trimmed); ASSUMED. @defaultValue "lastUpdated"
     */
    anomalyTimeField: z.string().min(1).default("lastUpdated"),
    /** Field of a device CVE (then of its device entry) that the cursor follows; ASSUMED. @defaultValue "lastUpdated" */
    cveTimeField: z.string().min(1).default("lastUpdated"),
    /**
     * How far back the first anomaly/CVE poll (no cursor yet) reaches, in seconds; `0` reads
     * everything. @defaultValue 0
     */
    initialLookbackSeconds: z.number().int().nonnegative().default(0),
    /**
     * The asset inventory has no documented "updated since" filter, so each asset poll reads a full
     * snapshot; a poll within this many seconds of the last complete snapshot returns nothing.
     * `0` snapshots on every poll. @defaultValue 3600
     */
    assetSnapshotIntervalSeconds: z.number().int().nonnegative().default(3600),
    /** Headers and body timeout of one request, in milliseconds (XSOAR: 180 s). @defaultValue 180000 */
    timeoutMs: positiveInt().default(180_000),
    /** Retry policy for 429, 5xx, non-JSON bodies and network errors (XSOAR: 4 retries). */
    retry: connectorRetrySchema.prefault({}),
  })
  .describe("asimily connector");

/** Config as written in a file (defaults optional, secret as a string). */
export type AsimilyConfigInput = z.input<typeof asimilyConfigSchema>;
/** Parsed config, every default applied. */
export type AsimilyConfig = z.output<typeof asimilyConfigSchema>;
