/**
 * `medsoc playbook …`, `medsoc approvals …` and `medsoc audit verify`: the operator's side of the
 * playbooks. With `--config` they act on a Redis deployment (the runs, approvals and audit chain
 * its workers share); `playbook run` without `--config` runs on the built-in simulated hospital.
 */
import { readFile } from "node:fs/promises";
import { type Command, CommanderError } from "commander";
import { loadConfigFile } from "../../core/config.ts";
import { ConfigError, PermanentError } from "../../core/errors.ts";
import { silentLogger } from "../../core/log.ts";
import { createRedis, keyGroup, queueRedisTarget } from "../../core/redis.ts";
import { mapRecord } from "../../mappings/index.ts";
import type { DeviceInfo } from "../../playbooks/actions/types.ts";
import { playbooksConfigSchema } from "../../playbooks/config.ts";
import { verifyAudit } from "../../playbooks/engine/audit.ts";
import { type Checkpoint, fileCheckpointStore } from "../../playbooks/engine/audit-checkpoints.ts";
import {
  checkpointStores,
  defaultCheckpointFile,
  defaultKeyFile,
  readKeyFile,
  resolveAuditKey,
} from "../../playbooks/engine/audit-config.ts";
import { TERMINAL } from "../../playbooks/engine/store.ts";
import { createPlaybookRuntime, type PlaybookRuntime } from "../../playbooks/index.ts";
import { armisRecords } from "../../simulators/armis/records.ts";
import { createFleet } from "../../simulators/fleet/fleet.ts";
import { startExtendedResponseSystems } from "../../simulators/response/enforcement.ts";
import { clinicalServersOf, startResponseSystems } from "../../simulators/response/index.ts";
import { BullmqQueueDriver } from "../queue/bullmq.ts";
import { MemoryQueueDriver } from "../queue/memory.ts";
import { checkRedis, componentSchemas } from "../run.ts";

const EXIT_USAGE = 2;

async function deploymentRuntime(
  configFile: string,
): Promise<{ runtime: PlaybookRuntime; close(): Promise<void> }> {
  const cfg = await loadConfigFile(configFile, componentSchemas());
  if (cfg.queue.driver !== "bullmq")
    throw new ConfigError(
      [
        {
          path: "queue.driver",
          message: "playbook, approvals and audit commands act on a Redis deployment (bullmq)",
        },
      ],
      configFile,
    );
  await checkRedis(queueRedisTarget(cfg.queue));
  const driver = new BullmqQueueDriver({
    redisUrl: cfg.queue.redisUrl,
    cluster: cfg.queue.cluster,
    prefix: cfg.queue.prefix,
  });
  const runtime = await createPlaybookRuntime({
    config: cfg.playbooks,
    driver,
    redis: { url: cfg.queue.redisUrl, cluster: cfg.queue.cluster, prefix: cfg.queue.prefix },
  });
  return {
    runtime,
    close: async () => {
      await runtime.close();
      await driver.close();
    },
  };
}

function parseInputs(pairs: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of pairs) {
    const i = p.indexOf("=");
    if (i < 1) throw new CommanderError(EXIT_USAGE, "medsoc.input", `--input ${p}: use name=value`);
    const v = p.slice(i + 1);
    let parsed: unknown = v;
    try {
      parsed = JSON.parse(v);
    } catch {
      parsed = v;
    }
    out[p.slice(0, i)] = parsed;
  }
  return out;
}

function apiKeyCaller(
  runtimeConfig: { apiKeys: { key: { reveal(): string }; identity: string; roles: string[] }[] },
  key: string | undefined,
) {
  if (!key) throw new PermanentError("give the approver's API key with --key or MEDSOC_API_KEY");
  const who = runtimeConfig.apiKeys.find((k) => k.key.reveal() === key);
  if (!who) throw new PermanentError("that API key is not in playbooks.apiKeys");
  return who;
}

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
    .action(
      async (
        id: string,
        opts: {
          device: string;
          dryRun?: boolean;
          config?: string;
          input: string[];
          devices: string;
          inUse: string;
        },
      ) => {
        const inputs = parseInputs(opts.input);
        if (opts.config) {
          const { runtime, close } = await deploymentRuntime(opts.config);
          try {
            const known = await runtime.directory.get(opts.device);
            // Not described by the state store: the run carries only the identifier (clinical state
            // unknown, so the playbooks take the restricted path).
            const device: DeviceInfo = known ?? {
              key: opts.device,
              macs: /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i.test(opts.device)
                ? [opts.device.toUpperCase().replace(/:/g, "-")]
                : [],
              ips: /^\d+\.\d+\.\d+\.\d+$/.test(opts.device) ? [opts.device] : [],
              inUse: null,
              clinicalServers: [],
            };
            const r = await runtime.engine.start({
              playbookId: id,
              device,
              inputs,
              dryRun: Boolean(opts.dryRun),
              trigger: { kind: "cli" },
            });
            process.stdout.write(`${JSON.stringify(r)}\n`);
            if (r.status === "rejected") process.exitCode = 1;
          } finally {
            await close();
          }
          return;
        }
        // On the simulated hospital: the fleet's devices (Armis inventory mapped) and the response simulators.
        const fleet = createFleet({ size: Number(opts.devices), seed: 1 });
        // Every enforcement point's simulator, as in the embedded default.
        const [sims, extended] = await Promise.all([
          startResponseSystems({ fleet }),
          startExtendedResponseSystems({ fleet }),
        ]);
        const driver = new MemoryQueueDriver();
        const config = playbooksConfigSchema.parse({
          systems: { ...sims.systemsConfig(), ...extended.systemsConfig() },
          clinicalServers: clinicalServersOf(fleet),
        });
        const runtime = await createPlaybookRuntime({ config, driver, log: silentLogger });
        try {
          const docs = [];
          const ingestedAt = new Date().toISOString();
          for (let i = 0; i < fleet.size; i++) {
            const doc = mapRecord("armis", "device", armisRecords(fleet).device(i), { ingestedAt });
            if (opts.inUse !== "unknown") {
              const f = fleet.facts(i);
              if (
                f.mac.replace(/:/g, "-") === opts.device.toUpperCase().replace(/:/g, "-") ||
                f.ip === opts.device
              )
                doc.medsoc = { ...doc.medsoc, clinical: { in_use: opts.inUse === "yes" } };
            }
            docs.push(doc);
          }
          runtime.directory.observe(docs);
          runtime.engine.startWorkers();
          const r = await runtime.engine.start({
            playbookId: id,
            device: opts.device,
            inputs,
            dryRun: Boolean(opts.dryRun),
            trigger: { kind: "cli" },
          });
          if (r.status === "rejected") {
            process.stderr.write(`medsoc: run refused: ${r.reason}\n`);
            process.exitCode = 1;
            return;
          }
          const run = await runtime.engine.waitForRun(
            r.runId,
            (x) => TERMINAL.has(x.status) || x.status === "waiting_approval",
            60_000,
          );
          await runtime.audit.flush();
          for (const e of runtime.audit.entries.filter((x) => x.runId === r.runId && x.type !== "call"))
            process.stdout.write(`${e.at}  ${e.type.padEnd(20)} ${e.message}\n`);
          process.stdout.write(`run ${run.id}: ${run.status}${run.error ? ` (${run.error})` : ""}\n`);
          if (run.status === "failed") process.exitCode = 1;
        } finally {
          await runtime.close();
          await driver.close();
          await Promise.all([sims.stop(), extended.stop()]);
        }
      },
    );
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
      .action(async (opts: { config: string; as: string }) => {
        const { runtime, close } = await deploymentRuntime(opts.config);
        try {
          if (pause) await runtime.engine.pause(`cli:${opts.as}`);
          else
            process.stdout.write(`${await runtime.engine.resume(`cli:${opts.as}`)} parked run(s) resumed\n`);
          process.stdout.write(`playbooks ${pause ? "paused" : "resumed"}\n`);
        } finally {
          await close();
        }
      });
  pb.command("list")
    .description("validate and list the playbooks (every problem with its path)")
    .option("-c, --config <file>", "medsoc.yaml (playbooks.dir)")
    .action(async (opts: { config?: string }) => {
      const cfg = opts.config
        ? (await loadConfigFile(opts.config, componentSchemas())).playbooks
        : playbooksConfigSchema.parse({});
      const runtime = await createPlaybookRuntime({ config: cfg, driver: new MemoryQueueDriver() });
      for (const p of runtime.engine.playbooks.values())
        process.stdout.write(
          `${p.id.padEnd(28)} ${p.steps.length} step(s), ${p.finally.length} final  ${p.title}\n`,
        );
      await runtime.close();
    });

  const ap = program.command("approvals").description("list and decide pending approvals (Redis deployment)");
  ap.command("list")
    .requiredOption("-c, --config <file>", "medsoc.yaml of the Redis deployment")
    .option("--all", "include decided and expired approvals")
    .action(async (opts: { config: string; all?: boolean }) => {
      const { runtime, close } = await deploymentRuntime(opts.config);
      try {
        for (const a of await runtime.store.listApprovals())
          if (opts.all || a.status === "pending") process.stdout.write(`${JSON.stringify(a)}\n`);
      } finally {
        await close();
      }
    });
  for (const decision of ["approve", "deny"] as const)
    ap.command(decision)
      .argument("<id>", "approval id")
      .requiredOption("-c, --config <file>", "medsoc.yaml of the Redis deployment")
      .option("--key <apiKey>", "the approver's API key (playbooks.apiKeys; default $MEDSOC_API_KEY)")
      .option("--comment <text>")
      .action(async (id: string, opts: { config: string; key?: string; comment?: string }) => {
        const cfg = await loadConfigFile(opts.config, componentSchemas());
        const who = apiKeyCaller(cfg.playbooks, opts.key ?? process.env.MEDSOC_API_KEY);
        const { runtime, close } = await deploymentRuntime(opts.config);
        try {
          const a = await runtime.store.getApproval(id);
          if (!a) throw new PermanentError(`no approval ${id}`);
          const role = who.roles.includes(a.role) ? a.role : (who.roles[0] as string);
          const r = await runtime.engine.decide(id, {
            approve: decision === "approve",
            by: who.identity,
            role,
            comment: opts.comment,
          });
          if (!r.ok) throw new PermanentError(`approval ${id}: ${r.reason}`);
          process.stdout.write(`${JSON.stringify(r.approval)}\n`);
        } finally {
          await close();
        }
      });

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
    .action(async (file: string, opts: { config?: string; keyFile?: string; checkpoints?: string[] }) => {
      let lines: string[];
      let where = file;
      let key: string | undefined;
      let checkpoints: Checkpoint[] = [];
      const from: string[] = [];
      if (opts.keyFile) key = await readKeyFile(opts.keyFile, false);
      else if (process.env.MEDSOC_AUDIT_KEY) key = process.env.MEDSOC_AUDIT_KEY;
      if (opts.checkpoints)
        for (const f of opts.checkpoints) {
          const store = fileCheckpointStore(f);
          checkpoints.push(...(await store.list()));
          from.push(store.name);
        }
      if (opts.config) {
        const cfg = await loadConfigFile(opts.config, componentSchemas());
        await checkRedis(queueRedisTarget(cfg.queue));
        const r = createRedis(queueRedisTarget(cfg.queue));
        const chain = `${keyGroup(r, cfg.queue.prefix, "pb")}:audit`;
        try {
          lines = await r.lrange(chain, 0, -1);
          key ??= await resolveAuditKey(cfg.playbooks.audit, { redis: true });
          if (!opts.checkpoints) {
            const anchors = checkpointStores(cfg.playbooks.audit, {
              redis: { client: r, prefix: cfg.queue.prefix },
            });
            try {
              for (const s of anchors.stores) {
                checkpoints.push(...(await s.list()));
                from.push(s.name);
              }
            } finally {
              anchors.close();
            }
          }
        } finally {
          r.disconnect();
        }
        where = `redis ${chain}`;
      } else {
        try {
          lines = (await readFile(file, "utf8")).split("\n");
        } catch (error) {
          throw new PermanentError(`reading ${file}: ${(error as Error).message}`);
        }
        if (!key)
          try {
            key = await readKeyFile(defaultKeyFile(file), false);
          } catch {
            throw new PermanentError(
              `no audit key: give --key-file, set MEDSOC_AUDIT_KEY, or use --config (looked for ${defaultKeyFile(file)})`,
            );
          }
        if (!opts.checkpoints) {
          const store = fileCheckpointStore(defaultCheckpointFile(file));
          checkpoints = await store.list();
          from.push(store.name);
        }
      }
      if (!key) throw new PermanentError("no audit key: give --key-file or set MEDSOC_AUDIT_KEY");
      const v = verifyAudit(lines, { key, checkpoints });
      if (v.ok) {
        const unanchored = v.entries - 1 - (v.anchoredSeq ?? -1);
        process.stdout.write(
          `${where}: ${v.entries} entries, chain intact; ${v.checkpoints ?? 0} checkpoint(s) verified (${from.join(", ")})${
            v.anchoredSeq !== undefined ? `, up to seq ${v.anchoredSeq}` : ""
          }${unanchored > 0 ? `; the last ${unanchored} entries are after the last checkpoint` : ""}\n`,
        );
      } else {
        process.stdout.write(
          `${where}: TAMPERED${v.line ? ` at line ${v.line}` : ""}: ${v.reason} (${v.entries} entries, ${v.checkpoints ?? 0} checkpoint(s) from ${from.join(", ") || "nowhere"})\n`,
        );
        process.exitCode = 1;
      }
    });
}
