import { readFile } from "node:fs/promises";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { z } from "zod";
import { playbooksConfigSchema } from "../playbooks/config.ts";
import { secretSchema } from "./config-fields.ts";
import { ConfigError, type ConfigProblem } from "./errors.ts";
import { httpServerTimeoutsSchema } from "./http-server.ts";

/**
 * The medsoc configuration file: a schema parsed once into a typed, validated object. Unknown keys
 * are rejected, every problem is reported at once with its path, secrets come from `${ENV_VAR}`
 * references and are typed so they redact themselves (see each connector's and sink's schema).
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
  /** Routing rules checked before the built-in table (`connectors/syslog/routes.ts`). @defaultValue [] */
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

export const configSchema = z.strictObject({
  queue: queueSchema.prefault({}),
  sources: z.array(sourceSchema).default([]),
  sinks: z
    .strictObject({
      elasticsearch: z.record(z.string(), z.unknown()).optional(),
      splunk: z.record(z.string(), z.unknown()).optional(),
      file: z.record(z.string(), z.unknown()).optional(),
    })
    .prefault({}),
  api: apiSchema.prefault({}),
  /** Push receivers (syslog CEF/LEEF, HTTP push); both off unless enabled. */
  receivers: receiversSchema.prefault({}),
  mapping: z
    .strictObject({
      /** Keep the raw vendor JSON in `event.original`. @defaultValue false */
      preserveOriginal: z.boolean().default(false),
      /**
       * Keep vendor fields whose value was copied to an ECS field (Elastic's
       * `preserve_duplicate_custom_fields`). @defaultValue false
       */
      preserveDuplicateVendorFields: z.boolean().default(false),
    })
    .prefault({}),
  /** Device classification, criticality, credential and risk settings (issue 4). */
  enrichment: enrichmentSchema.prefault({}),
  /** One identity per device (issue 4): Redis with the bullmq driver, memory otherwise. */
  deviceState: z
    .strictObject({
      /** Merge every mapped batch into the device state and write `medsoc.device.key` back. */
      enabled: z.boolean().default(true),
    })
    .prefault({}),
  /** Playbooks, response actions, triggers and approvals (playbooks/config.ts). */
  playbooks: playbooksConfigSchema.prefault({ enabled: false }),
});

export type BaseConfig = z.infer<typeof configSchema>;

/** The `enrichment` section, parsed. */
export type EnrichmentOptions = z.infer<typeof enrichmentSchema>;

/** Schemas that validate the nested, component-owned parts of the file. */
export interface ComponentSchemas {
  /** Per connector type: its config schema and stream names. */
  sources: Record<string, { schema: z.ZodType; streams: readonly string[] }>;
  /** Per sink name: its config schema. */
  sinks: Record<string, z.ZodType>;
}

/** A validated configuration: the base object plus the parsed component configs. */
export interface MedsocConfig extends BaseConfig {
  sourceConfigs: {
    type: string;
    name: string;
    streams: string[];
    schedule: string;
    intervalSeconds: number;
    config: unknown;
  }[];
  sinkConfigs: Record<string, unknown>;
}

function issuePath(prefix: (string | number)[], path: readonly PropertyKey[]): string {
  const parts = [...prefix, ...path].map((p) => (typeof p === "number" ? `[${p}]` : String(p)));
  return parts.join(".").replace(/\.\[/g, "[") || "(root)";
}

function collect(problems: ConfigProblem[], prefix: (string | number)[], error: z.ZodError): void {
  for (const issue of error.issues)
    problems.push({ path: issuePath(prefix, issue.path), message: issue.message });
}

/** Replaces `${NAME}` in every string with the environment variable; a missing variable is a problem. */
function expandEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: (string | number)[],
  problems: ConfigProblem[],
): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) {
        problems.push({ path: issuePath(path, []), message: `environment variable ${name} is not set` });
        return "";
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, [...path, i], problems));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = expandEnv(v, env, [...path, k], problems);
    return out;
  }
  return value;
}

/** Validates a parsed configuration object; throws `ConfigError` with every problem. */
export function validateConfig(
  raw: unknown,
  schemas: ComponentSchemas,
  env: NodeJS.ProcessEnv = process.env,
  sourceName = "config",
): MedsocConfig {
  const problems: ConfigProblem[] = [];
  const expanded = expandEnv(raw ?? {}, env, [], problems);
  const base = configSchema.safeParse(expanded);
  if (!base.success) collect(problems, [], base.error);
  // Component sections are checked even when the base failed, so one run lists every problem.
  const rawObj = (expanded && typeof expanded === "object" ? expanded : {}) as Record<string, unknown>;
  const rawSources = Array.isArray(rawObj.sources) ? rawObj.sources : [];
  const sourceConfigs: MedsocConfig["sourceConfigs"] = [];
  const seen = new Set<string>();
  rawSources.forEach((entry, i) => {
    const parsedEntry = sourceSchema.safeParse(entry);
    const s = parsedEntry.success ? parsedEntry.data : undefined;
    const type = (entry as { type?: unknown } | null)?.type;
    if (typeof type !== "string") return;
    const known = schemas.sources[type];
    if (!known) {
      problems.push({
        path: `sources[${i}].type`,
        message: `unknown source type "${type}" (known: ${Object.keys(schemas.sources).join(", ")})`,
      });
      return;
    }
    const rawEntry = entry as { name?: unknown; streams?: unknown; config?: unknown };
    const name = typeof rawEntry.name === "string" ? rawEntry.name : type;
    if (seen.has(name))
      problems.push({ path: `sources[${i}].name`, message: `duplicate source name "${name}"` });
    seen.add(name);
    const streams = Array.isArray(rawEntry.streams) ? (rawEntry.streams as unknown[]) : [...known.streams];
    streams.forEach((st, j) => {
      if (typeof st === "string" && !known.streams.includes(st))
        problems.push({
          path: `sources[${i}].streams[${j}]`,
          message: `unknown stream "${st}" for ${type} (known: ${known.streams.join(", ")})`,
        });
    });
    const parsed = known.schema.safeParse(rawEntry.config ?? {});
    if (!parsed.success) collect(problems, ["sources", i, "config"], parsed.error);
    else if (s) sourceConfigs.push({ ...s, name, streams: streams as string[], config: parsed.data });
  });
  const sinkConfigs: Record<string, unknown> = {};
  const rawSinks =
    rawObj.sinks && typeof rawObj.sinks === "object" ? (rawObj.sinks as Record<string, unknown>) : {};
  for (const [sinkName, sinkRaw] of Object.entries(rawSinks)) {
    if (sinkRaw === undefined) continue;
    const schema = schemas.sinks[sinkName];
    if (!schema) continue;
    const parsed = schema.safeParse(sinkRaw);
    if (!parsed.success) collect(problems, ["sinks", sinkName], parsed.error);
    else sinkConfigs[sinkName] = parsed.data;
  }
  if (base.success && base.data.queue.cluster && base.data.queue.driver !== "bullmq")
    problems.push({
      path: "queue.cluster",
      message:
        "a Redis Cluster is used by the bullmq driver only: set queue.driver: bullmq or remove queue.cluster",
    });
  // Every worker of a Redis deployment appends to one audit chain: they must share its key.
  const pb = base.success ? base.data.playbooks : undefined;
  if (
    base.success &&
    base.data.queue.driver === "bullmq" &&
    pb?.enabled &&
    !pb.audit.key &&
    !pb.audit.keyFile
  )
    problems.push({
      path: "playbooks.audit.key",
      message:
        "required with the bullmq driver: every worker process keys the shared audit chain with it (set it from an environment variable such as MEDSOC_AUDIT_KEY)",
    });
  if (problems.length > 0 || !base.success) throw new ConfigError(problems, sourceName);
  return { ...base.data, sourceConfigs, sinkConfigs };
}

/** Reads and validates a YAML configuration file. */
export async function loadConfigFile(
  file: string,
  schemas: ComponentSchemas,
  env: NodeJS.ProcessEnv = process.env,
): Promise<MedsocConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new ConfigError(
      [{ path: "(file)", message: `reading ${file}: ${(error as Error).message}` }],
      file,
    );
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    const message = error instanceof YAMLParseError ? error.message : String(error);
    throw new ConfigError([{ path: "(yaml)", message }], file);
  }
  return validateConfig(raw, schemas, env, file);
}
