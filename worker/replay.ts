/**
 * `medsoc dead-letters replay`: puts dead letters back into the pipeline once their cause is fixed
 * (a mapping corrected, an index template or a Splunk index allowed), idempotently:
 *
 * - a document a sink refused (`queue: sink-<name>`, the document as data) goes back to that sink's
 *   queue, grouped by stream;
 * - a record the mapper refused (`queue: raw`, name `map`, a `pipeline_error` document) is mapped
 *   again from its `event.original`;
 * - a job that failed for good (poll, raw batch, document batch) is added again with its data.
 *
 * Every replayed job gets an id derived from what it carries, and an entry leaves the dead-letter
 * list only after its job is enqueued. Replaying twice therefore enqueues nothing new (the second run
 * finds no entries; after a crash in between, the same job ids are de-duplicated by the queue, and the
 * destinations de-duplicate by document id: Elasticsearch 409, the HEC delivery ledger).
 */
import { createHash } from "node:crypto";
import type { EcsDocument } from "../mappings/types.ts";
import type { DocBatch, PollJob, RawBatch } from "./pipeline.ts";
import type { DeadLetterEntry, QueueDriver } from "./queue/types.ts";

export interface ReplayOptions {
  /** Only entries of this queue (`sink-elasticsearch`, `raw`, `poll`). @defaultValue every queue */
  queue?: string;
  /** Report what would be replayed, change nothing. @defaultValue false */
  dryRun?: boolean;
  /** Documents per replayed sink job. @defaultValue 500 */
  batchSize?: number;
}

export interface ReplayReport {
  /** Entries looked at. */
  entries: number;
  /** Entries put back (and removed from the dead-letter list unless `dryRun`). */
  replayed: number;
  /** Jobs enqueued per queue. */
  jobs: Record<string, number>;
  /** Entries left in the list, with why. */
  skipped: { jobId: string; queue: string; reason: string }[];
}

const hash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 32);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function isDocument(v: unknown): v is EcsDocument {
  return isObject(v) && isObject(v.medsoc) && typeof v.medsoc.doc_id === "string" && isObject(v.event);
}

/** Re-enqueues the dead letters of `driver` whose queue belongs to the pipeline. */
export async function replayDeadLetters(
  driver: QueueDriver,
  options: ReplayOptions = {},
): Promise<ReplayReport> {
  const dlq = driver.deadLetters();
  const all = await dlq.list(0, -1);
  const entries = options.queue ? all.filter((e) => e.queue === options.queue) : all;
  const size = Math.max(1, options.batchSize ?? 500);
  const report: ReplayReport = { entries: entries.length, replayed: 0, jobs: {}, skipped: [] };
  const plan: { queue: string; name: string; data: unknown; jobId: string; from: DeadLetterEntry[] }[] = [];
  const skip = (e: DeadLetterEntry, reason: string) =>
    report.skipped.push({ jobId: e.jobId, queue: e.queue, reason });

  // Documents refused by a sink, grouped per (sink queue, stream).
  const groups = new Map<string, { queue: string; stream: string; entries: DeadLetterEntry[] }>();
  for (const e of entries) {
    if (e.queue.startsWith("sink-") && e.name.startsWith("sink.") && isDocument(e.data)) {
      const stream = e.data.medsoc.stream;
      const key = `${e.queue}|${stream}`;
      let g = groups.get(key);
      if (!g) {
        g = { queue: e.queue, stream, entries: [] };
        groups.set(key, g);
      }
      g.entries.push(e);
    } else if (e.queue === "raw" && e.name === "map" && isDocument(e.data)) {
      const original = (e.data.event as { original?: unknown }).original;
      let record: unknown;
      try {
        record = typeof original === "string" ? JSON.parse(original) : undefined;
      } catch {
        record = undefined;
      }
      if (record === undefined) {
        skip(e, "the refused record is not JSON (event.original); nothing to map again");
        continue;
      }
      const source = e.data.medsoc.source;
      const batch: RawBatch = {
        source,
        type: source,
        stream: e.data.medsoc.stream,
        fetchedAt: new Date().toISOString(),
        records: [record],
      };
      plan.push({
        queue: "raw",
        name: "raw",
        data: batch,
        jobId: `replay-${hash(`raw|${original}`)}`,
        from: [e],
      });
    } else if (e.queue === "poll" && isObject(e.data) && typeof e.data.source === "string") {
      const job = e.data as unknown as PollJob;
      plan.push({
        queue: "poll",
        name: "poll",
        data: job,
        jobId: `replay-${hash(`poll|${e.jobId}|${e.failedAt}`)}`,
        from: [e],
      });
    } else if (
      (e.queue === "raw" || e.queue.startsWith("sink-")) &&
      isObject(e.data) &&
      Array.isArray(
        (e.data as { records?: unknown; docs?: unknown }).records ?? (e.data as { docs?: unknown }).docs,
      )
    ) {
      const data = e.data as unknown as RawBatch | DocBatch;
      plan.push({
        queue: e.queue,
        name: e.queue === "raw" ? "raw" : "docs",
        data,
        jobId: `replay-${hash(`${e.queue}|${e.jobId}|${JSON.stringify(data).length}`)}`,
        from: [e],
      });
    } else skip(e, "not a pipeline dead letter medsoc knows how to replay");
  }
  for (const g of groups.values()) {
    for (let i = 0; i < g.entries.length; i += size) {
      const chunk = g.entries.slice(i, i + size);
      const docs = chunk.map((e) => e.data as EcsDocument);
      const ids = docs.map((d) => d.medsoc.doc_id).sort();
      const batch: DocBatch = { source: docs[0]?.medsoc.source ?? "replay", stream: g.stream, docs };
      plan.push({
        queue: g.queue,
        name: "docs",
        data: batch,
        jobId: `replay-${hash(`${g.queue}|${g.stream}|${ids.join(",")}`)}`,
        from: chunk,
      });
    }
  }

  for (const job of plan) {
    if (!options.dryRun) {
      // The pipeline's retention (worker/pipeline.ts): few completed pages kept, many poll ids.
      const queue = driver.queue(job.queue, { keepCompleted: job.queue === "poll" ? 1000 : 64 });
      await queue.add(job.name, job.data, { jobId: job.jobId });
      await dlq.remove(job.from);
    }
    report.jobs[job.queue] = (report.jobs[job.queue] ?? 0) + 1;
    report.replayed += job.from.length;
  }
  return report;
}
