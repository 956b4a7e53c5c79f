import { z } from "zod";
import { secretSchema } from "./config-fields.ts";
import { httpServerTimeoutsSchema } from "./http-server.ts";

/**
 * The sections of the medsoc configuration file that belong to no component: queue, sources, API,
 * push receivers, enrichment. The file as a whole (with the playbooks section and the connectors'
 * and sinks' own schemas) is assembled and validated in `worker/config.ts`: unknown keys are
 * rejected, every problem is reported at once with its path, secrets come from `${ENV_VAR}`
 * references and are typed so they redact themselves.
 */

const cronField = z
  .string()
  .regex(/^(\S+\s+){4,5}\S+$/, "must be a cron expression with 5 or 6 fields (seconds optional)");

export const queueSchema = z.strictObject({
  /** `memory` (one process, nothing to install) or `bullmq` (Redis, any number of processes). @defaultValue "memory" */
  driver: z.enum(["memory", "bullmq"]).default("memory"),
  /** Redis URL for the `bullmq` driver, cursors and run state. @defaultValue "redis://127.0.0.1:6379" */
  redisUrl: z.string().url().default("redis://127.0.0.1:6379"),
  /**
   * A Redis Cluster instead of the one Redis of `redisUrl` (which is then not used), with the
   * `bullmq` driver: every queue, cursor, delivery ledger, device state and playbook store of every
   * worker goes there. Keys that scripts and transactions change together share a hash tag, so each
   * group lives in one slot: one slot per queue (`<prefix>:{raw}:…`, `<prefix>:{sink-elasticsearch}:…`),
   * the device state (`<prefix>:{ds}:…`), the playbook runs, locks and audit chain
   * (`<prefix>:{pb}:…`), the delivery ledger (`<prefix>:{delivered}:…`); cursors and the dead-letter
   * list are single keys. On a single Redis the key names stay as they are (no braces).
   * @defaultValue none (a single Redis at `redisUrl`)
   */
  cluster: z
    .strictObject({
      /**
       * Seed nodes as `redis://[user:password@]host:port` (`rediss://` for TLS); the other nodes are
       * discovered from them. List several so a start does not depend on one node. The credentials and
       * TLS of the first node apply to every node.
       */
      nodes: z
        .array(
          z
            .string()
            .url()
            .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL"),
        )
        .min(1),
    })
    .optional(),
  /** Prefix of every Redis key and queue name (no `:`). @defaultValue "medsoc" */
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, "letters, digits, '_', '.', '-' only")
    .default("medsoc"),
  /** Attempts per job, first run included. @defaultValue 5 */
  attempts: z.number().int().min(1).max(50).default(5),
  /** Backoff base in ms; attempt n waits about base·2^(n-1) with jitter. @defaultValue 1000 */
  backoffMs: z.number().int().min(1).default(1000),
  /** Jobs processed at once per stage in this process. */
  concurrency: z
    .strictObject({
      /** @defaultValue 2 */
      poll: z.number().int().min(1).max(64).default(2),
      /** @defaultValue 2 */
      map: z.number().int().min(1).max(64).default(2),
      /** @defaultValue 2 */
      sink: z.number().int().min(1).max(64).default(2),
    })
    .prefault({}),
  /**
   * Backpressure: a poller waits while more than this many raw batches wait for mapping, and the
   * mapper waits while more than this many document batches wait for a sink. @defaultValue 16
   */
  maxPendingBatches: z.number().int().min(1).max(10_000).default(16),
  /**
   * A Redis outage shorter than this is ridden out: commands wait for Redis to come back and
   * `start --once` still finishes with exit 0. Past it, `start --once` stops with exit 1 and says
   * so. @defaultValue 60000 (ms)
   */
  redisGraceMs: z.number().int().min(1000).max(3_600_000).default(60_000),
});

export const sourceSchema = z.strictObject({
  /** Connector id (`armis`). */
  type: z.string().min(1),
  /** Instance name when a hospital runs two tenants of one monitor. @defaultValue the type */
  name: z
    .string()
    .regex(/^[a-z0-9_-]+$/, "lower-case letters, digits, '_' and '-' only")
    .optional(),
  /** Streams to poll. @defaultValue every stream of the connector */
  streams: z.array(z.string()).optional(),
  /** When to poll (node-cron; 6 fields = with seconds). @defaultValue every 5 minutes */
  schedule: cronField.default("*/5 * * * *"),
  /** Width of a poll slot in seconds (deterministic job ids per slot). @defaultValue 300 */
  intervalSeconds: z.number().int().min(1).default(300),
  /** Connector settings, validated by the connector's own schema. */
  config: z.record(z.string(), z.unknown()).default({}),
});

export const apiSchema = z.strictObject({
  /** Listen address. @defaultValue "127.0.0.1" */
  host: z.string().default("127.0.0.1"),
  /** Listen port; 0 picks a free one. @defaultValue 8787 */
  port: z.number().int().min(0).max(65535).default(8787),
  /** Turn the HTTP API off. @defaultValue true */
  enabled: z.boolean().default(true),
  /** Largest accepted request body in bytes (413 above). @defaultValue 1048576 (1 MiB) */
  maxBodyBytes: z.number().int().min(1024).max(104_857_600).default(1_048_576),
  /** Header, request, idle and keep-alive timeouts (docs/input-limits.md). */
  timeouts: httpServerTimeoutsSchema.prefault({}),
});

const portField = z.number().int().min(0).max(65535);
const sourceIdField = z.string().regex(/^[a-z0-9_-]+$/, "lower-case letters, digits, '_' and '-' only");

/** One syslog routing rule: CEF/LEEF vendor (and product) → source and stream. */
export const syslogRouteSchema = z.strictObject({
  /** CEF `Device Vendor` / LEEF `Vendor`, compared case-insensitively. */
  vendor: z.string().min(1),
  /** CEF `Device Product` / LEEF `Product`, case-insensitive; omitted = any product. */
  product: z.string().min(1).optional(),
  /** Source id (or instance name) the records belong to. */
  source: sourceIdField,
  /** Connector type selecting the mapping. @defaultValue the source */
  type: z.string().min(1).optional(),
  /** Stream name. */
  stream: z.string().min(1),
});

export const syslogReceiverSchema = z.strictObject({
  /** @defaultValue false */
  enabled: z.boolean().default(false),
  /** Listen address of every syslog listener. @defaultValue "127.0.0.1" */
  host: z.string().default("127.0.0.1"),
  /** UDP port (one message per datagram); omitted = no UDP listener; 0 picks a free port. */
  udpPort: portField.optional(),
  /** TCP port (octet-counting and newline framing, RFC 6587); omitted = no TCP listener. */
  tcpPort: portField.optional(),
  /** TLS port (RFC 5425 framing; newline framing also accepted); needs `tls.certFile` and `tls.keyFile`. */
  tlsPort: portField.optional(),
  tls: z
    .strictObject({
      /** PEM server certificate (chain). */
      certFile: z.string().min(1).optional(),
      /** PEM private key. */
      keyFile: z.string().min(1).optional(),
      /** PEM CA for client certificates; when set, senders must present one it signed. */
      caFile: z.string().min(1).optional(),
    })
    .prefault({}),
  /**
   * Kernel receive buffer of the UDP socket in bytes (Linux caps it at `net.core.rmem_max`). A burst
   * larger than the buffer is dropped by the kernel before medsoc can read it; those drops are
   * counted as `dropped_kernel` on Linux. @defaultValue 4194304 (4 MiB)
   */
  udpReceiveBufferBytes: z.number().int().min(65_536).max(268_435_456).default(4_194_304),
  /**
   * A TCP/TLS connection that sends nothing for this long is closed (senders reconnect); a silent or
   * trickling client cannot hold a socket forever. @defaultValue 600000 (10 minutes)
   */
  idleTimeoutMs: z.number().int().min(50).max(86_400_000).default(600_000),
  /** Longest accepted message in bytes; longer ones are rejected and counted. @defaultValue 65536 */
  maxMessageBytes: z.number().int().min(480).max(16_777_216).default(65_536),
  /** Records per raw batch. @defaultValue 500 */
  batchSize: z.number().int().min(1).max(100_000).default(500),
  /** A partial batch is enqueued after this many ms. @defaultValue 200 */
  flushMs: z.number().int().min(1).max(60_000).default(200),
  /**
   * Records held in memory waiting for the raw queue; at this bound TCP/TLS sockets stop being
   * read and UDP datagrams are dropped (and counted). @defaultValue 10000
   */
  maxBufferedRecords: z.number().int().min(1).max(10_000_000).default(10_000),
  /** Routing rules checked before the built-in table (each monitor definition's `syslog.routes`). @defaultValue [] */
  routes: z.array(syslogRouteSchema).default([]),
});

export const httpPushReceiverSchema = z.strictObject({
  /** @defaultValue false */
  enabled: z.boolean().default(false),
  /** Listen address. @defaultValue "127.0.0.1" */
  host: z.string().default("127.0.0.1"),
  /** Listen port; 0 picks a free one. @defaultValue 8788 */
  port: portField.default(8788),
  /** Largest accepted request body in bytes (413 above). @defaultValue 10485760 (10 MiB) */
  maxBodyBytes: z.number().int().min(1024).max(1_073_741_824).default(10_485_760),
  /** Records per raw batch (a longer push is enqueued as several). @defaultValue 5000 */
  maxRecordsPerBatch: z.number().int().min(1).max(1_000_000).default(5000),
  /** `Retry-After` (seconds) of a 503 when the raw queue is full. @defaultValue 5 */
  retryAfterSeconds: z.number().int().min(1).max(3600).default(5),
  /** Bearer token per source (`${ENV_VAR}`); a source without a token is unknown (404). @defaultValue {} */
  tokens: z.record(sourceIdField, secretSchema).default({}),
  /** Header, request, idle and keep-alive timeouts (docs/input-limits.md). */
  timeouts: httpServerTimeoutsSchema.prefault({}),
});

export const receiversSchema = z.strictObject({
  syslog: syslogReceiverSchema.prefault({}),
  httpPush: httpPushReceiverSchema.prefault({}),
});

export type SyslogReceiverConfig = z.infer<typeof syslogReceiverSchema>;
export type HttpPushReceiverConfig = z.infer<typeof httpPushReceiverSchema>;
export type SyslogRoute = z.infer<typeof syslogRouteSchema>;

/** Enrichment and device-state settings (issue 4). */
export const enrichmentSchema = z.strictObject({
  /** Wards/units whose medical devices are raised one criticality level (whole-word match). */
  criticalWards: z.array(z.string().min(1)).default(["ICU", "NICU", "PICU", "CCU", "OR", "ED"]),
  /** Devices carrying one credential fingerprint from which the credential counts as shared. */
  sharedCredentialThreshold: z.number().int().min(2).default(3),
  /** Risk score (0–100) from which a device is a critical risk in the posture report. */
  criticalRiskScore: z.number().min(0).max(100).default(80),
});
