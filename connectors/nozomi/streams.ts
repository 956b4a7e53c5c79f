/**
 * The three Nozomi streams, their N2QL and cursor rules (monitors.md §1 rule 1, §5).
 *
 * - `asset` reads `assets`, `alert` reads `alerts`, `node_cve` reads `node_cves`, each filtered and
 *   sorted on an epoch-millisecond field (`timeFields` in the config).
 * - Times are milliseconds and several records share one millisecond, so the query uses an
 *   inclusive lower bound (`where <field> >= T`) and drops the records at `T` whose id is in the
 *   cursor's `idsAtTimestamp` (XSOAR orders by time then id and keeps `id > last_id` at the boundary;
 *   an id set does not depend on how the appliance orders equal times).
 * - Keyset paging: after every full page the query is re-issued from the newest time seen, page 1.
 *   Offset paging over a live table skips a record whenever an earlier one is updated and moves
 *   to the end; a fresh lower bound cannot. `page` only grows while a whole page shares the anchor
 *   millisecond, and more than `maxPagesPerQuery` such pages (`page` ≤ 1000, `count` ≤ 10 000 on
 *   the appliance) end the poll with a `PermanentError` rather than loop.
 * - A record whose time is missing or unparsable is passed on (the mapping makes it a
 *   `pipeline_error`, nothing is dropped silently) but never moves the cursor.
 * - Times drift between a number and a numeric string (`"1724888822710"`); both are read.
 */
import { PermanentError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { advanceCursor } from "../cursor-advance.ts";
import type { Cursor, Page } from "../types.ts";
import type { NozomiClient } from "./client.ts";

export const NOZOMI_STREAMS = ["asset", "alert", "node_cve"] as const;
export type NozomiStream = (typeof NOZOMI_STREAMS)[number];

/** Query table of each stream. */
export const NOZOMI_TABLES: Readonly<Record<NozomiStream, string>> = {
  asset: "assets",
  alert: "alerts",
  node_cve: "node_cves",
};

export function isNozomiStream(stream: string): stream is NozomiStream {
  return (NOZOMI_STREAMS as readonly string[]).includes(stream);
}

/** Epoch milliseconds from a number or a numeric string; undefined otherwise (0 counts as missing). */
export function epochMs(value: unknown): number | undefined {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && value.trim() !== ""
        ? Number(value)
        : Number.NaN;
  return Number.isFinite(n) && n > 0 ? Math.trunc(n) : undefined;
}

/** A record id as a string (UUIDs in every table; numbers accepted). */
export function recordId(record: Record<string, unknown>): string {
  const id = record.id;
  if (typeof id === "string") return id;
  if (typeof id === "number" && Number.isFinite(id)) return String(id);
  return "";
}

/** N2QL for one stream from an inclusive lower bound (none: the whole table). */
export function buildQuery(table: string, timeField: string, lowerMs: number | undefined): string {
  const where = lowerMs === undefined ? "" : ` | where ${timeField} >= ${lowerMs}`;
  return `${table}${where} | sort ${timeField} asc`;
}

export interface StreamContext {
  client: NozomiClient;
  log: Logger;
  pageSize: number;
  maxPagesPerQuery: number;
  timeField: string;
  initialLookbackSeconds: number;
  now: () => number;
  signal?: AbortSignal;
}

/** Pages of one stream newer than `cursor`, until the appliance has no more. */
export async function* pollNozomiStream(
  stream: NozomiStream,
  cursor: Cursor | null,
  ctx: StreamContext,
): AsyncGenerator<Page> {
  const table = NOZOMI_TABLES[stream];
  let current: Cursor | null = cursor?.timestamp ? cursor : null;
  let anchor: number | undefined;
  if (current?.timestamp) {
    anchor = Date.parse(current.timestamp);
    if (!Number.isFinite(anchor))
      throw new PermanentError(
        `reading the nozomi ${stream} cursor: unparsable timestamp ${JSON.stringify(current.timestamp)}`,
      );
  } else if (ctx.initialLookbackSeconds > 0) {
    anchor = ctx.now() - ctx.initialLookbackSeconds * 1000;
  }
  const accessors = {
    id: recordId,
    timestamp: (r: Record<string, unknown>) => epochMs(r?.[ctx.timeField]),
  };
  let page = 1;
  for (let request = 1; ; request++) {
    ctx.signal?.throwIfAborted();
    const query = buildQuery(table, ctx.timeField, anchor);
    const context = `fetching nozomi ${stream} page ${request}`;
    ctx.log.debug({ connector: "nozomi", stream, query, page }, "Querying Nozomi.");
    const body = await ctx.client.query(query, page, ctx.pageSize, context, ctx.signal);
    const results = body.result.map((r) =>
      r && typeof r === "object" && !Array.isArray(r)
        ? (r as Record<string, unknown>)
        : ({ value: r } as Record<string, unknown>),
    );
    const before = current;
    const advanced = advanceCursor(current, results, accessors);
    if (advanced.undated > 0)
      ctx.log.warn(
        { connector: "nozomi", stream, records: advanced.undated, field: ctx.timeField },
        "Nozomi records without a usable time were passed on without moving the cursor.",
      );
    current = advanced.cursor;
    if (advanced.records.length > 0) yield { records: advanced.records, cursor: advanced.cursor };
    if (results.length < ctx.pageSize) return;
    const newest = current.timestamp ? Date.parse(current.timestamp) : undefined;
    if (
      newest !== undefined &&
      (anchor === undefined || newest > anchor || before?.timestamp !== current.timestamp)
    ) {
      anchor = newest;
      page = 1;
      continue;
    }
    // A whole page at the anchor millisecond (or of undated records): the next page of the same query.
    page++;
    if (page > ctx.maxPagesPerQuery)
      throw new PermanentError(
        `${context}: more than ${ctx.maxPagesPerQuery} pages of ${ctx.pageSize} records share the time ${anchor}; raise pageSize`,
      );
  }
}
