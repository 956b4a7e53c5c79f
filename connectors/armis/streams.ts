/**
 * The three Armis streams, their AQL, paging and cursor rules.
 *
 * Cursor rules (monitors.md §1 rule 1, §3 "Tie-break"):
 * - The cursor is the newest record timestamp handed on (microseconds, UTC) plus the ids seen at
 *   exactly that timestamp.
 * - AQL `after:` takes whole seconds and whether it is inclusive is not documented, so the query
 *   asks for one second before the cursor's second: the boundary second is always re-read, under
 *   either reading. Records older than the cursor, and records at the cursor whose id is already
 *   in `idsAtTimestamp`, are dropped here.
 * - Records come ordered by the cursor field (`orderBy`), so the cursor after each page is the
 *   newest timestamp so far; a record with a missing or unparsable timestamp is passed on (the
 *   mapping turns it into a `pipeline_error`, nothing is dropped silently) but never moves the cursor.
 *
 * Vulnerabilities: each record is the vulnerability with one added field, `vulnerability_match`,
 * holding ONE affected device from `GET /api/v1/vulnerability-match/` — one record per
 * (vulnerability, device), as Elastic's armis package emits them. The boundary id is the CVE id
 * (`cveUid`, else `id`) at its `lastDetected`: a vulnerability re-read at an unchanged
 * `lastDetected` is skipped with all its matches; when Armis detects it on more devices,
 * `lastDetected` moves and every match is emitted again (at-least-once; the mapping's deterministic
 * document id absorbs the repeats). A vulnerability whose matches span several yielded pages only
 * enters the cursor with its last match, so an interrupted poll re-emits it rather than losing it.
 * A vulnerability with no matched device yields no record.
 *
 * Offset paging over a live inventory can shift when devices are updated mid-poll; such a device
 * moves past the cursor and is read again by the next poll.
 */
import { PermanentError, RetryableError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { BoundaryCursor, isoToMicros, microsToIsoMicros } from "../boundary-cursor.ts";
import type { Cursor, Page } from "../types.ts";
import type { ArmisClient } from "./client.ts";

export const ARMIS_STREAMS = ["device", "alert", "vulnerability"] as const;
export type ArmisStream = (typeof ARMIS_STREAMS)[number];

interface StreamSpec {
  /** AQL `in:` value. */
  kind: "devices" | "alerts" | "vulnerabilities";
  /** Field the API orders by and the cursor follows. */
  timeField: string;
  /** Vendor id of a record (tie-break). */
  id: (record: Record<string, unknown>) => string | undefined;
}

const asId = (v: unknown): string | undefined =>
  typeof v === "string" && v.length > 0
    ? v
    : typeof v === "number" && Number.isFinite(v)
      ? String(v)
      : undefined;

export const STREAM_SPECS: Readonly<Record<ArmisStream, StreamSpec>> = {
  device: { kind: "devices", timeField: "lastSeen", id: (r) => asId(r.id) },
  alert: { kind: "alerts", timeField: "time", id: (r) => asId(r.alertId) },
  vulnerability: {
    kind: "vulnerabilities",
    timeField: "lastDetected",
    id: (r) => asId(r.cveUid) ?? asId(r.id),
  },
};

export function isArmisStream(stream: string): stream is ArmisStream {
  return (ARMIS_STREAMS as readonly string[]).includes(stream);
}

/**
 * An ISO-8601 timestamp as epoch microseconds (Armis sends microseconds, which a `Date` would
 * round away and with them the tie-break). No zone means UTC. Undefined when unparsable.
 */
export const timestampMicros = isoToMicros;

/** Epoch microseconds as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, the cursor's canonical form. */
export const microsToIso = microsToIsoMicros;

/** The AQL `after:` value for a lower bound: one whole second before it, `YYYY-MM-DDTHH:MM:SS`. */
export function afterValue(lowerBoundUs: number): string {
  const sec = Math.floor(lowerBoundUs / 1_000_000) - 1;
  return new Date(sec * 1000).toISOString().slice(0, 19);
}

/** `in:<kind>` with an optional `after:` bound. */
export function buildAql(kind: StreamSpec["kind"], after: string | undefined): string {
  return after === undefined ? `in:${kind}` : `in:${kind} after:${after}`;
}

/** What a stream poll needs. */
export interface StreamContext {
  client: ArmisClient;
  log: Logger;
  pageSize: number;
  maxVulnerabilityRecordsPerPage: number;
  initialLookbackSeconds: number;
  now: () => number;
  signal?: AbortSignal;
}

interface SearchPage {
  results: Record<string, unknown>[];
  next: number | null;
}

function searchPage(body: unknown, context: string): SearchPage {
  const data = (body as { data?: { results?: unknown; next?: unknown } }).data;
  if (!data || !Array.isArray(data.results))
    throw new PermanentError(`${context}: unexpected response shape, data.results is not an array`);
  return { results: data.results as Record<string, unknown>[], next: nextOffset(data.next, context) };
}

function matchPage(body: unknown, context: string): SearchPage {
  const data = (body as { data?: { sample?: unknown; paging?: { next?: unknown } } }).data;
  if (!data || !Array.isArray(data.sample))
    throw new PermanentError(`${context}: unexpected response shape, data.sample is not an array`);
  return { results: data.sample as Record<string, unknown>[], next: nextOffset(data.paging?.next, context) };
}

function nextOffset(next: unknown, context: string): number | null {
  if (next === null || next === undefined) return null;
  if (typeof next === "number" && Number.isInteger(next) && next >= 0) return next;
  throw new PermanentError(`${context}: unexpected response shape, next is ${JSON.stringify(next)}`);
}

function lowerBound(state: BoundaryCursor, ctx: StreamContext): string | undefined {
  if (state.lowerBound !== undefined) return afterValue(state.lowerBound);
  if (ctx.initialLookbackSeconds === 0) return undefined;
  return afterValue((ctx.now() - ctx.initialLookbackSeconds * 1000) * 1000 + 1_000_000);
}

/** Pages of `GET /api/v1/search/` for one AQL, following `data.next`. */
async function* searchPages(
  stream: ArmisStream,
  aql: string,
  ctx: StreamContext,
): AsyncGenerator<{ page: number; results: Record<string, unknown>[] }> {
  const spec = STREAM_SPECS[stream];
  let from: number | null = 0;
  for (let page = 1; from !== null; page++) {
    ctx.signal?.throwIfAborted();
    const context = `fetching armis ${stream} page ${page}`;
    const body = await ctx.client.get(
      "/search/",
      { aql, from, length: ctx.pageSize, orderBy: spec.timeField },
      context,
      ctx.signal,
    );
    const { results, next } = searchPage(body, context);
    yield { page, results };
    if (next !== null && next <= from)
      throw new RetryableError(`${context}: data.next ${next} does not advance past ${from}`);
    if (next !== null && results.length === 0)
      throw new RetryableError(`${context}: an empty page announces a next page at ${next}`);
    from = next;
  }
}

/** The device and alert streams: one yielded page per API page. */
export async function* pollSearchStream(
  stream: "device" | "alert",
  cursor: Cursor | null,
  ctx: StreamContext,
): AsyncGenerator<Page> {
  const spec = STREAM_SPECS[stream];
  const state = new BoundaryCursor(cursor, "armis");
  const aql = buildAql(spec.kind, lowerBound(state, ctx));
  ctx.log.debug({ connector: "armis", stream, aql }, "Polling an Armis stream.");
  for await (const { page, results } of searchPages(stream, aql, ctx)) {
    const { records, untimed } = state.keepNew(
      results,
      (record) => timestampMicros(record?.[spec.timeField]),
      (record) => spec.id(record ?? {}),
    );
    if (untimed > 0)
      ctx.log.warn(
        { connector: "armis", stream, page, records: untimed, field: spec.timeField },
        "Armis records without a parsable timestamp were passed on without moving the cursor.",
      );
    if (records.length > 0) yield { records, cursor: state.snapshot() };
  }
}

/**
 * The vulnerability stream: one record per (vulnerability, matched device), at most
 * `maxVulnerabilityRecordsPerPage` (plus one match page) buffered before a yield.
 */
export async function* pollVulnerabilityStream(
  cursor: Cursor | null,
  ctx: StreamContext,
): AsyncGenerator<Page> {
  const spec = STREAM_SPECS.vulnerability;
  const state = new BoundaryCursor(cursor, "armis");
  const aql = buildAql(spec.kind, lowerBound(state, ctx));
  ctx.log.debug({ connector: "armis", stream: "vulnerability", aql }, "Polling an Armis stream.");
  let buffer: unknown[] = [];
  let lastYielded = state.snapshot();
  for await (const { page, results } of searchPages("vulnerability", aql, ctx)) {
    for (const vulnerability of results) {
      const us = timestampMicros(vulnerability?.lastDetected);
      const cve = spec.id(vulnerability ?? {});
      if (us !== undefined && !state.isNew(us, cve)) continue;
      if (cve === undefined) {
        ctx.log.warn(
          { connector: "armis", stream: "vulnerability", page },
          "An Armis vulnerability without cveUid or id was skipped: its devices cannot be queried.",
        );
        continue;
      }
      let from: number | null = 0;
      for (let matchPageNo = 1; from !== null; matchPageNo++) {
        ctx.signal?.throwIfAborted();
        const context = `fetching armis vulnerability matches for ${cve} page ${matchPageNo}`;
        const body = await ctx.client.get(
          "/vulnerability-match/",
          { vulnerability_ids: cve, from, length: ctx.pageSize },
          context,
          ctx.signal,
        );
        const { results: matches, next } = matchPage(body, context);
        for (const match of matches) buffer.push({ ...vulnerability, vulnerability_match: match });
        if (buffer.length >= ctx.maxVulnerabilityRecordsPerPage) {
          // The current vulnerability is not complete: the cursor does not include it yet.
          lastYielded = state.snapshot();
          yield { records: buffer, cursor: lastYielded };
          buffer = [];
        }
        if (next !== null && next <= from)
          throw new RetryableError(`${context}: data.paging.next ${next} does not advance past ${from}`);
        if (next !== null && matches.length === 0)
          throw new RetryableError(`${context}: an empty page announces a next page at ${next}`);
        from = next;
      }
      if (us !== undefined) state.advance(us, cve);
    }
    // One page per API page; an empty one still carries a cursor that moved (vulnerabilities without matches).
    if (buffer.length > 0 || state.differsFrom(lastYielded)) {
      lastYielded = state.snapshot();
      yield { records: buffer, cursor: lastYielded };
      buffer = [];
    }
  }
}
