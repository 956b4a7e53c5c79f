/**
 * The HEC sink (Vector: `splunk_hec/logs/sink.rs`): one validated envelope per document, batches
 * bounded by bytes and count, sent `concurrency` at a time, each to the end of the retry matrix
 * (retry.ts), with optional indexer acknowledgement (acks.ts).
 */

import { sleep } from "../../../core/backoff.ts";
import type { Logger } from "../../../core/log.ts";
import { silentLogger } from "../../../core/log.ts";
import type { EcsDocument } from "../../../mappings/types.ts";
import {
  docIdOf,
  parseSinkConfig,
  SinkBackpressureError,
  SinkPermanentError,
  SinkRetryableError,
} from "../common.ts";
import type { Sink, SinkResult } from "../types.ts";
import { AckTracker } from "./acks.ts";
import {
  type SplunkHecSinkConfig,
  type SplunkHecSinkConfigInput,
  splunkHecSinkConfigSchema,
} from "./config.ts";
import { buildHecEnvelope, envelopeChecker, type HecEnvelope } from "./envelope.ts";
import { AcksLost, ConfigRefused, type Reply, RetriesExhausted } from "./response.ts";
import { classifyHecReply, hecRetryDelay } from "./retry.ts";
import { createHecService } from "./service.ts";

const STAGE = "sink.splunk";

export interface SplunkHecSinkDeps {
  /** @defaultValue silentLogger */
  log?: Logger;
  /**
   * Adjusts an envelope before validation (deployment-specific indexed fields, a sourcetype
   * override). Whatever it returns is validated like the rest; an invalid envelope is dead-lettered.
   */
  decorateEnvelope?: (envelope: HecEnvelope, doc: EcsDocument) => Record<string, unknown>;
  /** Random source for the backoff jitter (tests). @defaultValue Math.random */
  random?: () => number;
}

interface Entry {
  doc: EcsDocument;
  line: string;
  bytes: number;
  state: "pending" | "delivered" | "dead";
}

interface WriteContext {
  stream: string;
  result: SinkResult;
  stopped: boolean;
  errors: Error[];
  ackTasks: Promise<void>[];
}

/**
 * Sends ECS documents to Splunk's HTTP Event Collector, implementing its documented contract
 * (splunk.md §1): one validated envelope per document, batches bounded by bytes and count, gzip,
 * the retry matrix (transient → whole batch with backoff; `invalid-event-number` N → head delivered,
 * N dead-lettered, tail resent; code 7 and batch-level 400s → dead-lettered; 401/403/404/405/415 →
 * `SinkPermanentError`), and optional indexer acknowledgement with bounded pending acks and
 * at-least-once resends.
 */
export function createSplunkHecSink(
  rawConfig: SplunkHecSinkConfigInput | SplunkHecSinkConfig,
  deps: SplunkHecSinkDeps = {},
): Sink {
  const config = parseSinkConfig(splunkHecSinkConfigSchema, rawConfig, "splunk");
  const log = (deps.log ?? silentLogger).child({ sink: "splunk" });
  const random = deps.random ?? Math.random;
  const checkEnvelope = envelopeChecker();
  const hec = createHecService(config);
  let warnedNoAckId = false;

  const acks = new AckTracker(config.ack, (ids) => hec.pollAcks(ids), log);

  const deliver = (ctx: WriteContext, entries: Entry[]) => {
    for (const e of entries) e.state = "delivered";
    ctx.result.delivered += entries.length;
  };
  const deadLetter = (ctx: WriteContext, entries: Entry[], reason: string, status?: number) => {
    for (const e of entries) {
      e.state = "dead";
      ctx.result.deadLettered.push({
        stage: STAGE,
        reason,
        ...(status !== undefined ? { status } : {}),
        document: e.doc,
      });
    }
  };

  /** Sends one batch to the end: retries, partial replies, ack registration. */
  async function sendBatch(ctx: WriteContext, batch: Entry[], resends = 0): Promise<void> {
    let pending = batch;
    let attempt = 0;
    while (pending.length > 0 && !ctx.stopped) {
      attempt += 1;
      if (config.useAck) await acks.reserve();
      let reply: Reply | undefined;
      let networkError: Error | undefined;
      try {
        reply = await hec.postEvents(pending.map((e) => e.line));
      } catch (error) {
        networkError = error as Error;
      }
      const status = reply?.status ?? 0;
      const code = reply?.body?.code;
      // Only a 2xx with an ackId keeps the reservation (released when the ack resolves).
      if (config.useAck && !(status >= 200 && status < 300 && reply?.body?.ackId !== undefined))
        acks.release();

      const outcome = classifyHecReply(
        reply,
        pending.length,
        networkError
          ? hec.scrub(String((networkError as { code?: string }).code ?? networkError.message))
          : undefined,
      );
      switch (outcome.kind) {
        case "accepted": {
          if (config.useAck && outcome.ackId !== undefined) {
            ctx.ackTasks.push(awaitAck(ctx, pending, outcome.ackId, resends));
          } else {
            if (config.useAck && !warnedNoAckId) {
              warnedNoAckId = true;
              log.warn(
                { status, code },
                "HEC answered without an ackId; the token does not use indexer acknowledgement.",
              );
            }
            deliver(ctx, pending);
          }
          return;
        }
        case "partial": {
          const { n } = outcome;
          deliver(ctx, pending.slice(0, n));
          deadLetter(ctx, pending.slice(n, n + 1), outcome.reason, status);
          log.warn(
            { stream: ctx.stream, code, invalidEventNumber: n, resent: pending.length - n - 1 },
            "HEC rejected one event; resending the rest.",
          );
          pending = pending.slice(n + 1);
          attempt = 0;
          continue;
        }
        case "dead": {
          if (outcome.cause === "index")
            log.error(
              { stream: ctx.stream, index: config.index, code },
              "HEC refused the index for this token; check sinks.splunk.index.",
            );
          else if (outcome.cause === "batch")
            log.error({ stream: ctx.stream, code }, "HEC rejected the whole batch.");
          deadLetter(ctx, pending, outcome.reason, status);
          return;
        }
        case "refused":
          throw new ConfigRefused(outcome.message);
        case "split": {
          const half = Math.ceil(pending.length / 2);
          log.warn({ events: pending.length }, "HEC refused the request as too large; splitting it.");
          await sendBatch(ctx, pending.slice(0, half), resends);
          await sendBatch(ctx, pending.slice(half), resends);
          return;
        }
        case "transient": {
          const { what } = outcome;
          if (attempt >= config.retry.maxAttempts)
            throw new RetriesExhausted(
              `hec still failing after ${attempt} attempts: ${what}`,
              reply?.retryAfterMs,
            );
          const delayMs = hecRetryDelay(attempt, config.retry, reply?.retryAfterMs, random);
          log.warn(
            { stream: ctx.stream, status, code, attempt, delayMs, events: pending.length, error: what },
            "HEC request failed; retrying.",
          );
          await sleep(delayMs);
        }
      }
    }
  }

  async function awaitAck(
    ctx: WriteContext,
    entries: Entry[],
    ackId: number,
    resends: number,
  ): Promise<void> {
    const acked = await acks.wait(ackId);
    if (acked) return deliver(ctx, entries);
    if (acks.fatal) throw acks.fatal;
    if (resends < config.ack.maxResends) {
      log.warn(
        { ackId, events: entries.length, resend: resends + 1 },
        "No HEC acknowledgement in time; sending the batch again.",
      );
      return sendBatch(ctx, entries, resends + 1);
    }
    // Not dead-lettered: a lost acknowledgement says nothing about the events. They stay pending,
    // so the write fails retryably with them as the remaining part (a job attempt is spent).
    throw new AcksLost(
      `no indexer acknowledgement after ${resends + 1} sends (ackId ${ackId}, channel ${hec.channel})`,
    );
  }

  async function write(stream: string, docs: EcsDocument[]): Promise<SinkResult> {
    const ctx: WriteContext = {
      stream,
      result: { delivered: 0, duplicates: 0, deadLettered: [] },
      stopped: false,
      errors: [],
      ackTasks: [],
    };
    const entries: Entry[] = [];
    // Splunk keeps whatever it is sent: the same id twice in one write is sent once.
    const seen = new Set<string>();
    for (const doc of docs) {
      const id = docIdOf(doc);
      if (id !== undefined) {
        if (seen.has(id)) {
          ctx.result.duplicates += 1;
          continue;
        }
        seen.add(id);
      }
      const built = buildHecEnvelope(doc, stream, config);
      const envelope =
        typeof built === "string" ? built : deps.decorateEnvelope ? deps.decorateEnvelope(built, doc) : built;
      const entry: Entry = { doc, line: "", bytes: 0, state: "pending" };
      entries.push(entry);
      if (typeof envelope === "string") {
        deadLetter(ctx, [entry], envelope);
        continue;
      }
      // Validate before sending: an unknown top-level key makes Splunk answer 200 and drop the rest.
      const problem = checkEnvelope(envelope);
      if (problem !== undefined) {
        deadLetter(ctx, [entry], problem);
        continue;
      }
      entry.line = JSON.stringify(envelope);
      entry.bytes = Buffer.byteLength(entry.line);
      if (entry.bytes > config.maxEventBytes)
        deadLetter(
          ctx,
          [entry],
          `event of ${entry.bytes} bytes is over maxEventBytes (${config.maxEventBytes})`,
        );
    }

    const batches: Entry[][] = [];
    let current: Entry[] = [];
    let currentBytes = 0;
    for (const e of entries) {
      if (e.state !== "pending") continue;
      if (
        current.length > 0 &&
        (current.length >= config.maxBatchEvents || currentBytes + e.bytes + 1 > config.maxBatchBytes)
      ) {
        batches.push(current);
        current = [];
        currentBytes = 0;
      }
      current.push(e);
      currentBytes += e.bytes + 1;
    }
    if (current.length > 0) batches.push(current);

    let next = 0;
    const worker = async () => {
      while (!ctx.stopped && next < batches.length) {
        const batch = batches[next++] as Entry[];
        try {
          await sendBatch(ctx, batch);
        } catch (error) {
          ctx.stopped = true;
          ctx.errors.push(error as Error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(config.concurrency, batches.length) }, worker));
    while (ctx.ackTasks.length > 0) {
      const tasks = ctx.ackTasks.splice(0);
      for (const r of await Promise.allSettled(tasks)) {
        if (r.status === "rejected") {
          ctx.stopped = true;
          ctx.errors.push(r.reason as Error);
        }
      }
    }

    const { result } = ctx;
    const remaining = entries.filter((e) => e.state === "pending").map((e) => e.doc);
    const counts = {
      stream,
      received: docs.length,
      batches: batches.length,
      delivered: result.delivered,
      deadLettered: result.deadLettered.length,
      remaining: remaining.length,
    };
    const failure = ctx.errors.find((e) => e instanceof ConfigRefused) ?? ctx.errors[0];
    if (failure) {
      const message = `sending hec batch to ${hec.eventUrl}: ${hec.scrub(failure.message)}`;
      log.warn({ ...counts, error: message }, "Sending to Splunk HEC failed.");
      const partial = { result, remaining };
      if (failure instanceof ConfigRefused) throw new SinkPermanentError(message, partial);
      // Busy, 5xx or unreachable after the bounded retries: the queue waits without spending an attempt.
      if (failure instanceof RetriesExhausted)
        throw new SinkBackpressureError(message, partial, {
          ...(failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {}),
        });
      throw new SinkRetryableError(message, partial, {
        ...(failure instanceof RetriesExhausted && failure.retryAfterMs !== undefined
          ? { retryAfterMs: failure.retryAfterMs }
          : {}),
      });
    }
    log.debug(counts, "Sent documents to Splunk HEC.");
    if (result.deadLettered.length > 0)
      log.warn(
        { stream, deadLettered: result.deadLettered.length, first: result.deadLettered[0]?.reason },
        "Splunk HEC dead-lettered documents.",
      );
    return result;
  }

  return {
    name: "splunk",
    // Splunk indexes every event it is sent: re-delivery is prevented by the pipeline's ledger.
    idempotent: false,
    write,
    async close() {
      acks.close();
      await hec.close();
    },
  };
}
