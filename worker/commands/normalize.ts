/**
 * `medsoc normalize`: raw vendor records in (one JSON per line), ECS documents out (one JSON per
 * line). Part of the stable CLI contract:
 *
 * - exactly one output document per input line, in input order — including blank lines and
 *   malformed or unmappable records, which become `event.kind: pipeline_error` documents carrying
 *   the raw line in `event.original` (a blank line has no `event.original`);
 * - a line ends at `\n`; a `\r` before it is removed (CRLF input); a final line without a
 *   terminator counts, the empty remainder after a final `\n` does not;
 * - lines of any length up to `maxLineLength` characters (default 256 Mi); a longer line yields a
 *   `pipeline_error` (`line_too_long`) whose `event.original` keeps its first 64 KiB, instead of
 *   exhausting memory;
 * - output backpressure is respected (the reader waits for `drain`);
 * - an unknown source/stream is refused before any input is read, with the valid pairs listed.
 */
import { once } from "node:events";
import { StringDecoder } from "node:string_decoder";
import type { AdvisoryIndex } from "../../mappings/advisories/match.ts";
import { loadAdvisoryIndex } from "../../mappings/advisories/store-file.ts";
import { MappingError } from "../../mappings/errors.ts";
import { pipelineErrorDocument } from "../../mappings/pipeline-error.ts";
import { createLineMapper } from "../../monitors/index.ts";

/** Options of {@link runNormalize}. */
export interface NormalizeOptions {
  /** Source id (`armis`). */
  source: string;
  /** Stream name (`device`, `alert`, `vulnerability`). */
  stream: string;
  /** Raw records, one JSON object per line (UTF-8). */
  input: NodeJS.ReadableStream;
  /** ECS documents, one JSON object per line. Not ended by {@link runNormalize}. */
  output: NodeJS.WritableStream;
  /** Keep the raw line in `event.original` of mapped documents. @defaultValue false */
  preserveOriginal?: boolean;
  /**
   * Keep the vendor fields that were also copied to ECS fields in the vendor namespace (see
   * `MappingContext.preserveDuplicateVendorFields`). @defaultValue false
   */
  preserveDuplicateVendorFields?: boolean;
  /** Run the `medsoc.*` enrichers (device class, criticality, credentials, risk). @defaultValue true */
  enrich?: boolean;
  /** Clock for `event.ingested` (read once per input chunk). @defaultValue `() => new Date()` */
  now?: () => Date;
  /** Longest accepted line, in UTF-16 code units. @defaultValue 268435456 (256 Mi) */
  maxLineLength?: number;
  /** The loaded advisory store's index. @defaultValue the shipped snapshot */
  advisories?: AdvisoryIndex;
}

/** Default {@link NormalizeOptions.maxLineLength}: well below V8's string limit (~512 Mi). */
export const DEFAULT_MAX_LINE_LENGTH = 256 * 1024 * 1024;
const OVERSIZED_ORIGINAL_CHARS = 64 * 1024;

/**
 * Runs the normalize command until `input` ends. Resolves with the exit code (0). Rejects with
 * `UnknownStreamError` (a `PermanentError`; the CLI exits 2) for an unknown source/stream, and with
 * the stream's error if reading `input` or writing `output` fails.
 */
export async function runNormalize(opts: NormalizeOptions): Promise<number> {
  const { source, stream, input, output } = opts;
  const mapLine = createLineMapper(source, stream, { enrich: opts.enrich !== false });
  const now = opts.now ?? (() => new Date());
  const preserveOriginal = opts.preserveOriginal === true;
  const preserveDuplicateVendorFields = opts.preserveDuplicateVendorFields === true;
  const maxLineLength = opts.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  const advisories = opts.advisories;

  let outputError: unknown;
  const onOutputError = (error: unknown): void => {
    outputError ??= error;
  };
  output.on("error", onOutputError);

  const write = async (text: string): Promise<void> => {
    if (outputError !== undefined) throw outputError;
    if (!output.write(text)) {
      if (outputError !== undefined) throw outputError;
      await once(output, "drain");
    }
  };

  const decoder = new StringDecoder("utf8");
  const pending: string[] = []; // pieces of the line being read
  let pendingLength = 0;
  let oversized = false; // the current line passed maxLineLength: keep only its start
  let ingestedAt = "";
  let out = "";

  const emitLine = (last: string): void => {
    let doc: ReturnType<typeof mapLine>;
    if (oversized || pendingLength + last.length > maxLineLength) {
      const total = pendingLength + last.length;
      const head = (pending.length > 0 ? pending.join("") : last).slice(0, OVERSIZED_ORIGINAL_CHARS);
      doc = pipelineErrorDocument(
        head,
        new MappingError(
          "line_too_long",
          `input line of ${total} characters exceeds the limit of ${maxLineLength}; event.original keeps the first ${head.length}`,
        ),
        { source, stream, ingestedAt },
      );
    } else {
      let line = pending.length > 0 ? pending.join("") + last : last;
      if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
      doc = mapLine(line, { ingestedAt, preserveOriginal, preserveDuplicateVendorFields, advisories });
    }
    pending.length = 0;
    pendingLength = 0;
    oversized = false;
    out += `${JSON.stringify(doc)}\n`;
  };

  const consume = (text: string): void => {
    let start = 0;
    let nl = text.indexOf("\n");
    while (nl !== -1) {
      emitLine(text.slice(start, nl));
      start = nl + 1;
      nl = text.indexOf("\n", start);
    }
    if (start < text.length) {
      const rest = start === 0 ? text : text.slice(start);
      if (oversized) {
        pendingLength += rest.length;
      } else {
        pending.push(rest);
        pendingLength += rest.length;
        if (pendingLength > maxLineLength) {
          // Keep only the start of the line for event.original; count the rest.
          const head = pending.join("").slice(0, OVERSIZED_ORIGINAL_CHARS);
          pending.length = 0;
          pending.push(head);
          oversized = true;
        }
      }
    }
  };

  try {
    for await (const chunk of input) {
      ingestedAt = now().toISOString();
      consume(typeof chunk === "string" ? chunk : decoder.write(chunk));
      if (out !== "") {
        const text = out;
        out = "";
        await write(text);
      }
    }
    ingestedAt = now().toISOString();
    consume(decoder.end());
    if (pendingLength > 0 || pending.length > 0) emitLine("");
    if (out !== "") await write(out);
  } finally {
    output.off("error", onOutputError);
  }
  return 0;
}

/** `medsoc normalize` (declared in worker/cli.ts): stdin → stdout. */
export async function normalizeAction(opts: {
  source: string;
  stream: string;
  preserveOriginal?: boolean;
  preserveDuplicateVendorFields?: boolean;
  enrich: boolean;
  advisoryStore?: string;
}): Promise<void> {
  process.exitCode = await runNormalize({
    source: opts.source,
    stream: opts.stream,
    input: process.stdin,
    output: process.stdout,
    preserveOriginal: Boolean(opts.preserveOriginal),
    preserveDuplicateVendorFields: Boolean(opts.preserveDuplicateVendorFields),
    enrich: opts.enrich,
    advisories: opts.enrich ? await loadAdvisoryIndex(opts.advisoryStore) : undefined,
  });
}
