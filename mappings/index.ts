/**
 * The mapping registry: explicit, no side-effect imports (STYLE: registries are explicit). Each
 * source lists its streams; the pairs are part of the stable CLI contract
 * (`medsoc normalize <source> <stream>`).
 */
import { exceedsDepth, JsonInputError, MAX_RECORD_DEPTH, parseJson } from "../core/json.ts";
import { armisMappings } from "./armis/index.ts";
import { asimilyMappings } from "./asimily/index.ts";
import { xdomeMappings } from "./claroty_xdome/index.ts";
import { cynerioMappings } from "./cynerio/index.ts";
import { enrich } from "./enrich.ts";
import { MappingError, UnknownStreamError } from "./errors.ts";
import { forescoutMappings } from "./forescout/index.ts";
import { nozomiMappings } from "./nozomi/index.ts";
import { panwIotMappings } from "./panw_iot/index.ts";
import { pipelineErrorDocument } from "./pipeline-error.ts";
import { stampStream } from "./stream.ts";
import { withSyslog } from "./syslog/index.ts";
import type { EcsDocument, Mapper, MappingContext } from "./types.ts";

export { MappingError, UnknownStreamError } from "./errors.ts";
export { pipelineErrorDocument } from "./pipeline-error.ts";
export { dataStreamName, type SiemStream, siemStreamOf } from "./stream.ts";
export type { EcsDocument, Mapper, MappingContext } from "./types.ts";

/** Source → stream → mapping. */
export const registry = {
  armis: armisMappings,
  claroty_xdome: xdomeMappings,
  panw_iot: panwIotMappings,
  nozomi: nozomiMappings,
  forescout: forescoutMappings,
  cynerio: cynerioMappings,
  asimily: asimilyMappings,
} as const satisfies Readonly<Record<string, Readonly<Record<string, Mapper>>>>;

/** A source id with mappings (`armis`). */
export type SourceId = keyof typeof registry;

/** One mapped (source, stream) pair. */
export interface StreamRef {
  source: string;
  stream: string;
}

/** The per-record part of a {@link MappingContext}: everything except source and stream. */
export type MappingOptions = Omit<MappingContext, "source" | "stream">;

/** Every (source, stream) pair that has a mapping, in registry order. */
export function listStreams(): StreamRef[] {
  const out: StreamRef[] = [];
  for (const [source, streams] of Object.entries(registry)) {
    for (const stream of Object.keys(streams)) out.push({ source, stream });
  }
  return out;
}

/** Each pair's mapper wrapped by {@link withSyslog} and {@link stampStream}, built once. */
const syslogAware = new Map<string, Mapper>();

/**
 * The mapping of a pair; {@link UnknownStreamError} (permanent) listing the valid pairs otherwise.
 * The mapper also takes the syslog receiver's CEF/LEEF records for the pair (`mappings/syslog/`);
 * REST records go to the vendor mapping after one property check. Its documents carry
 * `event.dataset`, `event.module` and `data_stream.*` from {@link stampStream}, the function the
 * sinks route by.
 */
export function getMapper(source: string, stream: string): Mapper {
  const streams: Readonly<Record<string, Mapper>> | undefined = Object.hasOwn(registry, source)
    ? registry[source as SourceId]
    : undefined;
  const mapper = streams !== undefined && Object.hasOwn(streams, stream) ? streams[stream] : undefined;
  if (mapper === undefined) {
    throw new UnknownStreamError(
      source,
      stream,
      listStreams().map((s) => `${s.source}/${s.stream}`),
    );
  }
  const key = `${source}/${stream}`;
  let wrapped = syslogAware.get(key);
  if (wrapped === undefined) {
    const syslogOrRest = depthGuarded(withSyslog(source, mapper));
    wrapped = (record, ctx) => {
      const doc = syslogOrRest(record, ctx);
      stampStream(doc, ctx.namespace);
      return doc;
    };
    syslogAware.set(key, wrapped);
  }
  return wrapped;
}

/**
 * Refuses records nested more than {@link MAX_RECORD_DEPTH} levels below themselves before any
 * mapper walks or serialises them (`JSON.stringify` is recursive).
 */
function depthGuarded(mapper: Mapper): Mapper {
  return (record, context) => {
    if (exceedsDepth(record, MAX_RECORD_DEPTH + 1))
      throw new MappingError(
        "invalid_record",
        `record nested deeper than ${MAX_RECORD_DEPTH} levels (arrays and objects count)`,
      );
    return mapper(record, context);
  };
}

/**
 * Maps one vendor record and runs the enrichers. Throws {@link MappingError} when the record cannot
 * be mapped and {@link UnknownStreamError} for an unknown pair.
 */
export function mapRecord(source: string, stream: string, record: unknown, ctx: MappingOptions): EcsDocument {
  const context: MappingContext = {
    source,
    stream,
    ingestedAt: ctx.ingestedAt,
    advisories: ctx.advisories,
    preserveOriginal: ctx.preserveOriginal,
    preserveDuplicateVendorFields: ctx.preserveDuplicateVendorFields,
    namespace: ctx.namespace,
    original: ctx.original,
    enrichment: ctx.enrichment,
  };
  return enrich(getMapper(source, stream)(record, context), context);
}

/**
 * Maps one raw input line (one JSON record). Never throws for bad input: a blank line, malformed
 * JSON, a record the mapping refuses, or a bug in a mapping all give a `pipeline_error` document
 * that keeps the line in `event.original`.
 */
export type LineMapper = (line: string, options: Omit<MappingOptions, "original">) => EcsDocument;

/**
 * A {@link LineMapper} for one pair; {@link UnknownStreamError} for an unknown pair (checked now).
 * `enrich: false` gives the raw mapping without the `medsoc.*` enrichers (`normalize --no-enrich`).
 */
export function createLineMapper(
  source: string,
  stream: string,
  { enrich: enrichDocs = true }: { enrich?: boolean } = {},
): LineMapper {
  const mapper = getMapper(source, stream);
  return (line, options) => {
    const context: MappingContext = {
      source,
      stream,
      ingestedAt: options.ingestedAt,
      advisories: options.advisories,
      preserveOriginal: options.preserveOriginal,
      preserveDuplicateVendorFields: options.preserveDuplicateVendorFields,
      namespace: options.namespace,
      original: line,
      enrichment: options.enrichment,
    };
    if (line.trim() === "") {
      return pipelineErrorDocument(line, new MappingError("empty_line", "empty input line"), context);
    }
    let record: unknown;
    try {
      // Depth-checked, and integers beyond 2^53 kept exact as strings (core/json.ts).
      record = parseJson(line);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      const tooDeep = error instanceof JsonInputError && error.kind === "too_deep";
      return pipelineErrorDocument(
        line,
        new MappingError(tooDeep ? "invalid_record" : "malformed_json", `parsing JSON: ${detail}`, {
          cause: error,
        }),
        context,
      );
    }
    try {
      const doc = mapper(record, context);
      return enrichDocs ? enrich(doc, context) : doc;
    } catch (error) {
      const reason =
        error instanceof MappingError
          ? error
          : new MappingError(
              "unexpected",
              `mapping ${source}/${stream} failed unexpectedly: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
              { cause: error },
            );
      return pipelineErrorDocument(line, reason, context);
    }
  };
}

/** One-shot form of {@link createLineMapper}. */
export function mapLine(
  source: string,
  stream: string,
  line: string,
  options: Omit<MappingOptions, "original">,
): EcsDocument {
  return createLineMapper(source, stream)(line, options);
}
