import { PermanentError } from "../core/errors.ts";

/**
 * Why a record could not be mapped. Becomes `error.code` on the `pipeline_error` document.
 *
 * - `empty_line`: the input line was blank.
 * - `line_too_long`: the input line exceeds the reader's limit; `event.original` keeps its start.
 * - `malformed_json`: the input line is not valid JSON.
 * - `not_an_object`: the JSON value is not an object (array, string, number, null …).
 * - `missing_identity`: the record has neither a vendor id nor a vendor timestamp, so no
 *   deterministic document id can be derived.
 * - `invalid_record`: any other structural problem (too deeply nested, required field absent).
 * - `unexpected`: a bug in a mapper; the record is kept so nothing is lost.
 */
export type MappingErrorCode =
  | "empty_line"
  | "line_too_long"
  | "malformed_json"
  | "not_an_object"
  | "missing_identity"
  | "invalid_record"
  | "unexpected";

/**
 * A vendor record that cannot become an ECS document. Permanent: mapping the same record again
 * fails the same way, so it goes to the dead-letter queue as a `pipeline_error` document.
 */
export class MappingError extends PermanentError {
  /** Machine-readable reason, see {@link MappingErrorCode}. */
  readonly code: MappingErrorCode;
  constructor(code: MappingErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A (source, stream) pair with no mapping. The message lists the valid pairs (the CLI exits 2). */
export class UnknownStreamError extends PermanentError {
  /** Valid `source/stream` pairs. */
  readonly valid: readonly string[];
  constructor(source: string, stream: string, valid: readonly string[]) {
    super(`unknown source/stream "${source}/${stream}"; valid: ${valid.join(", ")}`);
    this.valid = valid;
  }
}
