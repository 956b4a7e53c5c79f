/**
 * Test harness of the playbook scenarios: the simulated hospital's fleet, every response-system
 * simulator, and a playbook runtime on the chosen queue driver (BullMQ on the real Redis with a
 * unique prefix, or memory). Device documents are built from the fleet's facts with the `medsoc.*`
 * fields the mapping contract gives monitors that report clinical state and credentials.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRedis, deleteKeys, type RedisClusterConfig } from "../../core/redis.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import { playbooksConfigSchema } from "../../playbooks/config.ts";
import { createPlaybookRuntime, type PlaybookRuntime } from "../../playbooks/index.ts";
import { createFleet, type DeviceFacts, type Fleet } from "../../simulators/fleet/fleet.ts";
import {
  clinicalServersOf,
  type ResponseSystems,
  startResponseSystems,
} from "../../simulators/response/index.ts";
import { BullmqQueueDriver } from "../../worker/queue/bullmq.ts";
import { MemoryQueueDriver } from "../../worker/queue/memory.ts";
import type { QueueDriver } from "../../worker/queue/types.ts";

export const REDIS_URL = process.env.MEDSOC_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
/** The audit chain key of every test runtime (a second process of one deployment needs the same). */
export const AUDIT_TEST_KEY = "audit-key-for-tests-0123456789abcdef";

/** A device document as a monitor with clinical state and credential facts would map it. */
export function deviceDoc(
  f: DeviceFacts,
  overrides: { inUse?: boolean | null; credential?: Partial<DeviceFacts["credential"]> } = {},
): EcsDocument {
  const inUse = overrides.inUse === undefined ? f.inUse : overrides.inUse;
  const cred = { ...f.credential, ...overrides.credential };
  const clinical: Record<string, unknown> = {
    consequence_of_failure: f.consequenceOfFailure,
    ...(f.fdaClass ? { fda_class: f.fdaClass } : {}),
    ...(f.batteryLevel !== null ? { battery_level: f.batteryLevel } : {}),
    ...(inUse !== null ? { in_use: inUse } : {}),
  };
  return {
    "@timestamp": new Date().toISOString(),
    event: { kind: "asset", category: ["host"], type: ["info"] },
    host: {
      id: String(f.id),
      name: f.name,
      mac: [f.mac.replace(/:/g, "-")],
      ip: [f.ip],
      os: { full: `${f.operatingSystem} ${f.operatingSystemVersion}` },
    },
    device: { manufacturer: f.manufacturer, model: { name: f.model } },
    medsoc: {
      doc_id: randomUUID(),
      source: "armis",
      stream: "device",
      device: { vendor_type: f.vendorType, class: f.deviceClass },
      clinical,
      location: { site: f.site.name, ward: f.ward },
      credential:
        cred.kind === "unique"
          ? undefined
          : { observed: cred.kind, username: cred.username, fingerprint: cred.fingerprint },
    },
  };
}

/** An alert document about fleet device `f` (Armis shape after mapping). */
export function alertDoc(f: DeviceFacts, title: string, severity = 99, message = title): EcsDocument {
  return {
    "@timestamp": new Date().toISOString(),
    event: { kind: "alert", id: randomUUID(), severity },
    message,
    host: { id: [String(f.id)] },
    medsoc: { doc_id: randomUUID(), source: "armis", stream: "alert" },
    armis: { alert: { title } },
  };
}

export interface Harness {
  fleet: Fleet;
  sims: ResponseSystems;
  runtime: PlaybookRuntime;
  driver: QueueDriver;
  prefix: string;
  auditFile: string;
  /** Every fleet device index of a class. */
  indexes(cls: string, filter?: (f: DeviceFacts) => boolean): number[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  driver?: "memory" | "bullmq";
  devices?: number;
  playbooks?: Record<string, unknown>;
  /** Start the step workers. @defaultValue true */
  workers?: boolean;
  /** Reuse an existing prefix (a second process of the same deployment). */
  prefix?: string;
  sims?: ResponseSystems;
  fleet?: Fleet;
  /** Rules evaluate only at `rules.flushPending()` (`start --once`). */
  holdRulesUntilFlush?: boolean;
  /** Run on this Redis Cluster instead of the Redis at `REDIS_URL`. */
  cluster?: RedisClusterConfig;
}

export async function startHarness(o: HarnessOptions = {}): Promise<Harness> {
  const fleet = o.fleet ?? createFleet({ size: o.devices ?? 3000, seed: 1 });
  const sims = o.sims ?? (await startResponseSystems({ fleet }));
  const prefix = o.prefix ?? `medsoc-test-${randomUUID()}`;
  const dir = await mkdtemp(join(tmpdir(), "medsoc-pb-"));
  const auditFile = join(dir, "audit.ndjson");
  const driver: QueueDriver =
    (o.driver ?? "bullmq") === "bullmq"
      ? new BullmqQueueDriver({
          redisUrl: REDIS_URL,
          cluster: o.cluster,
          prefix,
          defaults: { attempts: 5, backoffMs: 50, maxBackoffMs: 200 },
        })
      : new MemoryQueueDriver({ defaults: { attempts: 5, backoffMs: 50, maxBackoffMs: 200 } });
  const config = playbooksConfigSchema.parse({
    systems: sims.systemsConfig(),
    approvals: {
      linkSecret: "link-secret-for-tests-0123456789abcdef",
      approvers: [
        {
          identity: "dr.who",
          role: "clinical_engineering",
          slackWebhookUrl: sims.chat.personal("slack", "dr.who"),
        },
      ],
    },
    apiKeys: [
      { key: "ce-key-0123456789", identity: "dr.who", roles: ["clinical_engineering"] },
      { key: "soc-key-0123456789", identity: "analyst", roles: ["soc"] },
    ],
    stepTimeoutMs: 10_000,
    clinicalServers: clinicalServersOf(fleet),
    audit: { key: AUDIT_TEST_KEY },
    ...o.playbooks,
  });
  const runtime = await createPlaybookRuntime({
    config,
    driver,
    redis: driver.kind === "bullmq" ? { url: REDIS_URL, cluster: o.cluster, prefix } : undefined,
    auditFile,
    holdRulesUntilFlush: o.holdRulesUntilFlush,
  });
  if (o.workers !== false) runtime.engine.startWorkers();
  return {
    fleet,
    sims,
    runtime,
    driver,
    prefix,
    auditFile,
    indexes(cls, filter = () => true) {
      const out: number[] = [];
      for (let i = 0; i < fleet.size; i++) {
        const f = fleet.facts(i);
        if (f.deviceClass === cls && filter(f)) out.push(i);
      }
      return out;
    },
    async close() {
      await runtime.close();
      if (driver.kind === "bullmq") {
        for (const name of ["playbook-steps"])
          await driver
            .queue(name)
            .obliterate()
            .catch(() => undefined);
      }
      await driver.close();
      if (driver.kind === "bullmq") {
        const r = createRedis({ url: REDIS_URL, cluster: o.cluster });
        await deleteKeys(r, `${prefix}:*`);
        r.disconnect();
      }
      if (!o.sims) await sims.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
