/**
 * Signed head checkpoints of the audit chain: `{seq, hash, at}` of a head some process stored,
 * signed with a key derived from the chain's key (HMAC-SHA256), written to stores outside the chain
 * (a local NDJSON file, a Redis list in its own key space) and shipped to the SIEMs as `audit`
 * documents (`event.action: audit.checkpoint`). A chain that is shorter than a checkpoint, began
 * after a checkpoint had seen it further along, or holds another hash at a checkpoint's seq, was cut,
 * restarted or rewritten.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { RedisClient as Redis } from "../../core/redis.ts";
import { dataStreamFields, datasetOf, EVENT_MODULE } from "../../mappings/stream.ts";
import type { EcsDocument } from "../../mappings/types.ts";

type Key = string | Buffer;

export interface Checkpoint {
  /** Seq of the head entry. */
  seq: number;
  /** Its hash. */
  hash: string;
  /** When the checkpoint was taken (ISO 8601). */
  at: string;
  /** Which key signed it: HMAC(key, "medsoc audit key id"), 16 hex digits (not the key). */
  kid: string;
  /** HMAC-SHA256 over the fields above with the checkpoint key, hex. */
  sig: string;
}

/** Where checkpoints are kept. */
export interface CheckpointStore {
  /** For messages: `file <path>`, `redis <key>`. */
  readonly name: string;
  add(cp: Checkpoint): Promise<void>;
  list(): Promise<Checkpoint[]>;
}

/** The key id of a chain key: tells "another key" apart from "edited" without revealing anything. */
export function keyId(key: Key): string {
  return createHmac("sha256", key).update("medsoc audit key id").digest("hex").slice(0, 16);
}

function signature(cp: Omit<Checkpoint, "sig">, key: Key): string {
  // A key of its own (derived), so a checkpoint signature can never pass as an entry hash.
  const ck = createHmac("sha256", key).update("medsoc audit checkpoint v1").digest();
  return createHmac("sha256", ck).update(`${cp.seq}\n${cp.hash}\n${cp.at}\n${cp.kid}`).digest("hex");
}

export function signCheckpoint(head: { seq: number; hash: string; at: string }, key: Key): Checkpoint {
  const body = { seq: head.seq, hash: head.hash, at: head.at, kid: keyId(key) };
  return { ...body, sig: signature(body, key) };
}

function signatureOk(cp: Checkpoint, key: Key): boolean {
  const want = Buffer.from(signature(cp, key));
  const got = Buffer.from(String(cp.sig));
  return want.length === got.length && timingSafeEqual(want, got);
}

/** A checkpoint as an ECS document of the `audit` stream (what the SIEMs keep). */
export function checkpointDocument(cp: Checkpoint): EcsDocument {
  return {
    "@timestamp": cp.at,
    ecs: { version: "9.4.0" },
    message: `Audit checkpoint: the chain head is seq ${cp.seq}.`,
    event: {
      kind: "event",
      category: ["configuration"],
      type: ["info"],
      action: "audit.checkpoint",
      outcome: "success",
      dataset: datasetOf("audit"),
      module: EVENT_MODULE,
      sequence: cp.seq,
    },
    // The default namespace; the Elasticsearch sink sets the one it writes to (routeDocument).
    data_stream: dataStreamFields("audit"),
    medsoc: {
      doc_id: `checkpoint-${cp.sig.slice(0, 40)}`,
      source: "medsoc",
      stream: "audit",
      audit: { seq: cp.seq, hash: cp.hash, key_id: cp.kid, signature: cp.sig },
    },
  };
}

/**
 * Checkpoints from NDJSON lines: checkpoint records as the stores write them, or `audit.checkpoint`
 * documents exported from a SIEM (other audit documents are skipped). Unreadable lines throw.
 */
export function parseCheckpoints(lines: readonly string[], source: string): Checkpoint[] {
  const out: Checkpoint[] = [];
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`reading checkpoints from ${source}: line ${i + 1} is not JSON`);
    }
    const doc = v as { event?: { action?: string }; medsoc?: { audit?: Record<string, unknown> } };
    if (doc.event || doc.medsoc) {
      if (doc.event?.action !== "audit.checkpoint") continue;
      const a = doc.medsoc?.audit ?? {};
      v = {
        seq: a.seq,
        hash: a.hash,
        at: (v as { "@timestamp"?: unknown })["@timestamp"],
        kid: a.key_id,
        sig: a.signature,
      };
    }
    if (
      typeof v.seq !== "number" ||
      typeof v.hash !== "string" ||
      typeof v.at !== "string" ||
      typeof v.sig !== "string"
    )
      throw new Error(`reading checkpoints from ${source}: line ${i + 1} is not a checkpoint`);
    out.push({ seq: v.seq, hash: v.hash, at: v.at, kid: String(v.kid ?? ""), sig: v.sig });
  }
  return out;
}

/** An NDJSON file of checkpoints, appended to. */
export function fileCheckpointStore(path: string): CheckpointStore {
  return {
    name: `file ${path}`,
    async add(cp) {
      await mkdir(dirname(path), { recursive: true });
      await appendFile(path, `${JSON.stringify(cp)}\n`, { mode: 0o600 });
    },
    async list() {
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw error;
      }
      return parseCheckpoints(text.split("\n"), path);
    },
  };
}

/** A Redis list `<prefix>:checkpoints` (its own key space, possibly its own Redis). */
export function redisCheckpointStore(client: Redis, prefix: string): CheckpointStore {
  const key = `${prefix}:checkpoints`;
  return {
    name: `redis ${key}`,
    async add(cp) {
      await client.rpush(key, JSON.stringify(cp));
    },
    async list() {
      return parseCheckpoints(await client.lrange(key, 0, -1), `redis ${key}`);
    },
  };
}

/** See `verifyAudit` (audit.ts): the checkpoint half of it. */
export function verifyCheckpoints(
  entries: readonly { seq: number; hash: string; at: string }[],
  checkpoints: readonly Checkpoint[],
  key: Key,
): { ok: boolean; reason?: string; checkpoints: number; anchoredSeq?: number } {
  const n = checkpoints.length;
  if (!n)
    return entries.length
      ? {
          ok: false,
          checkpoints: 0,
          reason:
            "no checkpoint found: nothing shows the chain is whole (its tail may be deleted, or the chain truncated and restarted)",
        }
      : { ok: true, checkpoints: 0 };
  const kid = keyId(key);
  for (const cp of checkpoints)
    if (!signatureOk(cp, key))
      return {
        ok: false,
        checkpoints: n,
        reason: `the checkpoint of ${cp.at} (seq ${cp.seq}) has a bad signature: forged, or signed with another key (key id ${cp.kid || "none"}, this key ${kid})`,
      };
  const bySeq = new Map(entries.map((e) => [e.seq, e]));
  const first = entries[0];
  const last = entries.at(-1);
  // The furthest checkpoint first: it says the most about a cut.
  for (const cp of [...checkpoints].sort((a, b) => b.seq - a.seq || a.at.localeCompare(b.at))) {
    const e = bySeq.get(cp.seq);
    const restarted = first && first.at > cp.at;
    if (e?.hash === cp.hash) continue;
    if (restarted || !first)
      return {
        ok: false,
        checkpoints: n,
        reason: first
          ? `the chain was truncated and restarted: it begins at ${first.at}, but the checkpoint of ${cp.at} had already seen it at seq ${cp.seq}`
          : `the chain is empty, but the checkpoint of ${cp.at} had seen it at seq ${cp.seq}: it was truncated`,
      };
    if (!e)
      return {
        ok: false,
        checkpoints: n,
        reason: `the tail was deleted: the chain ends at seq ${last?.seq} (${last?.at}), but the checkpoint of ${cp.at} vouches for seq ${cp.seq}`,
      };
    return {
      ok: false,
      checkpoints: n,
      reason: `the chain was rewritten: entry seq ${cp.seq} is not the one the checkpoint of ${cp.at} vouches for`,
    };
  }
  return { ok: true, checkpoints: n, anchoredSeq: Math.max(...checkpoints.map((c) => c.seq)) };
}
