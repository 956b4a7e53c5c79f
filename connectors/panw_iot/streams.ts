/**
 * The three IoT Security streams (monitors.md §8).
 *
 * Alerts and vulnerabilities: `stime` is an inclusive lower bound on `date` / `detected_date`
 * (millisecond ISO), rows sorted ascending, paged with `offset`/`pagelength` until a short page.
 * Every row sharing one timestamp is read before the poll ends (the whole result set under one
 * `stime` is paged through), and the cursor keeps the last timestamp plus the `zb_ticketid`s seen
 * at it, so a poll interrupted between pages resumes without loss or repeats. Once a stream was
 * read to its end, the `next-millisecond` boundary (XSOAR's) moves the cursor to the last
 * timestamp + 1 ms; `seen-ids` keeps the last timestamp and its ids instead.
 *
 * Devices: the inventory is sorted by MAC, not by time, so there is no record cursor. Each poll
 * pages through the devices active since `stime` (30 days on the first poll, as XSOAR; afterwards
 * the start time of the previous complete poll) and only the last page carries the new cursor.
 */
import { PermanentError, RetryableError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import {
  asId,
  BoundaryCursor,
  isoToMicros,
  MICROS_AS_MILLIS,
  microsToIsoMillis,
} from "../boundary-cursor.ts";
import type { Cursor, Page } from "../types.ts";
import type { PanwIotClient } from "./client.ts";
import type { PanwIotConfig } from "./config.ts";

export const PANW_IOT_STREAMS = ["device", "alert", "vulnerability"] as const;
export type PanwIotStream = (typeof PANW_IOT_STREAMS)[number];

export function isPanwIotStream(stream: string): stream is PanwIotStream {
  return (PANW_IOT_STREAMS as readonly string[]).includes(stream);
}

/** What a stream poll needs. */
export interface StreamContext {
  client: PanwIotClient;
  log: Logger;
  config: PanwIotConfig;
  pageSize: number;
  now: () => number;
  signal?: AbortSignal;
}

interface TimedSpec {
  path: string;
  timeField: string;
  query: (config: PanwIotConfig) => Record<string, string>;
  id: (r: Record<string, unknown>) => string | undefined;
}

const TIMED: Record<"alert" | "vulnerability", TimedSpec> = {
  alert: {
    path: "/alert/list",
    timeField: "date",
    query: (config) => ({
      type: "policy_alert",
      ...(config.includeResolvedAlerts ? {} : { resolved: "no" }),
      sortfield: "date",
      sortdirection: "asc",
    }),
    id: (r) => asId(r.zb_ticketid),
  },
  vulnerability: {
    path: "/vulnerability/list",
    timeField: "detected_date",
    query: () => ({ type: "vulnerability", status: "Confirmed", groupby: "device" }),
    id: (r) => asId(r.zb_ticketid) ?? pairId(r.deviceid, r.vulnerability_name),
  },
};

function pairId(a: unknown, b: unknown): string | undefined {
  const x = asId(a);
  const y = asId(b);
  return x === undefined || y === undefined ? undefined : `${x}|${y}`;
}

function listOf(body: unknown, key: string, context: string): Record<string, unknown>[] {
  const list = (body as Record<string, unknown> | null)?.[key];
  if (!Array.isArray(list))
    throw new PermanentError(`${context}: unexpected response shape, ${key} is not an array`);
  return list as Record<string, unknown>[];
}

/** Alerts or vulnerabilities from `cursor` to the end. */
export async function* pollTimedStream(
  stream: "alert" | "vulnerability",
  cursor: Cursor | null,
  ctx: StreamContext,
): AsyncGenerator<Page> {
  const spec = TIMED[stream];
  const state = new BoundaryCursor(cursor, "panw_iot", MICROS_AS_MILLIS);
  let lower = state.lowerBound;
  if (lower === undefined && ctx.config.initialLookbackSeconds > 0)
    lower = (ctx.now() - ctx.config.initialLookbackSeconds * 1000) * 1000;
  const stime = lower === undefined ? "-1" : microsToIsoMillis(lower);
  ctx.log.debug({ connector: "panw_iot", stream, stime }, "Polling a PANW IoT Security stream.");
  let yielded = state.snapshot();
  for (let offset = 0, page = 1; ; page++) {
    ctx.signal?.throwIfAborted();
    const context = `fetching panw iot ${stream} page ${page}`;
    const body = await ctx.client.get(
      spec.path,
      { offset, pagelength: ctx.pageSize, stime, ...spec.query(ctx.config) },
      context,
      ctx.signal,
    );
    const items = listOf(body, "items", context);
    if (items.length > ctx.pageSize)
      throw new RetryableError(`${context}: ${items.length} records returned for pagelength ${ctx.pageSize}`);
    const { records, untimed } = state.keepNew(
      items,
      (raw) => isoToMicros(raw?.[spec.timeField]),
      (raw) => spec.id(raw ?? {}),
    );
    if (untimed > 0)
      ctx.log.warn(
        { connector: "panw_iot", stream, page, records: untimed, field: spec.timeField },
        "PANW IoT Security records without a parsable timestamp were passed on without moving the cursor.",
      );
    const last = items.length < ctx.pageSize;
    if (last && ctx.config.boundary === "next-millisecond") {
      const current = state.current;
      // Every row at the last timestamp was read: move past it (XSOAR's "+1 ms").
      if (current !== undefined && state.snapshot().idsAtTimestamp.length > 0)
        state.jumpTo(Math.floor(current / 1000) * 1000 + 1000);
    }
    const next = state.snapshot();
    if (
      records.length > 0 ||
      next.timestamp !== yielded.timestamp ||
      next.idsAtTimestamp.length !== yielded.idsAtTimestamp.length
    ) {
      yielded = next;
      yield { records, cursor: next };
    }
    if (last) return;
    offset += items.length;
  }
}

/** The inventory: every device active since the cursor (see the module comment). */
export async function* pollDeviceStream(cursor: Cursor | null, ctx: StreamContext): AsyncGenerator<Page> {
  const startedMs = ctx.now();
  const since = cursor?.timestamp ? isoToMicros(cursor.timestamp) : undefined;
  if (cursor?.timestamp && since === undefined)
    throw new PermanentError(
      `reading the panw_iot cursor: unparsable timestamp ${JSON.stringify(cursor.timestamp)}`,
    );
  const stime = microsToIsoMillis(since ?? (startedMs - ctx.config.deviceLookbackSeconds * 1000) * 1000);
  const unchanged: Cursor = cursor ?? { timestamp: null, idsAtTimestamp: [] };
  const done: Cursor = { timestamp: microsToIsoMillis(startedMs * 1000), idsAtTimestamp: [] };
  for (let offset = 0, page = 1; ; page++) {
    ctx.signal?.throwIfAborted();
    const context = `fetching panw iot device page ${page}`;
    const body = await ctx.client.get(
      "/device/list",
      {
        offset,
        pagelength: ctx.pageSize,
        detail: "true",
        sortfield: "MAC",
        sortdirection: "asc",
        filter_monitored: "no",
        stime,
      },
      context,
      ctx.signal,
    );
    const devices = listOf(body, "devices", context);
    if (devices.length > ctx.pageSize)
      throw new RetryableError(
        `${context}: ${devices.length} records returned for pagelength ${ctx.pageSize}`,
      );
    const last = devices.length < ctx.pageSize;
    if (devices.length > 0 || last) yield { records: devices, cursor: last ? done : unchanged };
    if (last) return;
    offset += devices.length;
  }
}
