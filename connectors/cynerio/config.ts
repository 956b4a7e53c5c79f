/**
 * Configuration of the Cynerio connector, parsed once (STYLE house rule 2).
 *
 * Cynerio's pull API is known only from one third-party guide (monitors.md §4: OAuth 2.0 client
 * credentials, a token host and an API host, the requestable asset fields). Its paths, paging and
 * cursor field are NOT public, so every one of them is a setting here; the defaults describe the
 * shape medsoc's simulator serves and are an ASSUMPTION to confirm against the customer's tenant
 * documentation before relying on them.
 *
 * Events have no pull API: Cynerio pushes them (HTTP and syslog), see `connectors/cynerio/index.ts`.
 */
import { z } from "zod";
import { secretSchema, tlsSchema } from "../../core/config-fields.ts";
import { connectorRetrySchema, httpUrlSchema, positiveInt } from "../config-common.ts";

/** Largest page size accepted (no documented Cynerio maximum; kept moderate until confirmed). */
export const CYNERIO_MAX_PAGE_SIZE = 1000;

/** The asset fields the Hornbill guide lists as requestable (monitors.md §4). */
export const CYNERIO_ASSET_FIELDS = [
  "id",
  "status",
  "vertical_display_name",
  "severity",
  "department",
  "category",
  "display_name",
  "model",
  "vendor",
  "last_seen",
  "serial_number",
  "first_seen",
  "ip",
  "network.vlan",
  "mac",
  "access_point.name",
  "network.ip_allocation",
  "endpoint_protection.agent",
  "os",
  "firmware_version",
  "hardware_version",
  "software_version",
  "phi",
  "type_display_name",
] as const;

const paramName = z.string().regex(/^[A-Za-z0-9_.[\]-]+$/, "must be a query parameter name");

/**
 * Where and how assets are listed. ASSUMED (not public): every default below.
 */
export const cynerioAssetsSchema = z
  .strictObject({
    /** Path of the asset list under `baseUrl`. @defaultValue "/api/v1/assets" (assumed) */
    path: z
      .string()
      .regex(/^\/\S*$/, "must start with /")
      .default("/api/v1/assets"),
    /** Query parameter carrying the page number. @defaultValue "page" (assumed) */
    pageParam: paramName.default("page"),
    /** Number of the first page (0 or 1). @defaultValue 1 (assumed) */
    firstPage: z.union([z.literal(0), z.literal(1)]).default(1),
    /** Query parameter carrying the page size. @defaultValue "page_size" (assumed) */
    pageSizeParam: paramName.default("page_size"),
    /**
     * Dotted path of the record array in the response body; `""` when the body is the array itself.
     * @defaultValue "assets" (assumed)
     */
    itemsField: z.string().default("assets"),
    /**
     * The asset field the cursor follows (a last-seen/updated time: epoch seconds, epoch ms or
     * ISO-8601 are all read). @defaultValue "last_seen" (a documented requestable field)
     */
    cursorField: z.string().min(1).default("last_seen"),
    /** The asset id field (boundary tie-break). @defaultValue "id" (a documented field) */
    idField: z.string().min(1).default("id"),
    /**
     * Query parameter of the inclusive lower bound on `cursorField`; `null` when the API has none
     * (every poll then reads the whole inventory and drops what the cursor already covers).
     * @defaultValue "last_seen_from" (assumed)
     */
    sinceParam: paramName.nullable().default("last_seen_from"),
    /** Format of the lower bound. @defaultValue "epoch_seconds" (Cynerio's event times are epoch seconds) */
    sinceFormat: z.enum(["epoch_seconds", "epoch_millis", "iso"]).default("epoch_seconds"),
    /**
     * Query parameter and value asking for ascending `cursorField` order; `null` when the API
     * has no sort parameter. @defaultValue `{ param: "sort", value: "last_seen" }` (assumed)
     */
    sort: z
      .strictObject({ param: paramName, value: z.string().min(1) })
      .nullable()
      .default({
        param: "sort",
        value: "last_seen",
      }),
    /**
     * Query parameter listing the requested fields (comma-separated), `null` to ask for the
     * default set. @defaultValue "fields" (assumed name; the field list itself is documented)
     */
    fieldsParam: paramName.nullable().default("fields"),
    /** Requested fields. @defaultValue {@link CYNERIO_ASSET_FIELDS} */
    fields: z
      .array(z.string().min(1))
      .min(1)
      .default([...CYNERIO_ASSET_FIELDS]),
    /** Documented filters (monitors.md §4): only these categories / departments. @defaultValue none */
    category: z.array(z.string().min(1)).optional(),
    department: z.array(z.string().min(1)).optional(),
  })
  .describe("cynerio asset listing");

export const cynerioConfigSchema = z
  .strictObject({
    /** API URL, `https://<account>.cyner.io` (monitors.md §4). */
    baseUrl: httpUrlSchema,
    /**
     * Full OAuth 2.0 token endpoint URL on the portal-login host (`https://<portal-login>.cynerio.com/…`).
     * The path is not public: copy it from the tenant's API documentation.
     */
    tokenUrl: httpUrlSchema,
    /** OAuth 2.0 client id. */
    clientId: z.string().min(1),
    /** OAuth 2.0 client secret. */
    clientSecret: secretSchema,
    /** Optional OAuth 2.0 `scope`. @defaultValue none */
    scope: z.string().min(1).optional(),
    /** Optional `audience` parameter some identity providers require. @defaultValue none */
    audience: z.string().min(1).optional(),
    /**
     * How the client authenticates to the token endpoint: `basic` (HTTP Basic, which RFC 6749
     * §2.3.1 requires servers to support) or `body` (`client_id`/`client_secret` form fields).
     * @defaultValue "basic"
     */
    clientAuth: z.enum(["basic", "body"]).default("basic"),
    /** TLS settings of both hosts. @defaultValue `{ verify: true }` */
    tls: tlsSchema.prefault({}),
    /** Asset listing (paths and parameters are assumptions, see above). */
    assets: cynerioAssetsSchema.prefault({}),
    /** Records per asset request. @defaultValue 500 (maximum {@link CYNERIO_MAX_PAGE_SIZE}) */
    pageSize: positiveInt(CYNERIO_MAX_PAGE_SIZE).default(500),
    /**
     * How far back the first poll (no cursor yet) reaches, in seconds; `0` reads everything.
     * @defaultValue 0 (inventory: the whole fleet the first time)
     */
    initialLookbackSeconds: z.number().int().nonnegative().default(0),
    /** Seconds before the token's expiry at which it is replaced proactively. @defaultValue 60 */
    tokenRefreshSkewSeconds: z.number().int().nonnegative().default(60),
    /** Token lifetime assumed when the token response has no usable `expires_in`, in seconds. @defaultValue 300 */
    defaultTokenLifetimeSeconds: positiveInt().default(300),
    /** Headers and body timeout of one request, in milliseconds. @defaultValue 60000 */
    timeoutMs: positiveInt().default(60_000),
    /** Retry policy for 429, 5xx, non-JSON bodies and network errors. */
    retry: connectorRetrySchema.prefault({}),
  })
  .describe("cynerio connector");

/** Config as written in a file (defaults optional, secret as a string). */
export type CynerioConfigInput = z.input<typeof cynerioConfigSchema>;
/** Parsed config, every default applied. */
export type CynerioConfig = z.output<typeof cynerioConfigSchema>;
