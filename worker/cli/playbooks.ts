/**
 * Declares `medsoc playbook …`, `medsoc approvals …` and `medsoc audit verify`; the work is in
 * worker/commands/playbooks.ts, loaded when a command runs.
 */
import type { Command } from "commander";
import type { PlaybookRunOptions } from "../commands/playbooks.ts";

const impl = () => import("../commands/playbooks.ts");

export function registerPlaybookCommands(program: Command): void {
  const pb = program.command("playbook").description("run, dry-run, pause and resume playbooks");
  pb.command("run")
    .description(
      "run a playbook for one device (no --config: on the simulated hospital); --dry-run records every plan, no outside call",
    )
    .argument("<id>", "playbook id")
    .requiredOption("--device <key>", "device key, MAC or IP")
    .option("--dry-run", "record every plan() without calling any outside system")
    .option("-c, --config <file>", "medsoc.yaml of a Redis deployment (its workers run the steps)")
    .option("--input <name=value...>", "playbook inputs", [])
    .option("--devices <n>", "simulated fleet size (no --config)", "3000")
    .option("--in-use <yes|no|unknown>", "simulated clinical state of the device (no --config)", "unknown")
    .action(async (id: string, opts: PlaybookRunOptions) => (await impl()).playbookRunAction(id, opts));
  for (const [name, pause] of [
    ["pause", true],
    ["resume", false],
  ] as const)
    pb.command(name)
      .description(
        pause
          ? "kill switch: refuse new runs, park running ones at their next step"
          : "lift the kill switch; parked runs continue",
      )
      .requiredOption("-c, --config <file>", "medsoc.yaml of the Redis deployment")
      .option("--as <name>", "who, for the audit trail", process.env.USER ?? "cli")
      .action(async (opts: { config: string; as: string }) =>
        (await impl()).playbookPauseAction(pause, opts),
      );
  pb.command("list")
    .description("validate and list the playbooks (every problem with its path)")
    .option("-c, --config <file>", "medsoc.yaml (playbooks.dir)")
    .action(async (opts: { config?: string }) => (await impl()).playbookListAction(opts));

  const ap = program.command("approvals").description("list and decide pending approvals (Redis deployment)");
  ap.command("list")
    .requiredOption("-c, --config <file>", "medsoc.yaml of the Redis deployment")
    .option("--all", "include decided and expired approvals")
    .action(async (opts: { config: string; all?: boolean }) => (await impl()).approvalsListAction(opts));
  for (const decision of ["approve", "deny"] as const)
    ap.command(decision)
      .argument("<id>", "approval id")
      .requiredOption("-c, --config <file>", "medsoc.yaml of the Redis deployment")
      .option("--key <apiKey>", "the approver's API key (playbooks.apiKeys; default $MEDSOC_API_KEY)")
      .option("--comment <text>")
      .action(async (id: string, opts: { config: string; key?: string; comment?: string }) =>
        (await impl()).approvalDecideAction(decision, id, opts),
      );

  program
    .command("audit")
    .description("audit trail tools")
    .command("verify")
    .description(
      "check the keyed chain of an audit file (or the deployment's Redis chain) and every signed checkpoint: exit 1 on an edited, removed or reordered entry, a deleted tail, a chain truncated and restarted, or no checkpoint at all",
    )
    .argument("[file]", "audit NDJSON file", "out/audit-chain.ndjson")
    .option("-c, --config <file>", "verify the chain kept in Redis by this deployment instead")
    .option(
      "--key-file <file>",
      "file holding the chain's key (default: $MEDSOC_AUDIT_KEY, the config's playbooks.audit, or audit.key beside the chain file)",
    )
    .option(
      "--checkpoints <file...>",
      "checkpoint NDJSON files to check against (the stores' own, or audit.checkpoint documents exported from a SIEM); default: the configured stores, or audit-checkpoints.ndjson beside the chain file",
    )
    .action(async (file: string, opts: { config?: string; keyFile?: string; checkpoints?: string[] }) =>
      (await impl()).auditVerifyAction(file, opts),
    );
}
