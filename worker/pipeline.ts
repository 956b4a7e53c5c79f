import { createHash } from "node:crypto";
import { setMaxListeners } from "node:events";
import { type IngestBatch, type IngestOptions, QueueFullError } from "../connectors/push.ts";
import type { Connector, Cursor } from "../connectors/types.ts";
import { sleep } from "../core/backoff.ts";
import { PermanentError, wrapError } from "../core/errors.ts";
import { type Logger, silentLogger } from "../core/log.ts";
import { advisoryFindings } from "../mappings/advisories/enrich.ts";
import type { AdvisoryIndex } from "../mappings/advisories/match.ts";
import { defaultAdvisoryIndex } from "../mappings/advisories/store.ts";
import type { DeviceStateStore } from "../mappings/device-state.ts";
import type { EnrichmentOptions } from "../mappings/enrich/options.ts";
import { pipelineErrorDocument } from "../mappings/pipeline-error.ts";
import type { EcsDocument } from "../mappings/types.ts";
import { mapRecord } from "../monitors/index.ts";
import type { CursorStore } from "./cursors/types.ts";
import type { Metrics } from "./metrics.ts";
import { withinRedisGrace } from "./queue/common.ts";
import type { Queue, QueueDriver, Worker } from "./queue/types.ts";
import { pollJobId } from "./scheduler.ts";
import { docIdOf, emptyResult, partialWriteOf } from "./sinks/common.ts";
import type { DeliveryLedger } from "./sinks/ledger.ts";
import type { Sink, SinkResult } from "./sinks/types.ts";

/** Enqueued by the scheduler (or `pollNow`): poll one (source, stream) from its cursor until exhausted. */
export interface PollJob {
  source: string;
  stream: string;
  slot: string;
}

/** One page of raw vendor records, as the connector returned them. */
export interface RawBatch {
  /** Source instance name (`armis`, or `armis-eu` for a second tenant). */
  source: string;
  /** Connector type, which selects the mapping. */
  type: string;
  stream: string;
  fetchedAt: string;
  records: unknown[];
}

/** Mapped ECS documents on their way to one sink. */
export interface DocBatch {
  source: string;
  stream: string;
  docs: EcsDocument[];
}

/** A configured source: a connector instance under its name. */
export interface SourceInstance {
  name: string;
  type: string;
  streams: string[];
  connector: Connector;
}

export interface PipelineOptions {
  driver: QueueDriver;
  cursors: CursorStore;
  sources: SourceInstance[];
  sinks: Sink[];
  metrics: Metrics;
  log?: Logger;
  /** Keep `event.original`. @defaultValue false */
  preserveOriginal?: boolean;
  /** Keep vendor fields already copied to ECS fields (Elastic's `preserve_duplicate_custom_fields`). @defaultValue false */
  preserveDuplicateVendorFields?: boolean;
  /**
   * Data stream namespace stamped on documents (`data_stream.namespace`): the Elasticsearch sink's
   * `namespace`. @defaultValue "default"
   */
  namespace?: string;
  /** Jobs at once per stage. @defaultValue `{poll: 2, map: 2, sink: 2}` */
  concurrency?: { poll: number; map: number; sink: number };
  /**
   * BullMQ worker settings of every stage: how long a job of a worker that died stays locked before
   * another worker takes it again (stalled-job recovery). @defaultValue BullMQ's (30 s)
   */
  workerOptions?: { lockDurationMs?: number; stalledIntervalMs?: number };
  /** Backpressure bound on waiting batches per downstream queue. @defaultValue 16 */
  maxPendingBatches?: number;
  /** Attempts per job of the poll queue (as configured on the driver), to know when a poll is given up. @defaultValue 5 */
  attempts?: number;
  /** Delay before re-sending the unsent rest of a partly written batch. @defaultValue 1000 (ms) */
  retryDelayMs?: number;
  /** How long `drained()` rides out a Redis outage before it fails. @defaultValue 60000 (ms) */
  redisGraceMs?: number;
  /**
   * Ids already delivered to non-idempotent sinks (Splunk HEC), so a re-delivery sends nothing twice.
   * @defaultValue none (every batch is sent as it is)
   */
  ledger?: DeliveryLedger;
  /** Clock for `event.ingested` (tests). @defaultValue `() => new Date()` */
  now?: () => Date;
  /**
   * Device state: every mapped batch is merged into it before delivery, and each document gets its
   * `medsoc.device.key` (and the device view) written back. @defaultValue none (no state kept)
   */
  deviceState?: DeviceStateStore;
  /** Enrichment settings (config section `enrichment`). @defaultValue DEFAULT_ENRICHMENT */
  enrichment?: EnrichmentOptions;
  /** Advisory/KEV index for enrichment, loaded once at startup. @defaultValue the shipped snapshot */
  advisories?: AdvisoryIndex;
  /**
   * Called with every mapped batch before it goes to the sinks (playbook detection rules). Must not
   * throw; an error is logged and the batch is delivered anyway. @defaultValue none
   */
  onMapped?: (docs: EcsDocument[]) => Promise<void>;
  /**
   * Fused map→deliver: a process that runs both the map and the sink workers writes a mapped page
   * to each sink from the map job itself, instead of copying it into the sink queue and reading it
   * back. The sink queue stays the retry and backpressure path: a write that fails (sink down,
   * busy, refusing) or leaves a rest enqueues what is undelivered there, with the same job ids and
   * accounting as a queued delivery. @defaultValue true
   */
  fusedDelivery?: boolean;
  /**
   * After a fused write to a sink failed, how long its batches go straight to its sink queue
   * (the queue's backoff then paces the retries) before a fused write is tried again.
   * @defaultValue 30000 (ms)
   */
  fusedCooldownMs?: number;
}

const QUEUE_POLL = "poll";
const QUEUE_RAW = "raw";
const sinkQueueName = (sink: string) => `sink-${sink}`;

function batchId(parts: string[]): string {
  return createHash("sha1").update(parts.join("|")).digest("hex").slice(0, 24);
}

function cursorKey(c: Cursor | null): string {
  return c ? `${c.timestamp ?? ""}#${c.idsAtTimestamp.length}` : "start";
}

/**
 * The stages between queues: poll → raw → map → sink-<name>. Thin by design: it moves jobs and
 * calls connectors, mappings and sinks. Runs the same with the in-memory and the BullMQ driver.
 */
export class Pipeline {
  readonly pollQueue: Queue<PollJob>;
  readonly rawQueue: Queue<RawBatch>;
  readonly sinkQueues: Map<string, Queue<DocBatch>>;
  readonly #o: Required<
    Omit<
      PipelineOptions,
      "log" | "deviceState" | "enrichment" | "onMapped" | "ledger" | "workerOptions" | "fusedDelivery"
    >
  > &
    Pick<
      PipelineOptions,
      "deviceState" | "enrichment" | "onMapped" | "ledger" | "workerOptions" | "fusedDelivery"
    > & {
      log: Logger;
    };
  readonly #sources: Map<string, SourceInstance>;
  readonly #workers: Worker[] = [];
  readonly #abort = new AbortController();
  /** Whether this process maps and delivers (fused map→deliver, see `fusedDelivery`). */
  #fused = false;
  /** Per sink: until when batches bypass the fused write after a failure (epoch ms). */
  readonly #cooldownUntil = new Map<string, number>();

  constructor(options: PipelineOptions) {
    this.#o = {
      preserveOriginal: false,
      preserveDuplicateVendorFields: false,
      namespace: "default",
      concurrency: { poll: 2, map: 2, sink: 2 },
      maxPendingBatches: 16,
      retryDelayMs: 1000,
      redisGraceMs: 60_000,
      attempts: 5,
      fusedCooldownMs: 30_000,
      now: () => new Date(),
      ...options,
      // Built only when the caller brings none (the snapshot index takes a moment to build).
      advisories: options.advisories ?? defaultAdvisoryIndex(),
      log: options.log ?? silentLogger,
    };
    this.#sources = new Map(options.sources.map((s) => [s.name, s]));
    // Raw and document batches are pages of 1–5 MB: keep only a few completed ones (enough to
    // de-duplicate a re-enqueue after a crash) so Redis does not fill up with delivered data.
    this.pollQueue = options.driver.queue<PollJob>(QUEUE_POLL, { keepCompleted: 1000 });
    this.rawQueue = options.driver.queue<RawBatch>(QUEUE_RAW, { keepCompleted: 64 });
    this.sinkQueues = new Map(
      options.sinks.map((s) => [
        s.name,
        options.driver.queue<DocBatch>(sinkQueueName(s.name), { keepCompleted: 64 }),
      ]),
    );
  }

  /** Every queue of the pipeline, for depth metrics and drain checks. */
  queues(): Queue<unknown>[] {
    return [this.pollQueue, this.rawQueue, ...this.sinkQueues.values()] as Queue<unknown>[];
  }

  /** Starts this process's workers for every stage. */
  start(
    stages: { poll?: boolean; map?: boolean; sink?: boolean } = { poll: true, map: true, sink: true },
  ): void {
    const c = this.#o.concurrency;
    const w = this.#o.workerOptions ?? {};
    this.#fused = Boolean(stages.map && stages.sink) && this.#o.fusedDelivery !== false;
    if (stages.poll)
      this.#workers.push(
        this.pollQueue.process((job) => this.#poll(job.data, job.attemptsMade), {
          ...w,
          concurrency: c.poll,
        }),
      );
    if (stages.map)
      this.#workers.push(
        this.rawQueue.process((job) => this.#map(job.id, job.data), { ...w, concurrency: c.map }),
      );
    if (stages.sink)
      for (const sink of this.#o.sinks) {
        const queue = this.sinkQueues.get(sink.name);
        if (queue)
          this.#workers.push(
            queue.process((job) => this.#deliver(sink, job.data, job.id), { ...w, concurrency: c.sink }),
          );
      }
  }

  /**
   * Enqueues a poll of every configured stream now. `slot` is either one slot name for every
   * stream (a backfill: `now-<ms>`) or a function of the source name, so replicas starting within
   * one schedule slot enqueue the same job id and poll once.
   */
  async pollAll(slot: string | ((source: string) => string) = `now-${Date.now()}`): Promise<void> {
    for (const s of this.#sources.values()) {
      const slotName = typeof slot === "string" ? slot : slot(s.name);
      for (const stream of s.streams)
        await this.pollQueue.add(
          "poll",
          { source: s.name, stream, slot: slotName },
          { jobId: pollJobId(s.name, stream, slotName) },
        );
    }
  }

  /**
   * Enqueues documents that medsoc itself produces (the `audit` stream) to every sink. `id` is a
   * deterministic batch id, so a retried enqueue does not duplicate.
   */
  async enqueueDocs(stream: string, docs: EcsDocument[], id: string): Promise<void> {
    for (const [name, queue] of this.sinkQueues)
      await queue.add("docs", { source: "medsoc", stream, docs }, { jobId: `docs-${name}-${stream}-${id}` });
  }

  /**
   * Resolves when every queue is empty and idle. A Redis outage shorter than `redisGraceMs` is
   * ridden out; a longer one rejects with {@link RedisOutageError}.
   */
  async drained(timeoutMs = 3_600_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let busy = false;
      for (const q of this.queues()) {
        const n = await withinRedisGrace(
          `waiting for the pipeline to drain (counting queue ${q.name})`,
          this.#o.redisGraceMs,
          () => q.counts(),
        );
        if (n.waiting + n.active + n.delayed > 0) busy = true;
      }
      if (!busy) return;
      if (Date.now() > deadline) throw new Error("waiting for the pipeline to drain: timed out");
      await sleep(50);
    }
  }

  /** Refreshes the queue-depth gauges. */
  async collectQueueDepth(): Promise<void> {
    for (const q of this.queues()) {
      const n = await q.counts();
      for (const state of ["waiting", "active", "delayed", "failed"] as const)
        this.#o.metrics.queueDepth.set({ queue: q.name, state }, n[state]);
    }
  }

  /**
   * Hands pushed records to the raw queue, the same one the pollers fill. Resolves once the batch is
   * durably enqueued (Redis acknowledged it), so a receiver acknowledges only what is stored. The job
   * id is a hash of the content: a sender retrying a push whose answer it lost enqueues nothing new
   * while the first batch is waiting, active or among the last completed ones. Backpressure: when
   * the raw queue already holds `maxPendingBatches` waiting batches, throws {@link QueueFullError}
   * (or waits, with `whenFull: "wait"`).
   */
  async ingest(
    batch: IngestBatch,
    options: IngestOptions & { stage?: string } = {},
  ): Promise<{ jobId: string }> {
    const type = batch.type ?? batch.source;
    let serialised: string;
    try {
      serialised = JSON.stringify(batch.records);
    } catch (error) {
      // Too deep for the recursive serialiser, or a value JSON cannot hold: retrying cannot help.
      throw new PermanentError(
        `ingesting ${batch.source}/${batch.stream}: records cannot be serialised (${(error as Error).message})`,
        { cause: error },
      );
    }
    const id = `push-${createHash("sha1")
      .update(`${batch.source}|${type}|${batch.stream}|`)
      .update(serialised)
      .digest("hex")
      .slice(0, 32)}`;
    if (batch.records.length === 0) return { jobId: id };
    if (options.whenFull === "wait") await this.#waitForRoom(this.rawQueue as Queue<unknown>);
    else if (!(await this.hasRoom()))
      throw new QueueFullError(
        `ingesting ${batch.source}/${batch.stream}: the raw queue holds ${this.#o.maxPendingBatches} waiting batches`,
        { retryAfterMs: 1000 },
      );
    await this.rawQueue.add(
      "raw",
      {
        source: batch.source,
        type,
        stream: batch.stream,
        fetchedAt: this.#o.now().toISOString(),
        records: batch.records,
      },
      { jobId: id },
    );
    this.#o.metrics.records.inc(
      { stage: options.stage ?? "push", direction: "out", source: batch.source, stream: batch.stream },
      batch.records.length,
    );
    return { jobId: id };
  }

  /** True while the raw queue has room for another batch (fewer than `maxPendingBatches` waiting). */
  async hasRoom(): Promise<boolean> {
    const n = await this.rawQueue.counts();
    return n.waiting + n.delayed < this.#o.maxPendingBatches;
  }

  /** Stops taking jobs; in-flight jobs finish (the driver returns unfinished ones to the queue). */
  async close(): Promise<void> {
    this.#abort.abort(new Error("pipeline closing"));
    await Promise.all(this.#workers.map((w) => w.close()));
    this.#workers.length = 0;
  }

  async #waitForRoom(queue: Queue<unknown>): Promise<void> {
    const limit = this.#o.maxPendingBatches;
    for (;;) {
      const n = await queue.counts();
      if (n.waiting + n.delayed < limit) return;
      await sleep(20);
    }
  }

  async #poll(job: PollJob, attemptsMade = 0): Promise<void> {
    const source = this.#sources.get(job.source);
    if (!source) throw new PermanentError(`polling ${job.source}/${job.stream}: no such source configured`);
    if (!source.connector.streams.includes(job.stream))
      throw new PermanentError(
        `polling ${job.source}/${job.stream}: ${source.type} has no stream "${job.stream}"`,
      );
    const { cursors, metrics, log } = this.#o;
    let cursor = await cursors.get(job.source, job.stream);
    let pages = 0;
    let records = 0;
    // One signal per poll, linked to the pipeline's: the pipeline's signal holds one listener per
    // running poll (bounded by the poll concurrency), and a connector's own parallel requests (a
    // Forescout host-detail fan-out of up to 32, their retry sleeps) listen on this poll's signal,
    // which lives as long as the poll — no MaxListenersExceededWarning on a shared signal.
    const poll = new AbortController();
    setMaxListeners(128, poll.signal);
    const onAbort = () => poll.abort(this.#abort.signal.reason);
    if (this.#abort.signal.aborted) onAbort();
    else this.#abort.signal.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const page of readAhead(
        source.connector.poll(job.stream, cursor, { signal: poll.signal }),
      )) {
        pages++;
        if (page.records.length > 0) {
          await this.#waitForRoom(this.rawQueue as Queue<unknown>);
          // Deterministic id: a poll retried after a crash between enqueue and cursor save
          // re-reads the same page from the old cursor and the duplicate add is a no-op. A page
          // that does not move the cursor (a host list in no time order) is identified by its
          // content too, or every such page of a poll would collapse into the first.
          const parts = [
            job.source,
            job.stream,
            cursorKey(cursor),
            cursorKey(page.cursor),
            String(page.records.length),
          ];
          if (parts[2] === parts[3]) parts.push(JSON.stringify(page.records));
          const id = `raw-${batchId(parts)}`;
          await this.rawQueue.add(
            "raw",
            {
              source: job.source,
              type: source.type,
              stream: job.stream,
              fetchedAt: this.#o.now().toISOString(),
              records: page.records,
            },
            { jobId: id },
          );
          records += page.records.length;
          metrics.records.inc(
            { stage: "poll", direction: "out", source: job.source, stream: job.stream },
            page.records.length,
          );
        }
        // The cursor advances only after the page is durably enqueued.
        await cursors.set(job.source, job.stream, page.cursor);
        cursor = page.cursor;
        if (page.cursor.timestamp) {
          const lag = (this.#o.now().getTime() - Date.parse(page.cursor.timestamp)) / 1000;
          metrics.pollLag.set({ source: job.source, stream: job.stream }, Math.max(0, lag));
        }
      }
    } catch (error) {
      metrics.pollErrors.inc({
        source: job.source,
        stream: job.stream,
        kind: error instanceof PermanentError ? "permanent" : "retryable",
      });
      // The queue gives up after this attempt: count the poll as failed (for `start --once`'s exit code).
      if (error instanceof PermanentError || attemptsMade + 1 >= this.#o.attempts)
        metrics.pollsFailed.inc({ source: job.source, stream: job.stream });
      throw wrapError(`polling ${job.source}/${job.stream} after ${pages} page(s)`, error);
    } finally {
      this.#abort.signal.removeEventListener("abort", onAbort);
    }
    log.info({ source: job.source, stream: job.stream, pages, records, slot: job.slot }, "Poll finished.");
  }

  async #map(jobId: string, batch: RawBatch): Promise<void> {
    const { metrics, driver } = this.#o;
    const ingestedAt = this.#o.now().toISOString();
    const ctx = {
      source: batch.type,
      stream: batch.stream,
      ingestedAt,
      preserveOriginal: this.#o.preserveOriginal,
      preserveDuplicateVendorFields: this.#o.preserveDuplicateVendorFields,
      namespace: this.#o.namespace,
      enrichment: this.#o.enrichment,
      advisories: this.#o.advisories,
    };
    const docs: EcsDocument[] = [];
    // Vulnerability findings of devices matched to advisories: delivered to the vulnerability stream.
    const findings: EcsDocument[] = [];
    const labels = { stage: "map", source: batch.source, stream: batch.stream };
    metrics.records.inc({ ...labels, direction: "in" }, batch.records.length);
    for (const record of batch.records) {
      try {
        const doc = mapRecord(batch.type, batch.stream, record, ctx);
        if (batch.source !== batch.type) doc.medsoc.source = batch.source;
        docs.push(doc);
        for (const finding of advisoryFindings(doc, ctx)) findings.push(finding);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        let raw: string;
        try {
          raw = JSON.stringify(record) ?? String(record);
        } catch {
          raw = String(record);
        }
        const doc = pipelineErrorDocument(raw, reason, ctx);
        metrics.deadLettered.inc({ stage: "map" });
        await driver.deadLetters().add({
          queue: QUEUE_RAW,
          jobId,
          name: "map",
          data: doc,
          reason: `mapping ${batch.type}/${batch.stream}: ${reason}`,
          attemptsMade: 1,
          failedAt: ingestedAt,
        });
      }
    }
    if (docs.length > 0 && this.#o.deviceState) {
      try {
        // Advisory findings carry the device's identifiers: they get its key too.
        await this.#o.deviceState.upsert(findings.length > 0 ? [...docs, ...findings] : docs);
      } catch (error) {
        // The batch is mapped again on retry; sinks de-duplicate by document id.
        throw wrapError(`updating the device state with ${batch.source}/${batch.stream}`, error);
      }
    }
    metrics.records.inc({ ...labels, direction: "out" }, docs.length);
    if (docs.length === 0) return;
    if (this.#o.onMapped)
      try {
        await this.#o.onMapped(docs);
      } catch (error) {
        this.#o.log.warn(
          { err: error, source: batch.source, stream: batch.stream },
          "A mapped-batch hook failed.",
        );
      }
    const id = jobId.replace(/^raw-/, "");
    for (const sink of this.#o.sinks) {
      const queue = this.sinkQueues.get(sink.name);
      if (!queue) continue;
      await this.#toSink(
        sink,
        queue,
        { source: batch.source, stream: batch.stream, docs },
        `docs-${sink.name}-${id}`,
      );
      if (findings.length > 0)
        await this.#toSink(
          sink,
          queue,
          { source: batch.source, stream: "vulnerability", docs: findings },
          `docs-${sink.name}-${id}-findings`,
        );
    }
  }

  /**
   * Hands a mapped batch to one sink: written now when this process delivers (fused), otherwise —
   * and whenever the fused write fails — enqueued to the sink's queue under `docsJobId`, where the
   * queue's retries, backoff and dead-lettering take over exactly as for any queued batch.
   */
  async #toSink(sink: Sink, queue: Queue<DocBatch>, batch: DocBatch, docsJobId: string): Promise<void> {
    if (this.#fused && (this.#cooldownUntil.get(sink.name) ?? 0) <= Date.now()) {
      try {
        await this.#deliver(sink, batch, docsJobId, true);
        return;
      } catch (error) {
        this.#cooldownUntil.set(sink.name, Date.now() + this.#o.fusedCooldownMs);
        this.#o.log.warn(
          { sink: sink.name, docs: batch.docs.length, err: error },
          "Writing a mapped batch failed; it goes to the sink queue, which retries it.",
        );
      }
    }
    await this.#waitForRoom(queue as Queue<unknown>);
    await queue.add("docs", batch, { jobId: docsJobId });
  }

  /**
   * Writes a batch to a sink. `fused`: called from the map job (no sink job holds the batch yet):
   * a failure that leaves nothing settled throws for the caller to enqueue the whole batch, and
   * the batch is counted in only once it is taken (the queued delivery counts it then).
   */
  async #deliver(sink: Sink, batch: DocBatch, jobId: string, fused = false): Promise<void> {
    const stage = `sink.${sink.name}`;
    const countIn = () =>
      this.#o.metrics.records.inc(
        { stage, direction: "in", source: batch.source, stream: batch.stream },
        batch.docs.length,
      );
    if (!fused) countIn();
    const ledger = sink.idempotent === false ? this.#o.ledger : undefined;
    let docs = batch.docs;
    let already = 0;
    if (ledger) {
      const ids = docs.map((d) => docIdOf(d)).filter((id): id is string => id !== undefined);
      const known = await ledger.delivered(sink.name, ids);
      if (known.size > 0) {
        docs = docs.filter((d) => {
          const id = docIdOf(d);
          return id === undefined || !known.has(id);
        });
        already = batch.docs.length - docs.length;
      }
    }
    let result: SinkResult;
    try {
      result = docs.length > 0 ? await sink.write(batch.stream, docs) : emptyResult();
    } catch (error) {
      const partial = partialWriteOf(error);
      if (ledger && partial)
        await ledger.record(sink.name, deliveredIds(docs, partial.result, partial.remaining));
      if (partial && already > 0) partial.result.duplicates += already;
      if (!partial || error instanceof PermanentError || partial.remaining.length === docs.length)
        throw error;
      if (fused) countIn();
      // Part of the batch went in: account for it now and re-enqueue only the rest, so a HEC
      // retry does not index the accepted events twice. The queue's backoff applies to the rest.
      await this.#account(sink, batch, partial.result);
      const queue = this.sinkQueues.get(sink.name);
      if (!queue) throw error;
      await queue.add(
        "docs",
        { source: batch.source, stream: batch.stream, docs: partial.remaining },
        {
          jobId: `${jobId}-rest${partial.remaining.length}`,
          delayMs: Math.max(this.#o.retryDelayMs, (error as { retryAfterMs?: number }).retryAfterMs ?? 0),
        },
      );
      this.#o.log.warn(
        { sink: sink.name, remaining: partial.remaining.length, err: error },
        "Sink write failed part-way; the rest is queued again.",
      );
      return;
    }
    if (fused) countIn();
    if (ledger) await ledger.record(sink.name, deliveredIds(docs, result, []));
    result.duplicates += already;
    await this.#account(sink, batch, result);
  }

  async #account(sink: Sink, batch: DocBatch, result: SinkResult): Promise<void> {
    const { metrics, driver } = this.#o;
    const stage = `sink.${sink.name}`;
    metrics.records.inc(
      { stage, direction: "out", source: batch.source, stream: batch.stream },
      result.delivered + result.duplicates,
    );
    if (result.duplicates > 0) metrics.duplicates.inc({ sink: sink.name }, result.duplicates);
    for (const dead of result.deadLettered) {
      metrics.deadLettered.inc({ stage });
      await driver.deadLetters().add({
        queue: sinkQueueName(sink.name),
        jobId: (dead.document as EcsDocument | undefined)?.medsoc?.doc_id ?? "unknown",
        name: stage,
        data: dead.document,
        reason: dead.status ? `${dead.status}: ${dead.reason}` : dead.reason,
        attemptsMade: 1,
        failedAt: this.#o.now().toISOString(),
      });
    }
  }
}

/**
 * Iterates `source` one item ahead: the next page is fetched (the monitor's API answering, the body
 * parsed) while the current one is enqueued and its cursor saved, instead of one after the other.
 * Pages and cursors are handed on in the same order; an error of the next page surfaces after the
 * current one is enqueued, as before. The source is closed when the consumer stops.
 */
export async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let next = it.next();
  let done = false;
  try {
    for (;;) {
      const r = await next;
      if (r.done) {
        done = true;
        return;
      }
      next = it.next();
      // Awaited on the next turn, or settled in `finally`: never an unhandled rejection.
      next.catch(() => undefined);
      yield r.value;
    }
  } finally {
    if (!done) {
      // The consumer stopped early (an error, a close): let the fetch in flight settle, then close
      // the source (its sockets, its `finally`).
      await next.then(
        () => undefined,
        () => undefined,
      );
      await it.return?.();
    }
  }
}

/** Ids of `sent` that the destination took: neither dead-lettered nor still to send. */
function deliveredIds(sent: EcsDocument[], result: SinkResult, remaining: EcsDocument[]): string[] {
  const out = new Set<EcsDocument>([
    ...remaining,
    ...result.deadLettered.map((d) => d.document as EcsDocument),
  ]);
  const ids: string[] = [];
  for (const d of sent) {
    if (out.has(d)) continue;
    const id = docIdOf(d);
    if (id !== undefined) ids.push(id);
  }
  return ids;
}
