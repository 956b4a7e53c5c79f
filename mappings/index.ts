/**
 * The mapping machinery every (source, stream) pair goes through: the syslog-or-REST switch, the
 * depth guard, the stream stamp, the enrichers and the line mapper that turns bad input into
 * `pipeline_error` documents. Which mapping a pair has is the monitor registry's business
 * (`monitors/index.ts`: `getMapper`, `mapRecord`, `createLineMapper`, `listStreams`); the vendor
 * mappings themselves live in `mappings/<source>/`.
 */
import { exceedsDepth, JsonInputError, MAX_RECORD_DEPTH, parseJson } from "../core/json.ts";
import { enrich } from "./enrich.ts";
import { MappingError } from "./errors.ts";
import { pipelineErrorDocument } from "./pipeline-error.ts";
import { stampStream } from "./stream.ts";
import { type SyslogProfile, withSyslog } from "./syslog/index.ts";
import type { EcsDocument, Mapper, MappingContext } from "./types.ts";

export { MappingError, UnknownStreamError } from "./errors.ts";
export { pipelineErrorDocument } from "./pipeline-error.ts";
export { dataStreamName, type SiemStream, siemStreamOf } from "./stream.ts";
export type { EcsDocument, Mapper, MappingContext } from "./types.ts";

/** One mapped (source, stream) pair. */
export interface StreamRef {
  source: string;
  stream: string;
}

/** The per-record part of a {@link MappingContext}: everything except source and stream. */
export type MappingOptions = Omit<MappingContext, "source" | "stream">;

/**
 * `mapper` made ready for the pipeline: it also takes the syslog receiver's CEF/LEEF records for the
 * pair (`mappings/syslog/`, with the source's `profile`); REST records go to the vendor mapping after
 * one depth check. Its documents carry `event.dataset`, `event.module` and `data_stream.*` from
 * {@link stampStream}, the function the sinks route by.
 */
export function prepareMapper(mapper: Mapper, profile?: SyslogProfile): Mapper {
  const syslogOrRest = depthGuarded(withSyslog(mapper, profile));
  return (record, ctx) => {
    const doc = syslogOrRest(record, ctx);
    stampStream(doc, ctx.namespace);
    return doc;
  };
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
 * Maps one vendor record of (source, stream) with `mapper` (a {@link prepareMapper} result) and runs
 * the enrichers. Throws {@link MappingError} when the record cannot be mapped.
 */
export function mapRecordWith(
  mapper: Mapper,
  source: string,
  stream: string,
  record: unknown,
  ctx: MappingOptions,
): EcsDocument {
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
  return enrich(mapper(record, context), context);
}

/**
 * Maps one raw input line (one JSON record). Never throws for bad input: a blank line, malformed
 * JSON, a record the mapping refuses, or a bug in a mapping all give a `pipeline_error` document
 * that keeps the line in `event.original`.
 */
export type LineMapper = (line: string, options: Omit<MappingOptions, "original">) => EcsDocument;

/**
 * A {@link LineMapper} for one pair with `mapper` (a {@link prepareMapper} result). `enrich: false`
 * gives the raw mapping without the `medsoc.*` enrichers (`normalize --no-enrich`).
 */
export function createLineMapperFor(
  mapper: Mapper,
  source: string,
  stream: string,
  { enrich: enrichDocs = true }: { enrich?: boolean } = {},
): LineMapper {
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
