/**
 * The mapping contract (DESIGN.md, "Contracts"): pure functions vendor record → ECS document.
 * No I/O, no clock (the ingest time comes in the context), no environment.
 */

/** An ECS document as emitted by medsoc: nested objects, no null/empty values. */
export type EcsDocument = {
  "@timestamp": string;
  event: { kind: string; [key: string]: unknown };
  medsoc: { doc_id: string; source: string; stream: string; [key: string]: unknown };
  [key: string]: unknown;
};

export interface MappingContext {
  /** Source id (`armis`). */
  source: string;
  /** Stream name (`device`). */
  stream: string;
  /** ISO-8601 UTC time the record entered medsoc; becomes `event.ingested`. */
  ingestedAt: string;
  /** Keep the raw vendor JSON in `event.original`. @defaultValue false */
  preserveOriginal?: boolean;
  /** The raw line as received, when available (used for `event.original` and pipeline errors). */
  original?: string;
}

/** One vendor stream's mapping. */
export type Mapper = (record: unknown, context: MappingContext) => EcsDocument;
