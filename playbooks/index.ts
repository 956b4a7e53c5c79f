/**
 * Wires the playbook side of a deployment: device directory, actions of the configured systems,
 * run store and audit chain (Redis when the queues are on Redis, memory otherwise), the engine,
 * the approval desk (personal delivery, on-call page, sign-in; playbooks/approvals/), and the
 * detection rules.
 */
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { type Logger, silentLogger } from "../core/log.ts";
import type { DeviceStateStore } from "../worker/device-state/types.ts";
import type { QueueDriver } from "../worker/queue/types.ts";
import { ACTION_CATALOGUE, createActions } from "./actions/index.ts";
import { scheduleActions } from "./actions/schedule.ts";
import { ApprovalDesk } from "./approvals/desk.ts";
import type { PlaybooksConfig } from "./config.ts";
import { AuditLog, type AuditShipper } from "./engine/audit.ts";
import { DeviceDirectory } from "./engine/devices.ts";
import { PlaybookEngine } from "./engine/engine.ts";
import { loadRules, type Rule, RuleEngine } from "./engine/rules.ts";
import { loadPlaybooks } from "./engine/schema.ts";
import { MemoryRunStore, RedisRunStore, type RunState, type RunStore } from "./engine/store.ts";

export const DEFAULT_PLAYBOOK_DIR = fileURLToPath(new URL("./", import.meta.url));
export const DEFAULT_RULES_DIR = fileURLToPath(new URL("./rules/", import.meta.url));

export interface PlaybookRuntimeOptions {
  config: PlaybooksConfig;
  driver: QueueDriver;
  /** Run state and the audit chain in Redis (the BullMQ deployments). */
  redis?: { url: string; prefix: string };
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
  /** Approval delivery, sign-in and links (playbooks/approvals/). */
  approvals: ApprovalDesk;
  config: PlaybooksConfig;
  close(): Promise<void>;
}

export async function createPlaybookRuntime(o: PlaybookRuntimeOptions): Promise<PlaybookRuntime> {
  const log = o.log ?? silentLogger;
  const { config } = o;
  const directory = new DeviceDirectory({ state: o.deviceState, clinicalServers: config.clinicalServers });
  const built = createActions(config.systems, directory);
  let redis: Redis | undefined;
  let store: RunStore;
  if (o.redis) {
    redis = new Redis(o.redis.url, { maxRetriesPerRequest: 3 });
    store = new RedisRunStore({ redis, prefix: o.redis.prefix });
  } else store = new MemoryRunStore();
  const auditRedis = redis?.duplicate();
  const audit = new AuditLog({
    file: o.auditFile ?? config.auditFile,
    redis: auditRedis && o.redis ? { client: auditRedis, prefix: o.redis.prefix } : undefined,
    ship: o.ship,
  });
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
    approvals,
    config,
    close: async () => {
      await engine.close();
      await approvals.settle();
      await audit.flush();
      await store.close();
      auditRedis?.disconnect();
    },
  };
}
