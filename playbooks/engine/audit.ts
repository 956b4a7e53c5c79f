/**
 * The audit trail: an append-only, hash-chained log of every decision, outside call (redacted) and
 * result. Entry n carries `prev` = hash of entry n-1 and `hash` = sha256(prev + canonical JSON of
 * the entry without `hash`), and a gap-free `seq`, so an edited, removed, inserted or reordered line
 * breaks the chain (`medsoc audit verify`). Stored in an NDJSON file (embedded default) and/or a
 * Redis list (production, one chain for every worker process), and shipped to the sinks as the
 * `audit` stream in ECS.
 */
import { createHash, randomUUID } from "node:crypto";
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Redis } from "ioredis";
import { dataStreamFields, datasetOf, EVENT_MODULE } from "../../mappings/stream.ts";
import type { EcsDocument } from "../../mappings/types.ts";

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

export function entryHash(entry: Omit<AuditEntry, "hash">): string {
  return createHash("sha256").update(entry.prev).update(canonical(entry)).digest("hex");
}

function seal(input: AuditInput, seq: number, prev: string, at: string): AuditEntry {
  const body: Omit<AuditEntry, "hash"> = {
    ...JSON.parse(JSON.stringify(input)),
    seq,
    at,
    id: randomUUID(),
    prev,
  };
  return { ...body, hash: entryHash(body) };
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
  /** NDJSON file the chain is appended to. */
  file?: string;
  /** Redis holding the chain (`<prefix>:pb:audit` list and `:audit-head`), shared by every process. */
  redis?: { client: Redis; prefix: string };
  ship?: AuditShipper;
  now?: () => Date;
}

/**
 * The append-only chain. Appends made in the same tick are sealed and stored together (one file
 * write, one Redis transaction), in call order; across processes Redis WATCH on the chain head makes
 * each batch atomic, so every process extends one chain.
 */
export class AuditLog {
  readonly #o: AuditLogOptions;
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
        const e = seal(input, ++seq, prev, at);
        prev = e.hash;
        out.push(e);
      }
      return out;
    };
    let sealed: AuditEntry[];
    const r = this.#o.redis;
    if (r) {
      const head = `${r.prefix}:pb:audit-head`;
      const list = `${r.prefix}:pb:audit`;
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
    this.#seq = last.seq;
    this.#prev = last.hash;
    if (this.#o.file) {
      await mkdir(dirname(this.#o.file), { recursive: true });
      await appendFile(this.#o.file, sealed.map((e) => `${JSON.stringify(e)}\n`).join(""));
    }
    this.entries.push(...sealed);
    if (this.entries.length > this.keep) this.entries.splice(0, this.entries.length - this.keep);
    if (this.#o.ship) await this.#o.ship(sealed.map(auditDocument));
    return sealed;
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
}

/** Checks a chain (NDJSON lines, oldest first): every hash, every `prev` link and the `seq` order. */
export function verifyChain(lines: readonly string[]): VerifyResult {
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
    if (entryHash(body) !== hash)
      return {
        ok: false,
        entries: n,
        line: i + 1,
        reason: "hash does not match the content: the line was edited",
      };
    prev = hash;
    seq = e.seq;
  }
  return { ok: true, entries: n };
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
