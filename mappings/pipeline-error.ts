import { ECS_VERSION } from "./document.ts";
import { MappingError } from "./errors.ts";
import { stampStream } from "./stream.ts";
import type { EcsDocument, MappingContext } from "./types.ts";
import { docId } from "./values.ts";

/**
 * The document for an input line that could not be mapped (DESIGN.md: never dropped silently,
 * never crashes a worker). `event.kind: pipeline_error`; `event.original` is always the raw line so
 * nothing is lost; `@timestamp` is the ingest time (the vendor time is unknown); `error.message`
 * says why, `error.type` is the error class (`MappingError` for records medsoc refuses) and
 * `error.code` the {@link MappingError} code. The document id hashes the raw line, so re-delivery
 * of the same bad line is idempotent too.
 *
 * @param rawLine - the input line exactly as received (without its line terminator)
 * @param reason - why it failed: an error, or a message (then `error.type` is `MappingError`)
 * @param context - source, stream and ingest time
 */
export function pipelineErrorDocument(
  rawLine: string,
  reason: string | Error,
  context: MappingContext,
): EcsDocument {
  const error: Record<string, unknown> = {
    message: typeof reason === "string" ? reason : reason.message || reason.name,
    type: typeof reason === "string" ? MappingError.name : reason.name,
  };
  if (reason instanceof MappingError) error.code = reason.code;
  const event: EcsDocument["event"] = {
    kind: "pipeline_error",
    ingested: context.ingestedAt,
  };
  if (rawLine !== "") event.original = rawLine;
  const doc: EcsDocument = {
    "@timestamp": context.ingestedAt,
    ecs: { version: ECS_VERSION },
    event,
    error,
    medsoc: {
      doc_id: docId(context.source, context.stream, "pipeline_error", rawLine),
      source: context.source,
      stream: context.stream,
    },
  };
  stampStream(doc, context.namespace);
  return doc;
}
