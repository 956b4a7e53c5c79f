/**
 * The four xDome streams: one paged `POST` query each, filtered and sorted on a timestamp.
 *
 * Cursor rules (monitors.md §1 rule 1, §2 "Incremental collection"):
 * - the filter is `greater_or_equal` on the stream's time field (XSOAR's source says `greater`
 *   did not work), sorted ascending, paged with `offset`/`limit` until a short page;
 * - the cursor is the newest timestamp handed on plus the ids seen at exactly that timestamp;
 *   records at the boundary whose id is in the set are dropped. Ids: devices `uid`, alerts
 *   `alert_id|device_uid` (XSOAR's relation id), vulnerabilities `vulnerability_id|device_uid`,
 *   events `event_id`;
 * - a record with a missing or unparsable timestamp is passed on (the mapping turns it into a
 *   `pipeline_error`, nothing is dropped silently) but never moves the cursor.
 *
 * Offset paging over live data can shift when records are updated mid-poll; such a record moves
 * past the cursor and is read again by the next poll (at-least-once; document ids absorb repeats).
 */
import { PermanentError, RetryableError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { asId, BoundaryCursor, isoToMicros, microsToIsoMicros } from "../boundary-cursor.ts";
import type { Cursor, Page } from "../types.ts";
import type { XDomeClient } from "./client.ts";
import type { XDomeConfig } from "./config.ts";
import {
  ALERT_RELATION_FIELDS,
  DEVICE_FIELDS,
  EVENT_FIELDS,
  VULNERABILITY_RELATION_FIELDS,
} from "./records.ts";

export const XDOME_STREAMS = ["device", "alert", "vulnerability", "event"] as const;
export type XDomeStream = (typeof XDOME_STREAMS)[number];

export function isXDomeStream(stream: string): stream is XDomeStream {
  return (XDOME_STREAMS as readonly string[]).includes(stream);
}

/** What one stream queries. */
export interface XDomeStreamSpec {
  /** Path under `/api/v1`. */
  path: string;
  /** Key of the record array in the response. */
  responseKey: string;
  /** Field filtered and sorted on. */
  timeField: string;
  fields: readonly string[];
  /** Field of the "exclude retired" filter, if the endpoint has one. */
  retiredField?: string;
  /** Tie-break id of a record. */
  id: (record: Record<string, unknown>) => string | undefined;
}

const pair = (a: unknown, b: unknown): string | undefined => {
  const x = asId(a);
  const y = asId(b);
  return x === undefined || y === undefined ? undefined : `${x}|${y}`;
};

/** The spec of each stream under a config. */
export function streamSpec(
  stream: XDomeStream,
  config: Pick<XDomeConfig, "deviceCursorField" | "vulnerabilityCursorField">,
): XDomeStreamSpec {
  switch (stream) {
    case "device":
      return {
        path: "devices/",
        responseKey: "devices",
        timeField: config.deviceCursorField,
        fields: withField(DEVICE_FIELDS, config.deviceCursorField),
        retiredField: "retired",
        id: (r) => asId(r.uid),
      };
    case "alert":
      return {
        path: "device_alert_relations/",
        responseKey: "devices_alerts",
        timeField: "device_alert_updated_time",
        fields: ALERT_RELATION_FIELDS,
        retiredField: "device_retired",
        id: (r) => pair(r.alert_id, r.device_uid),
      };
    case "vulnerability":
      return {
        path: "device_vulnerability_relations/",
        responseKey: "devices_vulnerabilities",
        timeField: config.vulnerabilityCursorField,
        fields: withField(VULNERABILITY_RELATION_FIELDS, config.vulnerabilityCursorField),
        retiredField: "device_retired",
        id: (r) => pair(r.vulnerability_id, r.device_uid),
      };
    case "event":
      return {
        path: "ot_activity_events/",
        responseKey: "ot_activity_events",
        timeField: "detection_time",
        fields: EVENT_FIELDS,
        id: (r) => asId(r.event_id),
      };
  }
}

function withField(fields: readonly string[], field: string): readonly string[] {
  return fields.includes(field) ? fields : [...fields, field];
}

/** What a stream poll needs. */
export interface StreamContext {
  client: XDomeClient;
  log: Logger;
  pageSize: number;
  initialLookbackSeconds: number;
  excludeRetired: boolean;
  now: () => number;
  signal?: AbortSignal;
}

type Filter = { field: string; operation: string; value: unknown } | { operation: "and"; operands: Filter[] };

/** The query body of one page (exported for tests). */
export function queryBody(
  spec: XDomeStreamSpec,
  lowerBoundUs: number | undefined,
  excludeRetired: boolean,
  offset: number,
  limit: number,
): Record<string, unknown> {
  const filters: Filter[] = [];
  if (lowerBoundUs !== undefined)
    filters.push({
      field: spec.timeField,
      operation: "greater_or_equal",
      value: microsToIsoMicros(lowerBoundUs),
    });
  if (excludeRetired && spec.retiredField)
    filters.push({ field: spec.retiredField, operation: "in", value: [false] });
  const body: Record<string, unknown> = {
    fields: spec.fields,
    sort_by: [{ field: spec.timeField, order: "asc" }],
    offset,
    limit,
    include_count: false,
  };
  if (filters.length === 1) body.filter_by = filters[0];
  else if (filters.length > 1) body.filter_by = { operation: "and", operands: filters };
  return body;
}

/** Polls one stream from `cursor` to the end, one yielded page per API page with new records. */
export async function* pollXDomeStream(
  stream: XDomeStream,
  spec: XDomeStreamSpec,
  cursor: Cursor | null,
  ctx: StreamContext,
): AsyncGenerator<Page> {
  const state = new BoundaryCursor(cursor, "claroty_xdome");
  let lower = state.lowerBound;
  if (lower === undefined && ctx.initialLookbackSeconds > 0)
    lower = (ctx.now() - ctx.initialLookbackSeconds * 1000) * 1000;
  ctx.log.debug(
    { connector: "claroty_xdome", stream, from: lower === undefined ? null : microsToIsoMicros(lower) },
    "Polling a Claroty xDome stream.",
  );
  for (let offset = 0, page = 1; ; page++) {
    ctx.signal?.throwIfAborted();
    const context = `fetching claroty xdome ${stream} page ${page}`;
    const body = await ctx.client.post(
      spec.path,
      queryBody(spec, lower, ctx.excludeRetired, offset, ctx.pageSize),
      context,
      ctx.signal,
    );
    const results = (body as Record<string, unknown> | null)?.[spec.responseKey];
    if (!Array.isArray(results))
      throw new PermanentError(`${context}: unexpected response shape, ${spec.responseKey} is not an array`);
    if (results.length > ctx.pageSize)
      throw new RetryableError(`${context}: ${results.length} records returned for limit ${ctx.pageSize}`);
    const fields = (raw: unknown) => (raw ?? {}) as Record<string, unknown>;
    const { records, untimed } = state.keepNew(
      results as unknown[],
      (raw) => isoToMicros(fields(raw)[spec.timeField]),
      (raw) => spec.id(fields(raw)),
    );
    if (untimed > 0)
      ctx.log.warn(
        { connector: "claroty_xdome", stream, page, records: untimed, field: spec.timeField },
        "Claroty xDome records without a parsable timestamp were passed on without moving the cursor.",
      );
    if (records.length > 0) yield { records, cursor: state.snapshot() };
    if (results.length < ctx.pageSize) return;
    offset += results.length;
  }
}
