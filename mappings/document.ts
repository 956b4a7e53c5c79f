/**
 * Pieces every mapping shares: the record guard, the deterministic document id and the common
 * `event.*` / `medsoc.*` fields. Pure: everything time-related comes from the context.
 */
import { MappingError } from "./errors.ts";
import type { MappingContext } from "./types.ts";
import { docId } from "./values.ts";

/** The ECS release the documents are validated against (`ecs.version`). */
export const ECS_VERSION = "9.4.0";

/** The record as an object, or a {@link MappingError} (`not_an_object`). */
export function asRecord(record: unknown, what: string): Readonly<Record<string, unknown>> {
  if (typeof record !== "object" || record === null || Array.isArray(record)) {
    const kind = record === null ? "null" : Array.isArray(record) ? "an array" : `a ${typeof record}`;
    throw new MappingError("not_an_object", `${what} must be a JSON object, got ${kind}`);
  }
  return record as Readonly<Record<string, unknown>>;
}

/**
 * `medsoc.doc_id`: SHA-256 over source | stream | vendor id | vendor timestamp, so re-delivery of
 * the same fact yields the same id. When one of the two is missing, the record's content joins
 * the hash so that distinct records never collide; when both are missing the record cannot be
 * identified and is refused with `missing_identity`.
 */
export function documentId(
  ctx: MappingContext,
  record: unknown,
  vendorId: string | undefined,
  vendorTimestamp: string | undefined,
  what: string,
): string {
  if (vendorId !== undefined && vendorTimestamp !== undefined) {
    return docId(ctx.source, ctx.stream, vendorId, vendorTimestamp);
  }
  if (vendorId === undefined && vendorTimestamp === undefined) {
    throw new MappingError("missing_identity", `${what} has neither an id nor a timestamp`);
  }
  const content = ctx.original ?? JSON.stringify(record);
  return docId(ctx.source, ctx.stream, vendorId ?? "", vendorTimestamp ?? "", content);
}

/**
 * Adds `event.ingested` and, when asked for, `event.original`. `event.dataset`, `event.module` and
 * `data_stream.*` are set from what the finished document is (`stampStream` in mappings/stream.ts).
 */
export function finishEvent(event: Record<string, unknown>, ctx: MappingContext, record: unknown): void {
  event.ingested = ctx.ingestedAt;
  if (ctx.preserveOriginal === true) {
    const original = ctx.original ?? JSON.stringify(record);
    if (original !== "") event.original = original;
  }
}

/** True when the object has no own enumerable key. */
export function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}
