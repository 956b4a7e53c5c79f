/**
 * The audit trail: an append-only, keyed hash chain of every decision, outside call (redacted) and
 * result. Entry n carries `prev` = hash of entry n-1 and `hash` = HMAC-SHA256(key, prev + canonical
 * JSON of the entry without `hash`), and a gap-free `seq`: an edited, removed, inserted or reordered
 * line breaks the chain, and without the key nobody can recompute it. Signed head checkpoints kept
 * outside the chain (`audit-checkpoints.ts`) anchor it, so a deleted tail or a chain truncated and
 * restarted is caught as well (`medsoc audit verify`, {@link verifyAudit}). Stored in an NDJSON file
 * (embedded default) and/or a Redis list (production, one chain for every worker process), and
 * shipped to the sinks as the `audit` stream in ECS. docs/audit-and-triggers.md describes it.
 */
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { keyGroup, type RedisClient as Redis } from "../../core/redis.ts";
import { dataStreamFields, datasetOf, EVENT_MODULE } from "../../mappings/stream.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import {
  type Checkpoint,
  type CheckpointStore,
  checkpointDocument,
  signCheckpoint,
  verifyCheckpoints,
} from "./audit-checkpoints.ts";

export interface AuditInput {
  /** `run.started`, `step.completed`, `call`, `approval.decided`, `trigger.rejected`, … */
  type: string;
  runId?: string;
  playbookId?: string;
  stepId?: string;
  deviceKey?: string;
  /** Who decided: `engine`, `rule:<id>`, an approver identity, `cli`. */
  actor?: string;
  outcome?: "success" | "failure" | "unknown";
  message: string;
  detail?: unknown;
}

export interface AuditEntry extends AuditInput {
  seq: number;
  at: string;
  id: string;
  prev: string;
  hash: string;
}

export const GENESIS = "0".repeat(64);

/** JSON with object keys sorted, so the hash does not depend on key order. */
export function canonical(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const keys = Object.keys(value as object)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(",")}}`;
}

/** The key of an audit chain: a configured secret (text) or bytes. */
export type AuditKey = string | Buffer;

/** HMAC-SHA256(key, prev + canonical entry), hex. */
export function entryHash(entry: Omit<AuditEntry, "hash">, key: AuditKey): string {
  return createHmac("sha256", key).update(entry.prev).update(canonical(entry)).digest("hex");
}

function seal(input: AuditInput, seq: number, prev: string, at: string, key: AuditKey): AuditEntry {
  const body: Omit<AuditEntry, "hash"> = {
    ...JSON.parse(JSON.stringify(input)),
    seq,
    at,
    id: randomUUID(),
    prev,
  };
  return { ...body, hash: entryHash(body, key) };
}

/** Where sealed entries go besides the chain's own store (the sinks, as ECS documents). */
export type AuditShipper = (docs: EcsDocument[]) => Promise<void>;

/** The audit entry as an ECS document of the `audit` stream. */
export function auditDocument(e: AuditEntry): EcsDocument {
  return {
    "@timestamp": e.at,
    ecs: { version: "9.4.0" },
    message: e.message,
    event: {
      kind: "event",
      category: ["configuration"],
      type: ["change"],
      action: e.type,
      outcome: e.outcome ?? "unknown",
      dataset: datasetOf("audit"),
      module: EVENT_MODULE,
      id: e.id,
      sequence: e.seq,
    },
    // The default namespace; the Elasticsearch sink sets the one it writes to (routeDocument).
    data_stream: dataStreamFields("audit"),
    ...(e.actor ? { user: { name: e.actor } } : {}),
    medsoc: {
      doc_id: e.hash,
      source: "medsoc",
      stream: "audit",
      audit: {
        seq: e.seq,
        prev: e.prev,
        hash: e.hash,
        run_id: e.runId,
        playbook: e.playbookId,
        step: e.stepId,
        device_key: e.deviceKey,
        detail: e.detail === undefined ? undefined : JSON.stringify(e.detail),
      },
    },
  };
}

export interface AuditLogOptions {
  /**
   * Key of the chain's HMAC. Every process appending to one chain needs the same key; it never
   * appears in an entry, a checkpoint or a log. @defaultValue a random key held only in memory
   * (nothing written with it can be verified later: for tests and throw-away runs)
   */
  key?: AuditKey;
  /** Signed head checkpoints: where they go and how often. @defaultValue none */
  checkpoints?: CheckpointOptions;
  /** NDJSON file the chain is appended to. */
  file?: string;
  /** Redis holding the chain (`<prefix>:pb:audit` list and `:audit-head`; `<prefix>:{pb}:…` on a cluster), shared by every process. */
  redis?: { client: Redis; prefix: string };
  ship?: AuditShipper;
  now?: () => Date;
  /** Told when a checkpoint could not be written (the entries themselves are stored). */
  onError?: (error: unknown) => void;
}

/** When the head is checkpointed: after `run.finished`, every `everyEntries`, every `intervalMs`, at close. */
export interface CheckpointOptions {
  stores: CheckpointStore[];
  /** Checkpoint after this many of this process's entries. @defaultValue 1000 */
  everyEntries?: number;
  /** Checkpoint a moved head this often, ms (0 = never on a timer). @defaultValue 60000 */
  intervalMs?: number;
}

/**
 * The append-only chain. Appends made in the same tick are sealed and stored together (one file
 * write, one Redis transaction), in call order; across processes Redis WATCH on the chain head makes
 * each batch atomic, so every process extends one chain.
 */
export class AuditLog {
  readonly #o: AuditLogOptions;
  readonly #key: AuditKey;
  /** This process's last stored entry not yet covered by a checkpoint. */
  #uncheckpointed: { seq: number; hash: string } | undefined;
  #sinceCheckpoint = 0;
  #checkpointing: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #anchorChecked = false;
  #seq = -1;
  #prev = GENESIS;
  #loaded = false;
  #queue: { input: AuditInput; resolve: (e: AuditEntry) => void; reject: (e: unknown) => void }[] = [];
  #flushing: Promise<void> | undefined;
  readonly entries: AuditEntry[] = [];
  /** Entries kept in memory for inspection (tests, summary). @defaultValue 10000 */
  keep = 10_000;

  constructor(options: AuditLogOptions = {}) {
    this.#o = options;
    this.#key = options.key ?? randomBytes(32);
    const every = options.checkpoints?.intervalMs ?? 60_000;
    if (options.checkpoints?.stores.length && every > 0) {
      this.#timer = setInterval(() => void this.checkpoint(), every);
      this.#timer.unref();
    }
  }

  /**
   * Signs this process's latest stored head and writes it to every checkpoint store (and ships it
   * to the sinks). Nothing to do when the head has not moved since the last checkpoint.
   */
  checkpoint(): Promise<void> {
    this.#checkpointing = this.#checkpointing.then(async () => {
      const head = this.#uncheckpointed;
      const stores = this.#o.checkpoints?.stores ?? [];
      if (!head || !stores.length) return;
      this.#uncheckpointed = undefined;
      this.#sinceCheckpoint = 0;
      const cp: Checkpoint = signCheckpoint(
        { seq: head.seq, hash: head.hash, at: (this.#o.now?.() ?? new Date()).toISOString() },
        this.#key,
      );
      try {
        for (const s of stores) await s.add(cp);
        if (this.#o.ship) await this.#o.ship([checkpointDocument(cp)]);
      } catch (error) {
        this.#o.onError?.(error);
      }
    });
    return this.#checkpointing;
  }

  /** Stores what is queued, writes a last checkpoint and stops the checkpoint timer. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
    await this.checkpoint();
  }

  append(input: AuditInput): Promise<AuditEntry> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ input, resolve, reject });
      this.#flushing ??= new Promise<void>((r) => setImmediate(r)).then(() => this.#drain());
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length) {
        const batch = this.#queue.splice(0, 1000);
        try {
          const sealed = await this.#store(batch.map((b) => b.input));
          for (const [i, b] of batch.entries()) b.resolve(sealed[i] as AuditEntry);
        } catch (error) {
          for (const b of batch) b.reject(error);
        }
      }
    } finally {
      this.#flushing = undefined;
    }
  }

  async #store(inputs: AuditInput[]): Promise<AuditEntry[]> {
    const at = (this.#o.now?.() ?? new Date()).toISOString();
    const sealAll = (seq: number, prev: string) => {
      const out: AuditEntry[] = [];
      for (const input of inputs) {
        const e = seal(input, ++seq, prev, at, this.#key);
        prev = e.hash;
        out.push(e);
      }
      return out;
    };
    let sealed: AuditEntry[];
    const r = this.#o.redis;
    if (r) {
      // WATCH and MULTI over both keys: one slot on a cluster (`<prefix>:{pb}:…`).
      const head = `${keyGroup(r.client, r.prefix, "pb")}:audit-head`;
      const list = `${keyGroup(r.client, r.prefix, "pb")}:audit`;
      for (let i = 0; ; i++) {
        await r.client.watch(head);
        const raw = await r.client.get(head);
        const h = raw ? (JSON.parse(raw) as { seq: number; hash: string }) : { seq: -1, hash: GENESIS };
        sealed = sealAll(h.seq, h.hash);
        const last = sealed[sealed.length - 1] as AuditEntry;
        const ok = await r.client
          .multi()
          .set(head, JSON.stringify({ seq: last.seq, hash: last.hash }))
          .rpush(list, ...sealed.map((e) => JSON.stringify(e)))
          .exec();
        if (ok) break;
        if (i > 100) throw new Error("appending to the audit log: too much contention");
      }
    } else {
      if (!this.#loaded && this.#o.file) await this.#loadTail(this.#o.file);
      this.#loaded = true;
      sealed = sealAll(this.#seq, this.#prev);
    }
    const last = sealed[sealed.length - 1] as AuditEntry;
    if (!this.#anchorChecked) {
      this.#anchorChecked = true;
      await this.#checkAnchor((sealed[0] as AuditEntry).seq - 1);
    }
    this.#seq = last.seq;
    this.#prev = last.hash;
    if (this.#o.file) {
      await mkdir(dirname(this.#o.file), { recursive: true });
      await appendFile(this.#o.file, sealed.map((e) => `${JSON.stringify(e)}\n`).join(""));
    }
    this.entries.push(...sealed);
    if (this.entries.length > this.keep) this.entries.splice(0, this.entries.length - this.keep);
    if (this.#o.ship) await this.#o.ship(sealed.map(auditDocument));
    if (this.#o.checkpoints?.stores.length) {
      this.#uncheckpointed = { seq: last.seq, hash: last.hash };
      this.#sinceCheckpoint += sealed.length;
      // A run's end is anchored at once; a long run between ends every `everyEntries`.
      if (
        sealed.some((e) => e.type === "run.finished") ||
        this.#sinceCheckpoint >= (this.#o.checkpoints.everyEntries ?? 1000)
      )
        await this.checkpoint();
    }
    return sealed;
  }

  /**
   * Once per process: when the checkpoints have seen the chain further along than the head this
   * process found, the chain was cut or truncated while medsoc was down. Say so in the chain itself
   * (and so in the SIEMs) at once; `medsoc audit verify` reports it too.
   */
  async #checkAnchor(headSeq: number): Promise<void> {
    const stores = this.#o.checkpoints?.stores ?? [];
    let furthest: Checkpoint | undefined;
    try {
      for (const s of stores)
        for (const cp of await s.list()) if (!furthest || cp.seq > furthest.seq) furthest = cp;
    } catch (error) {
      this.#o.onError?.(error);
      return;
    }
    if (!furthest || furthest.seq <= headSeq) return;
    const message = `The audit chain continues from seq ${headSeq} although the checkpoint of ${furthest.at} vouches for seq ${furthest.seq}: the chain was cut or truncated before this process started.`;
    this.#o.onError?.(new Error(message));
    void this.append({
      type: "audit.anchor_mismatch",
      actor: "engine",
      outcome: "failure",
      message,
      detail: { headSeq, checkpoint: { seq: furthest.seq, at: furthest.at } },
    }).catch((error: unknown) => this.#o.onError?.(error));
  }

  /** Continues an existing file's chain after a restart. */
  async #loadTail(file: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch {
      return;
    }
    const lines = text.trimEnd().split("\n").filter(Boolean);
    const last = lines[lines.length - 1];
    if (!last) return;
    const e = JSON.parse(last) as AuditEntry;
    this.#seq = e.seq;
    this.#prev = e.hash;
  }

  /** Resolves when every append so far is stored. */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }
}

export interface VerifyResult {
  ok: boolean;
  entries: number;
  /** 1-based line of the first broken link. */
  line?: number;
  reason?: string;
  /** Checkpoints checked ({@link verifyAudit}). */
  checkpoints?: number;
  /** Highest seq a checkpoint vouches for; entries after it are not anchored yet. */
  anchoredSeq?: number;
}

/**
 * Checks a chain (NDJSON lines, oldest first) with its key: every HMAC, every `prev` link and the
 * `seq` order. Alone it cannot see a deleted tail or a restarted chain: {@link verifyAudit} can.
 */
export function verifyChain(lines: readonly string[], key: AuditKey): VerifyResult {
  let prev = GENESIS;
  let seq: number | undefined;
  let n = 0;
  for (let i = 0; i < lines.length; i++) {
    const text = (lines[i] as string).trim();
    if (!text) continue;
    n++;
    let e: AuditEntry;
    try {
      e = JSON.parse(text) as AuditEntry;
    } catch {
      return { ok: false, entries: n, line: i + 1, reason: "not JSON" };
    }
    const { hash, ...body } = e;
    if (seq === undefined && (e.prev !== GENESIS || e.seq !== 0))
      return {
        ok: false,
        entries: n,
        line: i + 1,
        reason: `the chain does not start at its first entry (seq ${e.seq}): lines were removed or reordered`,
      };
    if (seq !== undefined && e.seq !== seq + 1)
      return {
        ok: false,
        entries: n,
        line: i + 1,
        reason: `seq ${e.seq} follows ${seq}: a line was removed, inserted or reordered`,
      };
    if (seq !== undefined && e.prev !== prev)
      return {
        ok: false,
        entries: n,
        line: i + 1,
        reason: "prev does not match the hash of the line before",
      };
    if (entryHash(body, key) !== hash)
      return {
        ok: false,
        entries: n,
        line: i + 1,
        reason:
          "hash does not match the content: the line was edited (or the chain was written with another key)",
      };
    prev = hash;
    seq = e.seq;
  }
  return { ok: true, entries: n };
}

/**
 * Checks the keyed chain and every signed checkpoint against it: a checkpoint with a bad signature,
 * a chain shorter than a checkpoint (deleted tail), a chain that began after a checkpoint had seen it
 * further along (truncated and restarted), or an entry whose hash differs from its checkpoint
 * (rewritten) fails. With no checkpoint at all a non-empty chain fails too: nothing shows it is whole.
 */
export function verifyAudit(
  lines: readonly string[],
  o: { key: AuditKey; checkpoints: readonly Checkpoint[] },
): VerifyResult {
  const chain = verifyChain(lines, o.key);
  if (!chain.ok) return chain;
  const entries: Pick<AuditEntry, "seq" | "hash" | "at">[] = [];
  for (const l of lines) if (l.trim()) entries.push(JSON.parse(l) as AuditEntry);
  const r = verifyCheckpoints(entries, o.checkpoints, o.key);
  return { ...chain, ...r, ok: r.ok };
}

/**
 * Batches shipped audit documents (one queue job per batch instead of per entry): flushes at
 * `maxDocs` or after `maxDelayMs`, and on `flush()`.
 */
export function batchShipper(
  send: (docs: EcsDocument[]) => Promise<void>,
  options: { maxDocs?: number; maxDelayMs?: number; onError?: (error: unknown) => void } = {},
): AuditShipper & { flush(): Promise<void> } {
  const maxDocs = options.maxDocs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 250;
  let buf: EcsDocument[] = [];
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!buf.length) return chain;
    const docs = buf;
    buf = [];
    chain = chain.then(() => send(docs)).catch((error: unknown) => options.onError?.(error));
    return chain;
  };
  const ship = async (docs: EcsDocument[]) => {
    buf.push(...docs);
    if (buf.length >= maxDocs) await flush();
    else timer ??= setTimeout(() => void flush(), maxDelayMs);
  };
  return Object.assign(ship, { flush });
}
