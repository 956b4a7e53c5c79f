/** `sinks.splunk` settings of the HEC sink (Vector: `splunk_hec/logs/config.rs`). */
import { hostname } from "node:os";
import { z } from "zod";
import { secretSchema, tlsSchema } from "../../../core/config-fields.ts";
import { serviceUrlSchema } from "../common.ts";

/** A Splunk channel id. */
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Splunk HTTP Event Collector sink settings (`sinks.splunk` in medsoc.yaml). */
export const splunkHecSinkConfigSchema = z.strictObject({
  /** HEC base URL, without path (`https://splunk.example:8088`). */
  url: serviceUrlSchema,
  /** HEC token (a GUID); sent as `Authorization: Splunk <token>`. */
  token: secretSchema,
  /** Path of the JSON event endpoint. @defaultValue "/services/collector/event" */
  endpointPath: z.string().startsWith("/").default("/services/collector/event"),
  /** Target index; must be in the token's allowed indexes (else code 7). @defaultValue the token's default index */
  index: z
    .string()
    .regex(/^[a-z0-9_][a-z0-9_-]*$/, "Splunk index names are lower case letters, digits, '_' and '-'")
    .optional(),
  /** The envelope `host`. @defaultValue this machine's host name */
  host: z
    .string()
    .min(1)
    .default(() => hostname()),
  /** TLS: verification on by default, optional private CA. */
  tls: tlsSchema.prefault({}),
  /** Compress request bodies (`Content-Encoding: gzip`). @defaultValue true */
  gzip: z.boolean().default(true),
  /** Flush a request when its uncompressed body would pass this size. @defaultValue 1048576 (bytes, 1 MiB) */
  maxBatchBytes: z
    .number()
    .int()
    .min(1024)
    .max(800 * 1024 * 1024)
    .default(1024 * 1024),
  /** Flush a request at this many events. @defaultValue 500 (events) */
  maxBatchEvents: z.number().int().min(1).max(100_000).default(500),
  /** A single serialised event above this is dead-lettered, never sent (Splunk `maxEventSize`). @defaultValue 5242880 (bytes, 5 MB) */
  maxEventBytes: z
    .number()
    .int()
    .min(1024)
    .default(5 * 1024 * 1024),
  /** Requests in flight at once per `write`. @defaultValue 2 */
  concurrency: z.number().int().min(1).max(32).default(2),
  /** Timeout of one HTTP request (headers and body). @defaultValue 10000 (ms) */
  requestTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  /** Retries of a whole request on network errors, 5xx (codes 8, 9, 18–20) and 429. */
  retry: z
    .strictObject({
      /** Attempts per request, first one included; then the write fails as retryable. @defaultValue 5 */
      maxAttempts: z.number().int().min(1).max(50).default(5),
      /** Backoff base: attempt n waits about base·2^(n-1), jittered; Retry-After is a floor. @defaultValue 500 (ms) */
      baseDelayMs: z.number().int().min(0).default(500),
      /** Backoff ceiling. @defaultValue 30000 (ms) */
      maxDelayMs: z.number().int().min(0).default(30_000),
    })
    .prefault({}),
  /**
   * Indexer acknowledgement (the token must have `useACK`; Splunk Enterprise only). A batch counts as
   * delivered when `/services/collector/ack` answers true for its `ackId`. @defaultValue false
   */
  useAck: z.boolean().default(false),
  ack: z
    .strictObject({
      /** Channel GUID (`X-Splunk-Request-Channel`). @defaultValue a random GUID per sink */
      channel: z.string().regex(GUID, "must be a GUID").optional(),
      /** Time between ack polls. @defaultValue 10000 (ms) */
      pollIntervalMs: z.number().int().min(1).default(10_000),
      /** A batch not acknowledged within this time is sent again (at-least-once). @defaultValue 300000 (ms) */
      timeoutMs: z.number().int().min(1).default(300_000),
      /** Batches awaiting acknowledgement at once; sending waits when full. @defaultValue 1000 */
      maxPending: z.number().int().min(1).max(1_000_000).default(1000),
      /** Resends after an ack timeout before the batch is dead-lettered. @defaultValue 2 */
      maxResends: z.number().int().min(0).max(20).default(2),
    })
    .prefault({}),
});

/** Parsed settings. */
export type SplunkHecSinkConfig = z.output<typeof splunkHecSinkConfigSchema>;
/** Settings as written in the file (defaults optional, the token as a string). */
export type SplunkHecSinkConfigInput = z.input<typeof splunkHecSinkConfigSchema>;
