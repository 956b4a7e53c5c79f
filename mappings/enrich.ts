/**
 * medsoc enrichment: cheap, pure additions under `medsoc.*` that run after every vendor mapping
 * (device class, clinical criticality, advisory/KEV match, EOL OS, credential exposure — DESIGN.md).
 * Add an enricher to {@link ENRICHERS}; it receives the finished ECS document and may only write
 * below `doc.medsoc`. Enrichers must stay pure (no I/O, no clock) and fast: they run once per record
 * on the mapping hot path.
 */
import { enrichAdvisories } from "./advisories/enrich.ts";
import { enrichDevice, enrichRisk } from "./enrich/index.ts";
import type { EcsDocument, MappingContext } from "./types.ts";

/** Adds `medsoc.*` fields to a mapped document in place. */
export type Enricher = (doc: EcsDocument, context: MappingContext) => void;

/**
 * The enrichers, in order: advisories, KEV and EOL OS first (mappings/advisories/enrich.ts), then
 * the device facts (class, criticality, PHI, credentials; they read the advisories' CWEs), the
 * risk score last: it reads what the others wrote.
 */
export const ENRICHERS: readonly Enricher[] = [enrichAdvisories, enrichDevice, enrichRisk];

/** Runs every enricher over the document and returns it. */
export function enrich(doc: EcsDocument, context: MappingContext): EcsDocument {
  for (const enricher of ENRICHERS) enricher(doc, context);
  return doc;
}
