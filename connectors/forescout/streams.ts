/**
 * The Forescout `host` stream (pull form). The Web API has no incremental query (monitors.md §6):
 * every poll lists the hosts (`GET /api/hosts`, optionally per policy rule) and reads each one's
 * properties (`GET /api/hosts/{id}?fields=…`, `concurrency` at a time). The record handed on is
 * the detail's `host` object, untouched.
 *
 * Cursor: a host's time is the newest `timestamp` of its properties (epoch seconds). A host is
 * handed on when that time is after the cursor, or equal to it with an id not in `idsAtTimestamp`,
 * so unchanged hosts are not re-sent every poll. The list is not ordered by time, so every page
 * but the last carries the cursor the poll started from, and the last page the newest time seen:
 * an interrupted poll is repeated whole (at-least-once; deterministic document ids absorb it). A
 * host without any property timestamp is always handed on and never moves the cursor. A host that
 * disappears between the list and its detail (404) is skipped with a warning.
 */
import { PermanentError, RetryableError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { advanceCursor } from "../cursor-advance.ts";
import type { Cursor, Page } from "../types.ts";
import type { ForescoutClient } from "./client.ts";
import type { ForescoutHostRef } from "./records.ts";

export const FORESCOUT_STREAMS = ["host"] as const;
export type ForescoutStream = (typeof FORESCOUT_STREAMS)[number];

export function isForescoutStream(stream: string): stream is ForescoutStream {
  return (FORESCOUT_STREAMS as readonly string[]).includes(stream);
}

/** Newest property timestamp of a pulled host, epoch ms; undefined when it has none. */
export function hostTimeMs(host: Record<string, unknown>): number | undefined {
  const fields = host.fields;
  if (!fields || typeof fields !== "object") return undefined;
  let max: number | undefined;
  const see = (v: unknown) => {
    if (!v || typeof v !== "object") return;
    const t = (v as { timestamp?: unknown }).timestamp;
    const n = typeof t === "number" ? t : typeof t === "string" && t.trim() !== "" ? Number(t) : Number.NaN;
    if (!Number.isFinite(n) || n <= 0) return;
    const ms = n < 1e11 ? n * 1000 : n;
    if (max === undefined || ms > max) max = ms;
  };
  for (const v of Object.values(fields as Record<string, unknown>)) {
    if (Array.isArray(v)) for (const item of v) see(item);
    else see(v);
  }
  return max;
}

/** The host id as a string. */
export function hostId(host: Record<string, unknown>): string {
  const id = host.id ?? host.hostId;
  return typeof id === "string" ? id : typeof id === "number" && Number.isFinite(id) ? String(id) : "";
}

export interface StreamContext {
  client: ForescoutClient;
  log: Logger;
  pageSize: number;
  concurrency: number;
  hostFields: readonly string[];
  matchRuleIds?: readonly string[];
  signal?: AbortSignal;
}

function hostList(body: unknown, context: string): ForescoutHostRef[] {
  const hosts = (body as { hosts?: unknown } | null)?.hosts;
  if (!Array.isArray(hosts))
    throw new RetryableError(`${context}: unexpected response shape, hosts is not an array`);
  return hosts as ForescoutHostRef[];
}

/** Pages of the `host` stream newer than `cursor`. */
export async function* pollForescoutHosts(cursor: Cursor | null, ctx: StreamContext): AsyncGenerator<Page> {
  const start: Cursor | null = cursor?.timestamp ? cursor : null;
  if (start?.timestamp && !Number.isFinite(Date.parse(start.timestamp)))
    throw new PermanentError(
      `reading the forescout host cursor: unparsable timestamp ${JSON.stringify(start.timestamp)}`,
    );
  const listContext = "listing forescout hosts";
  const refs = hostList(
    await ctx.client.get(
      "/api/hosts",
      { matchRuleId: ctx.matchRuleIds?.length ? ctx.matchRuleIds.join(",") : undefined },
      listContext,
      ctx.signal,
    ),
    listContext,
  );
  const fields = ctx.hostFields.join(",");
  const accessors = { id: hostId, timestamp: hostTimeMs };
  let running: Cursor = start ?? { timestamp: null, idsAtTimestamp: [] };
  let undated = 0;
  let missing = 0;
  for (let offset = 0; offset < refs.length || offset === 0; offset += ctx.pageSize) {
    const batch = refs.slice(offset, offset + ctx.pageSize);
    const details: Array<Record<string, unknown> | undefined> = new Array(batch.length);
    let next = 0;
    const worker = async () => {
      while (next < batch.length) {
        const k = next++;
        ctx.signal?.throwIfAborted();
        details[k] = await detail(batch[k] as ForescoutHostRef, offset + k, fields, ctx);
      }
    };
    await Promise.all(Array.from({ length: Math.min(ctx.concurrency, batch.length) }, worker));
    const found = details.filter((d): d is Record<string, unknown> => d !== undefined);
    missing += batch.length - found.length;
    const fresh = advanceCursor(start, found, accessors);
    undated += fresh.undated;
    running = advanceCursor(running, fresh.records, accessors).cursor;
    const last = offset + ctx.pageSize >= refs.length;
    const pageCursor = last ? running : (start ?? { timestamp: null, idsAtTimestamp: [] });
    if (fresh.records.length > 0 || (last && differs(running, start)))
      yield { records: fresh.records, cursor: pageCursor };
    if (last) break;
  }
  if (undated > 0)
    ctx.log.warn(
      { connector: "forescout", records: undated },
      "Forescout hosts without property timestamps were passed on without moving the cursor.",
    );
  if (missing > 0)
    ctx.log.warn(
      { connector: "forescout", hosts: missing },
      "Forescout hosts listed but gone before their details were read were skipped.",
    );
}

function differs(a: Cursor, b: Cursor | null): boolean {
  if (b === null) return a.timestamp !== null;
  if (a.timestamp !== b.timestamp || a.idsAtTimestamp.length !== b.idsAtTimestamp.length) return true;
  const ids = new Set(b.idsAtTimestamp);
  return a.idsAtTimestamp.some((id) => !ids.has(id));
}

async function detail(
  ref: ForescoutHostRef,
  index: number,
  fields: string,
  ctx: StreamContext,
): Promise<Record<string, unknown> | undefined> {
  const id = ref?.hostId;
  const byId = typeof id === "number" || (typeof id === "string" && id !== "");
  const ip = typeof ref?.ip === "string" && ref.ip !== "" ? ref.ip : undefined;
  if (!byId && ip === undefined) {
    ctx.log.warn(
      { connector: "forescout", index },
      "A listed Forescout host has neither hostId nor ip; skipped.",
    );
    return undefined;
  }
  const path = byId
    ? `/api/hosts/${encodeURIComponent(String(id))}`
    : `/api/hosts/ip/${encodeURIComponent(ip as string)}`;
  const context = `fetching forescout host ${byId ? String(id) : ip}`;
  try {
    const body = await ctx.client.get(path, { fields }, context, ctx.signal);
    const host = (body as { host?: unknown } | null)?.host;
    if (!host || typeof host !== "object" || Array.isArray(host))
      throw new RetryableError(`${context}: unexpected response shape, host is not an object`);
    return host as Record<string, unknown>;
  } catch (error) {
    if (error instanceof PermanentError && / HTTP 404/.test(error.message)) return undefined;
    throw error;
  }
}
