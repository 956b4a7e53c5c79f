import type { EcsDocument } from "../../mappings/types.ts";

/** A document a sink could not deliver and will not retry, with the reason. */
export interface DeadLetter {
  /** Stage that gave up (`sink.elasticsearch`, `sink.splunk`, `mapping`, …). */
  stage: string;
  reason: string;
  /** HTTP status or vendor code when there was one. */
  status?: number;
  document: unknown;
}

export interface SinkResult {
  /** Newly accepted by the destination. */
  delivered: number;
  /** Already there (Elasticsearch 409 on `create` with the deterministic id): counts as delivered. */
  duplicates: number;
  /** Given up on, each with its reason; the caller puts them on the dead-letter queue. */
  deadLettered: DeadLetter[];
}

/**
 * A destination for ECS documents. `write` retries internally only what can succeed on retry
 * (bounded), returns per-document permanent failures in `deadLettered`, and throws a
 * `RetryableError` when the whole batch should be retried later (destination down).
 */
export interface Sink {
  readonly name: string;
  /**
   * False when the destination keeps whatever it is sent (Splunk HEC): the pipeline then checks the
   * delivery ledger and sends only ids not delivered before. @defaultValue true (de-duplicates by id)
   */
  readonly idempotent?: boolean;
  write(stream: string, docs: EcsDocument[]): Promise<SinkResult>;
  close(): Promise<void>;
}
