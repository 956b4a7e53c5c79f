import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { JsonClient } from "../../connectors/http.ts";
import { ConfigError, PermanentError } from "../../core/errors.ts";
import { createLogger, type Logger, silentLogger } from "../../core/log.ts";
import { Secret } from "../../core/secret.ts";

/** The detection rules shipped in the Elastic package (`kibana/security_rule/*.json`). */
export const ELASTIC_RULES_DIR = resolve(
  import.meta.dirname,
  "..",
  "..",
  "integrations",
  "elastic",
  "medsoc",
  "kibana",
  "security_rule",
);

/** Name of the Webhook connector medsoc creates (and finds again on the next run). */
export const CONNECTOR_NAME = "medsoc playbooks";

/** Playbook each shipped rule runs, by rule_id. */
export const RULE_PLAYBOOKS: Readonly<Record<string, string>> = {
  "5b0c1f0e-6a52-4b8e-9a7e-2f3c4d5e6f70": "isolate-infusion-pump",
  "8d7e2c4a-3f1b-4c6d-9e8f-0a1b2c3d4e5f": "rotate-shared-credentials",
};

/**
 * Alert suppression per rule (Kibana's `alert_suppression`, Platinum and above): one Kibana alert,
 * so one playbook trigger, per device and window. The package ships the rules without it so they
 * run on Basic; `medsoc setup kibana --suppression` adds it on clusters licensed for it.
 */
export const RULE_SUPPRESSION: Readonly<Record<string, { group_by: string[]; hours: number }>> = {
  "5b0c1f0e-6a52-4b8e-9a7e-2f3c4d5e6f70": { group_by: ["medsoc.device.key"], hours: 1 },
  "8d7e2c4a-3f1b-4c6d-9e8f-0a1b2c3d4e5f": { group_by: ["medsoc.device.key"], hours: 24 },
};

export interface SetupKibanaOptions {
  /** Kibana base URL (`https://kibana.example:5601`). */
  url: string;
  /** `Authorization` value for Kibana: `ApiKey …` or `Basic …`. */
  authorization: Secret;
  /** Kibana space. @defaultValue "default" */
  space?: string;
  /** medsoc's trigger endpoint (`https://medsoc.example:8787/v1/triggers/kibana`). */
  triggerUrl: string;
  /** Bearer token medsoc expects on `/v1/triggers/kibana`. */
  triggerToken: Secret;
  /** TLS towards Kibana. @defaultValue verification on */
  tls?: { verify?: boolean; ca?: string };
  /** Tests: an undici dispatcher instead of a new Agent. */
  dispatcher?: ConstructorParameters<typeof JsonClient>[0]["dispatcher"];
  /** Add alert suppression ({@link RULE_SUPPRESSION}; needs a Platinum licence). @defaultValue false */
  suppression?: boolean;
  /** Folder of the rule files. @defaultValue {@link ELASTIC_RULES_DIR} */
  rulesDir?: string;
  /** @defaultValue silentLogger */
  log?: Logger;
}

export interface SetupKibanaResult {
  connector: { id: string; action: "created" | "updated" };
  rules: { rule_id: string; name: string; action: "created" | "updated" }[];
}

/**
 * The body `medsoc setup kibana` sends for a shipped rule: the package attributes plus one Webhook
 * action per alert (`summary: false`) whose body carries the playbook and the alerts as raw JSON
 * (`{{{context.alerts}}}`; medsoc validates it on receipt).
 */
export function kibanaRuleBody(
  attributes: Record<string, unknown>,
  connectorId: string,
  options: { suppression?: boolean } = {},
): Record<string, unknown> {
  const ruleId = String(attributes.rule_id);
  const playbook = RULE_PLAYBOOKS[ruleId];
  if (!playbook) throw new PermanentError(`setting up kibana: rule ${ruleId} has no medsoc playbook`);
  const body = `{"source":"kibana","playbook":"${playbook}","rule":{"id":"{{rule.id}}","rule_id":"${ruleId}","name":"{{rule.name}}"},"date":"{{date}}","alerts":{{{context.alerts}}}}`;
  const suppression = options.suppression ? RULE_SUPPRESSION[ruleId] : undefined;
  return {
    ...attributes,
    ...(suppression
      ? {
          alert_suppression: {
            group_by: suppression.group_by,
            duration: { unit: "h", value: suppression.hours },
            missing_fields_strategy: "suppress",
          },
        }
      : {}),
    actions: [
      {
        id: connectorId,
        group: "default",
        action_type_id: ".webhook",
        params: { body },
        frequency: { summary: false, notifyWhen: "onActiveAlert", throttle: null },
      },
    ],
  };
}

/** The rules of the package, as `attributes` objects. */
export function packageRules(dir = ELASTIC_RULES_DIR): Record<string, unknown>[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map(
      (f) =>
        (JSON.parse(readFileSync(join(dir, f), "utf8")) as { attributes: Record<string, unknown> })
          .attributes,
    );
}

/**
 * `medsoc setup kibana`: creates or updates the Webhook connector that calls medsoc's
 * `/v1/triggers/kibana` with a bearer token, then creates or updates the package's detection rules
 * with that connector as their action. Idempotent: the connector is found by name, rules by
 * `rule_id`; a second run updates in place and creates nothing.
 */
export async function setupKibana(options: SetupKibanaOptions): Promise<SetupKibanaResult> {
  const log = options.log ?? silentLogger;
  const base = `${options.url.replace(/\/+$/, "")}${options.space && options.space !== "default" ? `/s/${encodeURIComponent(options.space)}` : ""}`;
  const trigger = new URL(options.triggerUrl);
  if (trigger.protocol !== "https:" && !["127.0.0.1", "localhost", "[::1]"].includes(trigger.hostname))
    throw new PermanentError(
      "setting up kibana: the trigger URL must be https (plain http only on loopback)",
    );
  const client = new JsonClient({
    component: "kibana",
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    tls: options.tls ?? {},
    retry: { maxAttempts: 3 },
    secrets: () => [options.authorization, options.triggerToken],
    log,
  });
  const headers = {
    authorization: options.authorization.reveal(),
    "kbn-xsrf": "medsoc",
    "elastic-api-version": "2023-10-31",
  };
  try {
    const connectors = (
      await client.send({
        method: "GET",
        url: `${base}/api/actions/connectors`,
        headers,
        context: "listing kibana connectors",
      })
    ).body as { id: string; name: string; connector_type_id: string }[];
    const existing = connectors.find((c) => c.name === CONNECTOR_NAME && c.connector_type_id === ".webhook");
    const config = {
      url: options.triggerUrl,
      method: "post",
      headers: {
        "Content-Type": "application/json",
        Authorization: `Bearer ${options.triggerToken.reveal()}`,
      },
      hasAuth: false,
    };
    let connectorId: string;
    let connectorAction: "created" | "updated";
    if (existing) {
      await client.send({
        method: "PUT",
        url: `${base}/api/actions/connector/${encodeURIComponent(existing.id)}`,
        headers,
        body: { name: CONNECTOR_NAME, config, secrets: {} },
        context: "updating the kibana webhook connector",
      });
      connectorId = existing.id;
      connectorAction = "updated";
    } else {
      const created = await client.send({
        method: "POST",
        url: `${base}/api/actions/connector`,
        headers,
        body: { name: CONNECTOR_NAME, connector_type_id: ".webhook", config, secrets: {} },
        context: "creating the kibana webhook connector",
      });
      connectorId = (created.body as { id: string }).id;
      connectorAction = "created";
    }
    log.info({ connector: connectorId, action: connectorAction }, "Kibana webhook connector is in place.");
    const result: SetupKibanaResult = { connector: { id: connectorId, action: connectorAction }, rules: [] };
    for (const attributes of packageRules(options.rulesDir)) {
      const ruleId = String(attributes.rule_id);
      const found = (
        await client.send({
          method: "GET",
          url: `${base}/api/detection_engine/rules/_find?per_page=1&filter=${encodeURIComponent(`alert.attributes.params.ruleId:"${ruleId}"`)}`,
          headers,
          context: `finding kibana rule ${ruleId}`,
        })
      ).body as { total?: number; data?: unknown[] };
      const exists = (found.total ?? found.data?.length ?? 0) > 0;
      await client.send({
        method: exists ? "PUT" : "POST",
        url: `${base}/api/detection_engine/rules`,
        headers,
        body: kibanaRuleBody(attributes, connectorId, { suppression: options.suppression === true }),
        context: `${exists ? "updating" : "creating"} kibana rule ${ruleId}`,
      });
      result.rules.push({
        rule_id: ruleId,
        name: String(attributes.name),
        action: exists ? "updated" : "created",
      });
    }
    return result;
  } finally {
    await client.close();
  }
}

function envSecret(name: string | undefined, flag: string): Secret | undefined {
  if (!name) return undefined;
  const v = process.env[name];
  if (!v) throw new ConfigError([{ path: flag, message: `environment variable ${name} is not set` }]);
  return new Secret(v);
}

/** `medsoc setup kibana` (declared in worker/cli/setup.ts). */
export async function setupKibanaAction(opts: {
  url: string;
  suppression?: boolean;
  triggerUrl: string;
  triggerTokenEnv: string;
  apiKeyEnv?: string;
  username?: string;
  passwordEnv?: string;
  space: string;
  caFile?: string;
  insecure?: boolean;
}): Promise<void> {
  const apiKey = envSecret(opts.apiKeyEnv, "--api-key-env");
  const password = envSecret(opts.passwordEnv, "--password-env");
  if (!apiKey && !(opts.username && password))
    throw new ConfigError([
      { path: "--api-key-env", message: "give --api-key-env or --username with --password-env" },
    ]);
  const authorization = apiKey
    ? new Secret(`ApiKey ${apiKey.reveal()}`)
    : new Secret(`Basic ${Buffer.from(`${opts.username}:${password?.reveal()}`).toString("base64")}`);
  const result = await setupKibana({
    url: opts.url,
    authorization,
    space: opts.space,
    triggerUrl: opts.triggerUrl,
    triggerToken: envSecret(opts.triggerTokenEnv, "--trigger-token-env") as Secret,
    suppression: opts.suppression === true,
    tls: { verify: !opts.insecure, ...(opts.caFile ? { ca: readFileSync(opts.caFile, "utf8") } : {}) },
    log: createLogger(),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
