/**
 * The mapping contract (DESIGN.md, "Contracts"): pure functions vendor record → ECS document.
 * No I/O, no clock (the ingest time comes in the context), no environment.
 */
import type { EnrichmentOptions } from "./enrich/options.ts";

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
  /**
   * Keep in the vendor namespace (`armis.<stream>.*`) the vendor fields whose value the mapping
   * also copied, unchanged in meaning, to an ECS field (`armis.device.mac_address` next to
   * `host.mac`, …). Off, each mapper leaves them out (the fields it drops are listed in its TSDoc),
   * as Elastic's integrations do unless the `preserve_duplicate_custom_fields` tag is set. Fields
   * that carry anything the ECS copy lacks (a severity label, an invalid IP address, a fallback
   * source) are always kept.
   * @defaultValue false
   */
  preserveDuplicateVendorFields?: boolean;
  /**
   * Data stream namespace written to `data_stream.namespace` (the Elasticsearch sink's `namespace`,
   * so a document says the data stream it is written to). @defaultValue "default"
   */
  namespace?: string;
  /** Enrichment settings (config section `enrichment`). @defaultValue DEFAULT_ENRICHMENT */
  enrichment?: EnrichmentOptions;
  /** The raw line as received, when available (used for `event.original` and pipeline errors). */
  original?: string;
  /**
   * Advisories and KEV the advisory enricher matches against, loaded once at startup from the
   * advisory store. @defaultValue the snapshot shipped in `mappings/data/advisories-snapshot.json`
   */
  advisories?: import("./advisories/match.ts").AdvisoryIndex;
}

/** One vendor stream's mapping. */
export type Mapper = (record: unknown, context: MappingContext) => EcsDocument;
