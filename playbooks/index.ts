/**
 * Wires the playbook side of a deployment: device directory, actions of the configured systems,
 * run store and audit chain (Redis when the queues are on Redis, memory otherwise), the engine,
 * the approval desk (personal delivery, on-call page, sign-in; playbooks/approvals/), and the
 * detection rules.
 */
import { fileURLToPath } from "node:url";
import { type Logger, silentLogger } from "../core/log.ts";
import {
  createRedis,
  type RedisClient,
  type RedisClusterConfig,
  resilientRedisOptions,
} from "../core/redis.ts";
import type { DeviceStateStore } from "../mappings/device-state.ts";
import { ACTION_CATALOGUE, createActions } from "./actions/index.ts";
import { scheduleActions } from "./actions/schedule.ts";
import { ApprovalDesk } from "./approvals/desk.ts";
import type { PlaybooksConfig } from "./config.ts";
import { AuditLog, type AuditShipper } from "./engine/audit.ts";
import { checkpointStores, resolveAuditKey } from "./engine/audit-config.ts";
import { type ClaimStore, MemoryClaimStore, RedisClaimStore } from "./engine/claims.ts";
import { DeviceDirectory } from "./engine/devices.ts";
import { PlaybookEngine } from "./engine/engine.ts";
import type { StepQueueDriver } from "./engine/queue.ts";
import { loadRules, type Rule, RuleEngine } from "./engine/rules.ts";
import { loadPlaybooks } from "./engine/schema.ts";
import { MemoryRunStore, RedisRunStore, type RunState, type RunStore } from "./engine/store.ts";

export const DEFAULT_PLAYBOOK_DIR = fileURLToPath(new URL("./", import.meta.url));
export const DEFAULT_RULES_DIR = fileURLToPath(new URL("./rules/", import.meta.url));

export interface PlaybookRuntimeOptions {
  config: PlaybooksConfig;
  driver: StepQueueDriver;
  /** Run state and the audit chain in Redis (the BullMQ deployments). */
  /** Redis of the deployment; `graceMs`: how long a command waits for a restarting Redis. */
  redis?: { url: string; cluster?: RedisClusterConfig; prefix: string; graceMs?: number };
  deviceState?: DeviceStateStore;
  /** Audit NDJSON file (overrides `config.auditFile`). */
  auditFile?: string;
  ship?: AuditShipper;
  log?: Logger;
  onRunUpdate?: (run: RunState) => void;
  /** Adjusts the loaded rules (the bench lifts the throttle). */
  adjustRules?: (rules: Rule[]) => Rule[];
  /** Evaluate rules only at `rules.flushPending()` (`start --once`; see RuleEngineOptions). */
  holdRulesUntilFlush?: boolean;
}

export interface PlaybookRuntime {
  engine: PlaybookEngine;
  rules: RuleEngine;
  directory: DeviceDirectory;
  audit: AuditLog;
  store: RunStore;
  /** De-duplication claims of rules and triggers, shared by every replica. */
  claims: ClaimStore;
  /** Approval delivery, sign-in and links (playbooks/approvals/). */
  approvals: ApprovalDesk;
  config: PlaybooksConfig;
  close(): Promise<void>;
}

export async function createPlaybookRuntime(o: PlaybookRuntimeOptions): Promise<PlaybookRuntime> {
  const log = o.log ?? silentLogger;
  const { config } = o;
  const directory = new DeviceDirectory({
    state: o.deviceState,
    clinicalServers: config.clinicalServers,
    clinicalMaxAgeMs: config.clinicalStateMaxAgeMinutes * 60_000,
  });
  const built = createActions(config.systems, directory);
  // Before any connection is opened: a missing key is a configuration error, nothing to clean up.
  const auditFile = o.auditFile ?? config.auditFile;
  const key = await resolveAuditKey(config.audit, { auditFile, redis: Boolean(o.redis) });
  let redis: RedisClient | undefined;
  let store: RunStore;
  if (o.redis) {
    // Rides out a Redis restart (commands wait for it, up to the grace) like every runtime client.
    redis = createRedis(
      { url: o.redis.url, cluster: o.redis.cluster },
      resilientRedisOptions("playbooks", o.redis.graceMs),
    );
    redis.on("error", (err: Error) => log.debug({ err }, "Playbook store: Redis connection failed."));
    store = new RedisRunStore({ redis, prefix: o.redis.prefix });
  } else store = new MemoryRunStore();
  const auditRedis = redis?.duplicate();
  auditRedis?.on("error", (err: Error) => log.debug({ err }, "Audit trail: Redis connection failed."));
  const anchors = checkpointStores(config.audit, {
    auditFile,
    redis: auditRedis && o.redis ? { client: auditRedis, prefix: o.redis.prefix } : undefined,
  });
  const audit = new AuditLog({
    key,
    file: auditFile,
    redis: auditRedis && o.redis ? { client: auditRedis, prefix: o.redis.prefix } : undefined,
    ship: o.ship,
    checkpoints: {
      stores: anchors.stores,
      everyEntries: config.audit.checkpoints.everyEntries,
      intervalMs: config.audit.checkpoints.intervalSeconds * 1000,
    },
    onError: (error) => log.error({ err: error }, "Writing an audit checkpoint failed."),
  });
  const claims: ClaimStore =
    redis && o.redis
      ? new RedisClaimStore({ client: redis, prefix: o.redis.prefix })
      : new MemoryClaimStore();
  const playbooks = await loadPlaybooks(
    config.dir ?? DEFAULT_PLAYBOOK_DIR,
    new Set(Object.keys(ACTION_CATALOGUE)),
  );
  const approvals = new ApprovalDesk({
    config: config.approvals,
    audit,
    describe: { playbooks, actions: built.registry, directory, systems: built.systems },
    chat: built.chat,
    pagerduty: built.registry.get("pagerduty.event"),
    log,
  });
  const engine = new PlaybookEngine({
    driver: o.driver,
    store,
    audit,
    actions: built.registry,
    playbooks,
    devices: directory,
    log,
    systems: built.systems,
    blastRadiusPerHour: config.blastRadiusPerHour,
    blastRadiusRole: config.blastRadiusRole,
    clinicalRole: config.clinicalRole,
    clinicalApprovalTimeoutMs: config.clinicalApprovalTimeoutMinutes * 60_000,
    leaseMs: config.leaseSeconds * 1000,
    concurrency: config.concurrency,
    stepTimeoutMs: config.stepTimeoutMs,
    notifyApprovers: approvals.notify,
    onRunUpdate: (run) => {
      o.onRunUpdate?.(run);
      approvals.onRunUpdate(run);
    },
  });
  for (const a of scheduleActions(engine)) built.registry.register(a);
  const loaded = await loadRules(config.rulesDir ?? DEFAULT_RULES_DIR, new Set(playbooks.keys()));
  const rules = new RuleEngine({
    rules: o.adjustRules ? o.adjustRules(loaded) : loaded,
    engine,
    directory,
    store,
    claims,
    audit,
    log,
    holdUntilFlush: o.holdRulesUntilFlush,
  });
  return {
    engine,
    rules,
    directory,
    audit,
    store,
    claims,
    approvals,
    config,
    close: async () => {
      await engine.close();
      await approvals.settle();
      await audit.close();
      await store.close();
      auditRedis?.disconnect();
      anchors.close();
    },
  };
}
