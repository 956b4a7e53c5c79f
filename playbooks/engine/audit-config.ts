/**
 * Where the audit chain's key and checkpoints come from (`playbooks.audit` in medsoc.yaml), shared
 * by the runtime that writes the chain and `medsoc audit verify` that checks it:
 * - key: `audit.key` (a secret, e.g. `${MEDSOC_AUDIT_KEY}`), else `audit.keyFile`, else — file-only
 *   deployments (the embedded default) — `audit.key` beside the chain file, generated on first use
 *   (32 random bytes, mode 0600). A Redis deployment must configure one: every worker keys the shared
 *   chain with it.
 * - checkpoints: `audit.checkpoints.file`, else `audit-checkpoints.ndjson` beside the chain file; on
 *   Redis also the list `<audit.checkpoints.prefix>:checkpoints` (default `<queue prefix>:audit-anchor`,
 *   outside the chain's `<queue prefix>:pb:*`), on `audit.checkpoints.redisUrl` when set.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Redis } from "ioredis";
import { ConfigError } from "../../core/errors.ts";
import type { RedisClient } from "../../core/redis.ts";
import type { PlaybooksConfig } from "../config.ts";
import { type CheckpointStore, fileCheckpointStore, redisCheckpointStore } from "./audit-checkpoints.ts";

export type AuditConfig = PlaybooksConfig["audit"];

/** Reads a key file; creates it (owner-only) when `create` and it does not exist. */
export async function readKeyFile(path: string, create: boolean): Promise<string> {
  try {
    const k = (await readFile(path, "utf8")).trim();
    if (!k) throw new ConfigError([{ path: "playbooks.audit.keyFile", message: `${path} is empty` }], path);
    return k;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT" || !create) throw error;
  }
  await mkdir(dirname(path), { recursive: true });
  const key = randomBytes(32).toString("base64url");
  try {
    // `wx`: two processes starting at once keep one key.
    await writeFile(path, `${key}\n`, { mode: 0o600, flag: "wx" });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return readKeyFile(path, false);
    throw error;
  }
}

/** The key file used when none is configured: beside the chain file. */
export const defaultKeyFile = (auditFile: string) => join(dirname(auditFile), "audit.key");
/** The checkpoint file used when none is configured: beside the chain file. */
export const defaultCheckpointFile = (auditFile: string) =>
  join(dirname(auditFile), "audit-checkpoints.ndjson");
/** The Redis key space of the checkpoints when none is configured. */
export const defaultAnchorPrefix = (queuePrefix: string) => `${queuePrefix}:audit-anchor`;

/** The chain's key for a writer (creates the default key file in a file-only deployment). */
export async function resolveAuditKey(
  audit: AuditConfig,
  where: { auditFile?: string; redis: boolean },
): Promise<string | undefined> {
  if (audit.key) return audit.key.reveal();
  if (audit.keyFile) return readKeyFile(audit.keyFile, !where.redis);
  if (where.redis)
    throw new ConfigError(
      [
        {
          path: "playbooks.audit.key",
          message:
            "required with a Redis deployment: every worker process keys the shared audit chain with it (set it from an environment variable such as MEDSOC_AUDIT_KEY)",
        },
      ],
      "playbooks",
    );
  if (where.auditFile) return readKeyFile(defaultKeyFile(where.auditFile), true);
  return undefined;
}

/** The checkpoint stores of a deployment, and what to close after. */
export function checkpointStores(
  audit: AuditConfig,
  where: { auditFile?: string; redis?: { client: RedisClient; prefix: string } },
): { stores: CheckpointStore[]; close(): void } {
  const stores: CheckpointStore[] = [];
  let own: Redis | undefined;
  const file =
    audit.checkpoints.file ?? (where.auditFile ? defaultCheckpointFile(where.auditFile) : undefined);
  if (file) stores.push(fileCheckpointStore(file));
  if (where.redis) {
    if (audit.checkpoints.redisUrl) own = new Redis(audit.checkpoints.redisUrl, { maxRetriesPerRequest: 3 });
    const c = own ?? where.redis.client;
    stores.push(redisCheckpointStore(c, audit.checkpoints.prefix ?? defaultAnchorPrefix(where.redis.prefix)));
  }
  return { stores, close: () => own?.disconnect() };
}
