import { readFile } from "node:fs/promises";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { z } from "zod";
import { apiSchema, enrichmentSchema, queueSchema, receiversSchema, sourceSchema } from "../core/config.ts";
import { ConfigError, type ConfigProblem } from "../core/errors.ts";
import { playbooksConfigSchema } from "../playbooks/config.ts";

/**
 * The medsoc configuration file as a whole: the sections `core/config.ts` defines (queue, sources,
 * API, receivers, enrichment), the playbooks section (`playbooks/config.ts`) and the component-owned
 * parts (each connector's and sink's schema, passed in as {@link ComponentSchemas}). It sits in the
 * worker layer because it assembles every layer's schema; `core` never imports upward.
 */
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
