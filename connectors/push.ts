/**
 * The contract between push receivers (`connectors/syslog/`, `connectors/http-push/`) and the
 * pipeline: receivers parse and authenticate, then hand records to an {@link Ingestor}, which is
 * `worker/pipeline.ts` `Pipeline.ingest` in production (the raw queue the pollers fill).
 */
import { RetryableError } from "../core/errors.ts";

/** Records a push receiver hands on. */
export interface IngestBatch {
  /** Source instance name (`forescout`, or `forescout-eu` for a second tenant). */
  source: string;
  /** Connector type, which selects the mapping. @defaultValue the source name */
  type?: string;
  stream: string;
  records: unknown[];
}

/** Options of {@link Ingestor.ingest}. */
export interface IngestOptions {
  /**
   * When the raw queue is full: `reject` throws {@link QueueFullError} at once (HTTP answers 503),
   * `wait` waits for room (syslog TCP, whose sockets are paused meanwhile). @defaultValue "reject"
   */
  whenFull?: "reject" | "wait";
}

/** Where receivers put records. Resolves only once the batch is durably enqueued. */
export interface Ingestor {
  ingest(batch: IngestBatch, options?: IngestOptions): Promise<{ jobId: string }>;
}

/** The raw queue is full: nothing was enqueued, the sender should try again later. */
export class QueueFullError extends RetryableError {}

/** Where a record that cannot be routed goes (the dead-letter queue), with its reason. */
export type DeadLetterFn = (entry: { receiver: string; reason: string; data: unknown }) => Promise<void>;

/** Where medsoc's push receivers listen (the embedded default starts both on loopback; simulated monitors push there). */
export interface PushTargets {
  /** HTTP push receiver base URL (`http://127.0.0.1:PORT`); the path per source is `/v1/push/<source>/<stream>`. */
  httpUrl?: string;
  /** Bearer token per source id for the HTTP push receiver. */
  httpTokens?: Record<string, string>;
  /** Syslog receiver (TCP, newline framing). */
  syslog?: { host: string; port: number };
}
