/**
 * The three Asimily streams (monitors.md §7). Every list is `POST` with `size`, `page` (0-based,
 * Spring) and `sort` in the query and `{"filters": {…}}` in the body; pages are Spring Data
 * envelopes and the walk ends on `last: true`, at `totalPages`, or on an empty page. The server
 * may clamp `size` (Spring's max page size) — paging never assumes the size it asked for.
 *
 * - `asset`: the inventory (`sort=deviceID`). No "updated since" filter is documented, so each poll
 *   is a full snapshot; the cursor is the time the last complete snapshot started, and a poll
 *   within `assetSnapshotIntervalSeconds` of it returns nothing. Only the final page carries the
 *   new cursor, so an interrupted snapshot is read again whole.
 * - `anomaly` (`/assets/anomalies`, `sort=deviceRangeId`) and `cve` (`/assets/device-cves`,
 *   `sort=deviceInfoId`): each item is a device with a list; the connector emits ONE record per
 *   (device, anomaly) / (device, CVE) — the device entry with the list replaced by `anomaly` /
 *   `cve` — so the boundary de-duplication works on `(deviceId, alertId)` / `(deviceId, cveName)`
 *   as the reference advises. The lower bound is the `anomaliesLastUpdatedSince` /
 *   `cvesLastUpdatedSince` filter (inclusive reading assumed; records before the cursor or
 *   already seen at it are dropped here either way). The lists are sorted by device, not by time,
 *   so the cursor (newest item time and the keys at it) is only handed on with the last page;
 *   earlier pages carry the cursor the poll started from (at-least-once on interruption).
 */
import { PermanentError, RetryableError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { BoundaryCursor, MILLIS, msToIso, vendorTimeMs } from "../boundary-cursor.ts";
import type { Cursor, Page } from "../types.ts";
import type { AsimilyClient } from "./client.ts";
import type { AsimilyConfig } from "./config.ts";
import { type AsimilyFilter, asimilyDeviceId } from "./records.ts";

export const ASIMILY_STREAMS = ["asset", "anomaly", "cve"] as const;
export type AsimilyStream = (typeof ASIMILY_STREAMS)[number];

export function isAsimilyStream(stream: string): stream is AsimilyStream {
  return (ASIMILY_STREAMS as readonly string[]).includes(stream);
}

/** Endpoint, sort, list key, item key, time filter and tie-break key of each stream. */
export const ASIMILY_ENDPOINTS = {
  asset: { path: "/api/extapi/assets", sort: "deviceID" },
  anomaly: {
    path: "/api/extapi/assets/anomalies",
    sort: "deviceRangeId",
    list: "anomalies",
    item: "anomaly",
    since: "anomaliesLastUpdatedSince",
    key: "alertId",
  },
  cve: {
    path: "/api/extapi/assets/device-cves",
    sort: "deviceInfoId",
    list: "cves",
    item: "cve",
    since: "cvesLastUpdatedSince",
    key: "cveName",
  },
} as const;

/** What a stream poll needs. */
export interface StreamContext {
  client: AsimilyClient;
  config: AsimilyConfig;
  log: Logger;
  pageSize: number;
  now: () => number;
  signal?: AbortSignal;
}

interface SpringPage {
  content: unknown[];
  done: boolean;
}

function springPage(body: unknown, page: number, context: string): SpringPage {
  const o = body as { content?: unknown; last?: unknown; totalPages?: unknown } | null;
  if (!o || typeof o !== "object" || !Array.isArray(o.content))
    throw new RetryableError(`${context}: unexpected response shape, content is not an array`);
  const totalPages = typeof o.totalPages === "string" ? Number(o.totalPages) : o.totalPages;
  const last = o.last === true || o.last === "true";
  const done =
    last ||
    o.content.length === 0 ||
    (typeof totalPages === "number" && Number.isFinite(totalPages) && page + 1 >= totalPages);
  return { content: o.content, done };
}

/** Pages of one list request, 0-based, until the envelope says it was the last. */
async function* pages(
  stream: AsimilyStream,
  filters: Record<string, AsimilyFilter[]>,
  ctx: StreamContext,
): AsyncGenerator<{ page: number; content: unknown[]; done: boolean }> {
  const { path, sort } = ASIMILY_ENDPOINTS[stream];
  for (let page = 0; ; page++) {
    ctx.signal?.throwIfAborted();
    const context = `fetching asimily ${stream} page ${page}`;
    const body = await ctx.client.post(
      path,
      { size: ctx.pageSize, page, sort },
      { filters: { ...ctx.config.filters, ...filters } },
      context,
      ctx.signal,
    );
    const { content, done } = springPage(body, page, context);
    yield { page, content, done };
    if (done) return;
    if (page > 10_000_000) throw new PermanentError(`${context}: paging does not end`);
  }
}

/** The asset stream: a full snapshot at most every `assetSnapshotIntervalSeconds`. */
export async function* pollAssetSnapshot(cursor: Cursor | null, ctx: StreamContext): AsyncGenerator<Page> {
  const started = ctx.now();
  const previous = cursor?.timestamp ? Date.parse(cursor.timestamp) : undefined;
  if (cursor?.timestamp && Number.isNaN(previous))
    throw new PermanentError(
      `reading the asimily asset cursor: unparsable timestamp ${JSON.stringify(cursor.timestamp)}`,
    );
  const unchanged: Cursor = cursor ?? { timestamp: null, idsAtTimestamp: [] };
  if (previous !== undefined && started - previous < ctx.config.assetSnapshotIntervalSeconds * 1000) {
    ctx.log.debug(
      { connector: "asimily", stream: "asset" },
      "The last Asimily asset snapshot is recent; skipping.",
    );
    return;
  }
  const next: Cursor = { timestamp: msToIso(started), idsAtTimestamp: [] };
  for await (const { content, done } of pages("asset", {}, ctx)) {
    if (done) {
      yield { records: content, cursor: next };
      return;
    }
    if (content.length > 0) yield { records: content, cursor: unchanged };
  }
}

/** The anomaly and CVE streams: one record per (device, item), cursor on the item time. */
export async function* pollDeviceItems(
  stream: "anomaly" | "cve",
  cursor: Cursor | null,
  ctx: StreamContext,
): AsyncGenerator<Page> {
  const spec = ASIMILY_ENDPOINTS[stream];
  const timeField = stream === "anomaly" ? ctx.config.anomalyTimeField : ctx.config.cveTimeField;
  const state = new BoundaryCursor(cursor, `asimily ${stream}`, MILLIS);
  const sinceMs =
    state.lowerBound ??
    (ctx.config.initialLookbackSeconds > 0
      ? ctx.now() - ctx.config.initialLookbackSeconds * 1000
      : undefined);
  const filters: Record<string, AsimilyFilter[]> = {};
  if (sinceMs !== undefined)
    filters[spec.since] = [
      {
        operator: ctx.config.sinceOperator,
        value: ctx.config.sinceFormat === "iso" ? msToIso(sinceMs) : sinceMs,
      },
    ];
  const startCursor = state.startSnapshot();
  let untimed = 0;
  let malformed = 0;
  for await (const { page, content, done } of pages(stream, filters, ctx)) {
    const records: unknown[] = [];
    for (const entry of content) {
      const list =
        entry !== null && typeof entry === "object"
          ? (entry as Record<string, unknown>)[spec.list]
          : undefined;
      if (!Array.isArray(list)) {
        // Not a device entry with a list: passed on whole; the mapping reports it.
        malformed++;
        records.push(entry);
        continue;
      }
      const { [spec.list]: _list, ...device } = entry as Record<string, unknown>;
      const deviceId = asimilyDeviceId(entry);
      const fields = (item: unknown) =>
        item !== null && typeof item === "object" ? (item as Record<string, unknown>) : {};
      const kept = state.keepNew(
        list as unknown[],
        (item) => vendorTimeMs(fields(item)[timeField] ?? device[timeField]),
        (item) => {
          const keyValue = fields(item)[spec.key];
          return deviceId !== undefined && (typeof keyValue === "string" || typeof keyValue === "number")
            ? `${deviceId}|${keyValue}`
            : undefined;
        },
        sinceMs,
      );
      untimed += kept.untimed;
      for (const item of kept.records) records.push({ ...device, [spec.item]: item });
    }
    if (done) {
      if (untimed > 0)
        ctx.log.warn(
          { connector: "asimily", stream, records: untimed, field: timeField },
          "Asimily records without a parsable time were passed on without moving the cursor.",
        );
      if (malformed > 0)
        ctx.log.warn(
          { connector: "asimily", stream, records: malformed, list: spec.list, page },
          "Asimily items without their list were passed on whole.",
        );
      if (records.length > 0 || state.differsFrom(startCursor)) yield { records, cursor: state.snapshot() };
      return;
    }
    if (records.length > 0) yield { records, cursor: startCursor };
  }
}
