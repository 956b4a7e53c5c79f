/**
 * Configuration of the Forescout eyeSight Web API connector, parsed once (STYLE house rule 2):
 * unknown keys are rejected, every problem is reported with its path, credentials redact themselves.
 */
import { z } from "zod";
import { secretSchema, tlsSchema } from "../../core/config-fields.ts";
import { connectorRetrySchema, httpUrlSchema, positiveInt } from "../config-common.ts";

/**
 * Host properties requested per host (`?fields=`): XSOAR's `HOSTFIELDS_TO_INCLUDE` core plus the
 * ones the mapping reads (`hostname`, `user`, `segment_path`).
 */
export const DEFAULT_HOST_FIELDS: readonly string[] = [
  "hostname",
  "nbthost",
  "dhcp_hostname",
  "os_classification",
  "vendor_classification",
  "prim_classification",
  "mac_vendor_string",
  "segment_path",
  "user",
  "online",
  "openports",
  "access_ip",
];

export const forescoutConfigSchema = z
  .strictObject({
    /** Enterprise Manager or standalone appliance, `https://<em>`. */
    baseUrl: httpUrlSchema,
    /** Web API user (Options > Web API > User Settings). */
    username: secretSchema,
    /** Web API password. */
    password: secretSchema,
    /** TLS settings. @defaultValue `{ verify: true }` */
    tls: tlsSchema.prefault({}),
    /** Host properties requested for every host. @defaultValue {@link DEFAULT_HOST_FIELDS} */
    hostFields: z
      .array(z.string().regex(/^[A-Za-z0-9_.-]+$/, "must be a host property name"))
      .min(1)
      .default([...DEFAULT_HOST_FIELDS]),
    /** Only hosts matched by these policy rules (`?matchRuleId=`). @defaultValue every host */
    matchRuleIds: z.array(z.string().regex(/^\d+$/, "must be a numeric rule id")).optional(),
    /** Host records per yielded page. @defaultValue 200 */
    pageSize: positiveInt(10_000).default(200),
    /** Host detail requests in flight at once. @defaultValue 4 */
    concurrency: positiveInt(32).default(4),
    /**
     * How the JWT goes in the `Authorization` header: `raw` (the token alone, as XSOAR sends it)
     * or `bearer` (`Bearer <token>`). Which one current releases want is unverified (monitors.md §12).
     * @defaultValue "raw"
     */
    authorizationScheme: z.enum(["raw", "bearer"]).default("raw"),
    /** JWT lifetime assumed when the token carries no readable `exp`, in seconds (XSOAR: 5 minutes). @defaultValue 300 */
    tokenLifetimeSeconds: positiveInt().default(300),
    /** Seconds before expiry at which the JWT is replaced proactively. @defaultValue 30 */
    tokenRefreshSkewSeconds: z.number().int().nonnegative().default(30),
    /** Headers and body timeout of one request, in milliseconds. @defaultValue 60000 */
    timeoutMs: positiveInt().default(60_000),
    /** Retry policy for 429, 5xx, non-JSON bodies and network errors. */
    retry: connectorRetrySchema.prefault({}),
  })
  .describe("forescout connector");

export type ForescoutConfigInput = z.input<typeof forescoutConfigSchema>;
export type ForescoutConfig = z.output<typeof forescoutConfigSchema>;
