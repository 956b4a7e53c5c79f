import { createHash } from "node:crypto";
import type { Client } from "@elastic/elasticsearch";
import { errors } from "@elastic/elasticsearch";
import { ConfigError, PermanentError, wrapError } from "../../core/errors.ts";
import { createLogger, type Logger, silentLogger } from "../../core/log.ts";
import { componentSchemas } from "../components.ts";
import { loadConfigFile } from "../config.ts";
import { dataStreamPart, parseSinkConfig } from "../sinks/common.ts";
import {
  createElasticsearchClient,
  type ElasticsearchSinkConfig,
  type ElasticsearchSinkConfigInput,
  elasticsearchSinkConfigSchema,
} from "../sinks/elasticsearch.ts";
import {
  componentTemplates,
  ILM_POLICY_NAME,
  INDEX_PATTERN,
  ilmPolicy,
  indexTemplate,
} from "../sinks/elasticsearch-templates/index.ts";
import { setupLatestDeviceTransform } from "./setup-elasticsearch-transform.ts";

export interface SetupElasticsearchOptions {
  /** Namespace the sink writes to (checked, and named in the log). @defaultValue "default" */
  namespace?: string;
  /** Days after rollover before a backing index is deleted. @defaultValue 90 (days) */
  deleteAfterDays?: number;
  /** PUT every resource even when the installed one is identical. @defaultValue false */
  force?: boolean;
  /** @defaultValue silentLogger */
  log?: Logger;
}

export interface SetupElasticsearchResult {
  /** Resources written by this run (`_ilm/policy/medsoc-logs`, `_component_template/…`, `_index_template/…`). */
  installed: string[];
  /** Resources already present with the same content (left untouched). */
  unchanged: string[];
}

interface Resource {
  path: string;
  body: Record<string, unknown>;
  /** Reads the `_meta` of the installed resource out of a GET reply. */
  installedMeta(reply: unknown): Record<string, unknown> | undefined;
}

/** Stable hash of a body, stored in `_meta.medsoc_hash` so a re-run can tell "same" from "changed". */
function contentHash(body: unknown): string {
  return createHash("sha256").update(JSON.stringify(body)).digest("hex").slice(0, 16);
}

function withMeta(body: Record<string, unknown>): Record<string, unknown> {
  return { ...body, _meta: { managed_by: "medsoc", medsoc_hash: contentHash(body) } };
}

function resources(deleteAfterDays: number): Resource[] {
  const policy = ilmPolicy(deleteAfterDays).policy;
  return [
    {
      path: `/_ilm/policy/${ILM_POLICY_NAME}`,
      body: { policy: withMeta(policy) },
      installedMeta: (r) =>
        (r as Record<string, { policy?: { _meta?: Record<string, unknown> } }>)[ILM_POLICY_NAME]?.policy
          ?._meta,
    },
    ...componentTemplates.map((c) => ({
      path: `/_component_template/${c.name}`,
      body: withMeta(c.body),
      installedMeta: (r: unknown) =>
        (r as { component_templates?: { component_template?: { _meta?: Record<string, unknown> } }[] })
          .component_templates?.[0]?.component_template?._meta,
    })),
    {
      path: `/_index_template/${indexTemplate.name}`,
      body: withMeta(indexTemplate.body),
      installedMeta: (r) =>
        (r as { index_templates?: { index_template?: { _meta?: Record<string, unknown> } }[] })
          .index_templates?.[0]?.index_template?._meta,
    },
  ];
}

/**
 * `medsoc setup elasticsearch`: installs the ILM policy `medsoc-logs`, the component templates and
 * the index template `medsoc-logs` (`logs-medsoc.*-*`, data streams, priority 510). Idempotent: each
 * resource carries a content hash in `_meta`; one already installed with the same hash is not
 * written again (so the ILM policy version does not climb on every run); anything else is PUT.
 * Order matters: the components exist before the index template that composes them.
 */
export async function setupElasticsearch(
  client: Client,
  options: SetupElasticsearchOptions = {},
): Promise<SetupElasticsearchResult> {
  const log = options.log ?? silentLogger;
  const namespace = options.namespace ?? "default";
  const deleteAfterDays = options.deleteAfterDays ?? 90;
  if (!dataStreamPart.test(namespace))
    throw new PermanentError(
      `setting up elasticsearch: namespace ${JSON.stringify(namespace)} is not a valid data stream namespace`,
    );
  if (!Number.isInteger(deleteAfterDays) || deleteAfterDays < 1)
    throw new PermanentError(`setting up elasticsearch: deleteAfterDays must be a whole number of days ≥ 1`);

  const result: SetupElasticsearchResult = { installed: [], unchanged: [] };
  for (const resource of resources(deleteAfterDays)) {
    try {
      if (!options.force) {
        const current = await client.transport.request(
          { method: "GET", path: resource.path },
          { ignore: [404], meta: true },
        );
        const wanted = (
          resource.path.startsWith("/_ilm/")
            ? (resource.body.policy as Record<string, unknown>)
            : resource.body
        )._meta as Record<string, unknown>;
        const meta = current.statusCode === 200 ? resource.installedMeta(current.body) : undefined;
        if (meta?.medsoc_hash === wanted.medsoc_hash) {
          result.unchanged.push(resource.path);
          continue;
        }
      }
      await client.transport.request({ method: "PUT", path: resource.path, body: resource.body });
      result.installed.push(resource.path);
      log.info({ resource: resource.path }, "Installed Elasticsearch resource.");
    } catch (error) {
      const context = `setting up elasticsearch: installing ${resource.path}`;
      // A refused request (401/403, a body the cluster rejects) fails again on retry; network errors and 5xx may not.
      const status = error instanceof errors.ResponseError ? (error.statusCode ?? 0) : 0;
      if (error instanceof errors.ResponseError && status >= 400 && status < 500 && status !== 429)
        throw new PermanentError(`${context}: HTTP ${status}: ${responseReason(error)}`, { cause: error });
      throw wrapError(context, error);
    }
  }
  log.info(
    {
      installed: result.installed.length,
      unchanged: result.unchanged.length,
      dataStreams: `${INDEX_PATTERN.slice(0, -1)}${namespace}`,
    },
    "Elasticsearch is set up for medsoc.",
  );
  return result;
}

function responseReason(error: InstanceType<typeof errors.ResponseError>): string {
  const body = error.body as { error?: { type?: string; reason?: string } | string } | undefined;
  const e = body?.error;
  return typeof e === "string" ? e : e ? `${e.type ?? "error"}: ${e.reason ?? ""}` : error.message;
}

/** CLI entry: builds a client from the Elasticsearch sink settings, runs the setup and closes the client. */
export async function runSetupElasticsearch(
  config: ElasticsearchSinkConfigInput | ElasticsearchSinkConfig,
  options: Omit<SetupElasticsearchOptions, "namespace"> = {},
): Promise<SetupElasticsearchResult> {
  const parsed = parseSinkConfig(elasticsearchSinkConfigSchema, config, "elasticsearch");
  const client = createElasticsearchClient(parsed);
  try {
    return await setupElasticsearch(client, { ...options, namespace: parsed.namespace });
  } finally {
    await client.close();
  }
}

/** `medsoc setup elasticsearch` (declared in worker/cli/setup.ts). */
export async function setupElasticsearchAction(opts: { config: string; transform?: boolean }): Promise<void> {
  const cfg = await loadConfigFile(opts.config, componentSchemas());
  const es = cfg.sinkConfigs.elasticsearch;
  if (!es)
    throw new ConfigError(
      [{ path: "sinks.elasticsearch", message: "is required for setup elasticsearch" }],
      opts.config,
    );
  const log = createLogger();
  const client: Client = createElasticsearchClient(es as ElasticsearchSinkConfig);
  try {
    const done = await setupElasticsearch(client, { log });
    const transform = opts.transform ? await setupLatestDeviceTransform(client, { log }) : undefined;
    process.stdout.write(`${JSON.stringify(transform ? { ...done, transform } : done, null, 2)}\n`);
  } finally {
    await client.close();
  }
}
