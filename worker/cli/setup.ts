/**
 * Declares `medsoc setup elasticsearch|kibana|splunk`; the work is in worker/commands/setup-*.ts,
 * loaded when the command runs.
 */
import type { Command } from "commander";

/** Adds `setup` and its subcommands; returns `setup`. */
export function registerSetup(program: Command): Command {
  const setup = program.command("setup").description("install medsoc's resources into a SIEM");
  setup
    .command("elasticsearch")
    .description("install the ILM policy, component and index templates for logs-medsoc.*")
    .requiredOption("-c, --config <file>", "medsoc.yaml with sinks.elasticsearch")
    .option("--transform", "also install and start the latest-device transform (medsoc-latest-device)")
    .action(async (opts: { config: string; transform?: boolean }) =>
      (await import("../commands/setup-elasticsearch.ts")).setupElasticsearchAction(opts),
    );
  return setup;
}

/** Adds `setup kibana` and `setup splunk` (after `report`, `package`: the order of the help). */
export function registerSetupSiems(setup: Command): void {
  registerSetupKibana(setup);
  registerSetupSplunk(setup);
}

function registerSetupKibana(setup: Command): void {
  setup
    .command("kibana")
    .description(
      "install the medsoc detection rules and the Webhook connector to /v1/triggers/kibana (idempotent)",
    )
    .requiredOption("--url <url>", "Kibana base URL")
    .requiredOption("--trigger-url <url>", "medsoc's https://…/v1/triggers/kibana")
    .requiredOption(
      "--trigger-token-env <name>",
      "environment variable holding the bearer token medsoc expects",
    )
    .option("--api-key-env <name>", "environment variable holding a Kibana API key")
    .option("--username <name>", "Kibana user (with --password-env)")
    .option("--password-env <name>", "environment variable holding the Kibana password")
    .option("--space <id>", "Kibana space", "default")
    .option("--ca-file <file>", "PEM CA for Kibana's certificate")
    .option("--insecure", "do not verify Kibana's certificate")
    .option(
      "--suppression",
      "add alert suppression per device to the rules (Kibana Platinum or above; without it every matching alert triggers)",
    )
    .action(
      async (opts: {
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
      }) => (await import("../commands/setup-kibana.ts")).setupKibanaAction(opts),
    );
}

function registerSetupSplunk(setup: Command): void {
  setup
    .command("splunk")
    .description(
      "verify the index and HEC token, install the app's saved searches with the playbook trigger (management port, splunk-sdk)",
    )
    .requiredOption("--url <url>", "management URL, e.g. https://splunk.example:8089")
    .requiredOption("--index <name>", "index of the HEC sink")
    .requiredOption("--hec-token-env <name>", "environment variable holding the sink's HEC token")
    .option("--token-env <name>", "environment variable holding a Splunk authentication token")
    .option("--username <name>", "Splunk user (with --password-env)")
    .option("--password-env <name>", "environment variable holding the Splunk password")
    .option(
      "--trigger <mode>",
      "action (medsoc_playbook alert action) | webhook (built-in webhook)",
      "action",
    )
    .option("--trigger-url <url>", "medsoc's https://…/v1/triggers/splunk")
    .option(
      "--trigger-secret-env <name>",
      "environment variable holding the HMAC secret (action) or the path token (webhook)",
    )
    .option("--ca-file <file>", "PEM CA of the management port certificate")
    .option("--insecure", "do not verify the management port certificate")
    .action(
      async (opts: {
        url: string;
        index: string;
        hecTokenEnv: string;
        tokenEnv?: string;
        username?: string;
        passwordEnv?: string;
        trigger: string;
        triggerUrl?: string;
        triggerSecretEnv?: string;
        caFile?: string;
        insecure?: boolean;
      }) => (await import("../commands/setup-splunk.ts")).setupSplunkAction(opts),
    );
}
