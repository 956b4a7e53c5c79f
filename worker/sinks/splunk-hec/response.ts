/** What HEC answers, and the failures the sink tells apart (Vector: `splunk_hec/common/response.rs`). */

/** The HEC reply body (`{text, code, invalid-event-number?, ackId?}`). */
export interface HecReply {
  text?: string;
  code?: number;
  "invalid-event-number"?: number;
  ackId?: number;
}

/** One HTTP answer of HEC, its body parsed when it is JSON. */
export interface Reply {
  status: number;
  body: HecReply | undefined;
  /** The start of the body, secrets scrubbed (for messages). */
  raw: string;
  retryAfterMs: number | undefined;
}

/** A request the configuration can never make succeed (token, URL, endpoint). */
export class ConfigRefused extends Error {}
/** Indexer acknowledgements did not come after every resend. */
export class AcksLost extends Error {}
/** Transient failures outlasted the bounded retries. */
export class RetriesExhausted extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

/** `HTTP 400 code 6 (Invalid data format)`, for messages. */
export function codeText(body: HecReply | undefined, status: number): string {
  if (!body) return `HTTP ${status}`;
  return `HTTP ${status} code ${body.code ?? "?"} (${body.text ?? "no text"})`;
}
