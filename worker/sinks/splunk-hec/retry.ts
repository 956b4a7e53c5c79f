/**
 * The HEC retry matrix (splunk.md §1; Vector: `splunk_hec/common/retry.rs`): what one reply means
 * for the events of the request, and how long to wait before sending them again.
 */
import { backoffDelay } from "../../../core/backoff.ts";
import { codeText, type Reply } from "./response.ts";

/** What to do with the events of one request after HEC's answer (or a network error). */
export type HecOutcome =
  /** 2xx: delivered, or awaiting their indexer acknowledgement when an ackId came back. */
  | { kind: "accepted"; ackId: number | undefined }
  /** Event `n` is bad: the head is delivered, `n` dead-lettered, the tail sent again. */
  | { kind: "partial"; n: number; reason: string }
  /** Never deliverable as sent: dead-letter the events with the reason. */
  | { kind: "dead"; reason: string; cause: "event" | "index" | "batch" | "too-large" }
  /** 413 for several events: send each half on its own. */
  | { kind: "split" }
  /** The configuration is wrong (token, URL, endpoint): stop the write. */
  | { kind: "refused"; message: string }
  /** Network error, timeout, 408, 429, 5xx (codes 8, 9, 18–20): send again after a backoff. */
  | { kind: "transient"; what: string };

/** Classifies one answer to a request of `events` events; `networkError` when there was none. */
export function classifyHecReply(
  reply: Reply | undefined,
  events: number,
  networkError: string | undefined,
): HecOutcome {
  const status = reply?.status ?? 0;
  const code = reply?.body?.code;
  if (reply && status >= 200 && status < 300) return { kind: "accepted", ackId: reply.body?.ackId };
  if (reply && status === 400 && (code === 6 || code === 12 || code === 13 || code === 15)) {
    const n = reply.body?.["invalid-event-number"];
    const detail = codeText(reply.body, status);
    if (typeof n === "number" && Number.isInteger(n) && n >= 0 && n < events)
      return { kind: "partial", n, reason: `hec rejected event ${n} of the batch: ${detail}` };
    return {
      kind: "dead",
      cause: "event",
      reason: `hec rejected the batch without a usable invalid-event-number: ${detail}`,
    };
  }
  // Splunk reports N off by one for code 7, so nothing after the head can be trusted.
  if (reply && status === 400 && code === 7)
    return {
      kind: "dead",
      cause: "index",
      reason: `hec refused the index (configuration): ${codeText(reply.body, status)}`,
    };
  if (
    reply &&
    (status === 401 ||
      status === 403 ||
      status === 404 ||
      status === 405 ||
      status === 415 ||
      (status === 400 && (code === 21 || code === 22)))
  )
    return {
      kind: "refused",
      message: `hec refused the request (configuration): ${codeText(reply.body, status)}`,
    };
  if (reply && status === 413) {
    if (events > 1) return { kind: "split" };
    return {
      kind: "dead",
      cause: "too-large",
      reason: `hec refused a single event as too large: ${codeText(reply.body, status)}`,
    };
  }
  if (reply && status === 400)
    return {
      kind: "dead",
      cause: "batch",
      reason: `hec rejected the batch: ${codeText(reply.body, status)}`,
    };
  if (reply && status < 500 && status !== 429 && status !== 408)
    return { kind: "refused", message: `hec answered an unexpected status: ${codeText(reply.body, status)}` };
  return {
    kind: "transient",
    what: networkError !== undefined ? `network error: ${networkError}` : codeText(reply?.body, status),
  };
}

/** Backoff before attempt `attempt + 1`: about base·2^(attempt-1), jittered, Retry-After as a floor. */
export function hecRetryDelay(
  attempt: number,
  retry: { baseDelayMs: number; maxDelayMs: number },
  retryAfterMs: number | undefined,
  random: () => number,
): number {
  return backoffDelay(attempt, {
    baseMs: retry.baseDelayMs,
    maxMs: retry.maxDelayMs,
    floorMs: retryAfterMs,
    random,
  });
}
