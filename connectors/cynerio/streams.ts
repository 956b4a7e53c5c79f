/**
 * The Cynerio streams. Only `asset` is pulled; `event` is pushed by Cynerio (HTTP and syslog) and
 * has no pull API, so it is not a pull stream (see `index.ts`).
 *
 * Asset paging is "seek" paging on the cursor field, because the page numbers of a list sorted by
 * last-seen shift whenever a device is seen again mid-poll (a page-number walk would then skip the
 * record that slid onto an already-read page):
 * - every request asks for `cursorField >= since` in ascending order (`sinceParam`, `sort`);
 * - after a page that moved the newest time seen, the next request starts over at the first page
 *   with `since` = that time (its second, for epoch-second formats), and drops the ids already
 *   handed on at it; after a page entirely at `since` (ties), it asks for the next page number;
 * - a page shorter than the page size (or empty) ends the poll; when the server clamps the page
 *   size, the largest page it served counts as the page size.
 * The cursor is `{timestamp: newest cursorField, idsAtTimestamp: asset ids at it}`. A record
 * without a parsable time is passed on (the mapping decides) but never moves the cursor.
 * Without a `sinceParam` the whole list is walked by page number and filtered here.
 */
import { PermanentError, RetryableError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { BoundaryCursor, MILLIS, vendorTimeMs } from "../boundary-cursor.ts";
import type { Cursor, Page } from "../types.ts";
import type { CynerioClient } from "./client.ts";
import type { CynerioConfig } from "./config.ts";

/** Pull streams. */
export const CYNERIO_PULL_STREAMS = ["asset"] as const;
/** Every stream with a mapping (`event` arrives by push). */
export const CYNERIO_STREAMS = ["asset", "event"] as const;
export type CynerioStream = (typeof CYNERIO_STREAMS)[number];

/** What a stream poll needs. */
export interface StreamContext {
  client: CynerioClient;
  config: CynerioConfig;
  log: Logger;
  pageSize: number;
  now: () => number;
  signal?: AbortSignal;
}

/** Reads a dotted path (`network.vlan`, `data.items`) from an object. */
export function getPath(o: unknown, path: string): unknown {
  if (path === "") return o;
  let cur: unknown = o;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

const asId = (v: unknown): string | undefined =>
  typeof v === "string" && v.trim() !== ""
    ? v.trim()
    : typeof v === "number" && Number.isFinite(v)
      ? String(v)
      : undefined;

/** The lower bound in the configured format. */
export function formatSince(ms: number, format: CynerioConfig["assets"]["sinceFormat"]): string {
  if (format === "epoch_seconds") return String(Math.floor(ms / 1000));
  if (format === "epoch_millis") return String(ms);
  return new Date(ms).toISOString();
}

/** The asset stream (see the module comment). */
export async function* pollAssets(cursor: Cursor | null, ctx: StreamContext): AsyncGenerator<Page> {
  const a = ctx.config.assets;
  const state = new BoundaryCursor(cursor, "cynerio asset", MILLIS);
  let sinceMs =
    state.lowerBound ??
    (ctx.config.initialLookbackSeconds > 0
      ? ctx.now() - ctx.config.initialLookbackSeconds * 1000
      : undefined);
  let pageNo: number = a.firstPage;
  let served = 0;
  for (let request = 1; ; request++) {
    ctx.signal?.throwIfAborted();
    const context = `fetching cynerio assets request ${request} (page ${pageNo})`;
    const query: Record<string, string | number | undefined> = {
      [a.pageParam]: pageNo,
      [a.pageSizeParam]: ctx.pageSize,
    };
    if (a.sinceParam !== null && sinceMs !== undefined)
      query[a.sinceParam] = formatSince(sinceMs, a.sinceFormat);
    if (a.sort !== null) query[a.sort.param] = a.sort.value;
    if (a.fieldsParam !== null) query[a.fieldsParam] = a.fields.join(",");
    if (a.category?.length) query.category = a.category.join(",");
    if (a.department?.length) query.department = a.department.join(",");
    const body = await ctx.client.get(a.path, query, context, ctx.signal);
    const items = getPath(body, a.itemsField);
    if (!Array.isArray(items))
      throw new RetryableError(
        `${context}: unexpected response shape, ${a.itemsField || "the body"} is not an array`,
      );
    const before = state.current;
    // A non-object item has no time: passed on (the mapping turns it into a pipeline_error), nothing
    // is dropped silently. Without a server-side filter, items older than `since` are dropped here.
    const isObject = (item: unknown) => item !== null && typeof item === "object" && !Array.isArray(item);
    const { records, untimed } = state.keepNew(
      items as unknown[],
      (item) => (isObject(item) ? vendorTimeMs(getPath(item, a.cursorField)) : undefined),
      (item) => asId(getPath(item, a.idField)),
      a.sinceParam === null ? sinceMs : undefined,
    );
    if (untimed > 0)
      ctx.log.warn(
        { connector: "cynerio", stream: "asset", request, records: untimed, field: a.cursorField },
        "Cynerio assets without a parsable time were passed on without moving the cursor.",
      );
    if (records.length > 0) yield { records, cursor: state.snapshot() };
    // A server may clamp the page size below the one asked for: the largest page seen is the
    // real size, and only a page shorter than that (or an empty one) is the last.
    served = Math.max(served, items.length);
    if (items.length === 0 || items.length < Math.min(ctx.pageSize, served)) return;
    const now = state.current;
    if (
      a.sinceParam !== null &&
      now !== undefined &&
      now !== before &&
      (sinceMs === undefined || now > sinceMs)
    ) {
      // Seek: restart at the first page from the newest time handed on.
      sinceMs = a.sinceFormat === "epoch_seconds" ? Math.floor(now / 1000) * 1000 : now;
      pageNo = a.firstPage;
    } else {
      pageNo++;
    }
    if (request > 1_000_000) throw new PermanentError(`${context}: paging does not end`);
  }
}
