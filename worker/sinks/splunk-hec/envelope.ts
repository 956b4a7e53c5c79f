/**
 * The HEC event envelope of one document and its validation (Vector: `splunk_hec/logs/encoder.rs`).
 */
import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import { siemStreamOf } from "../../../mappings/stream.ts";
import type { EcsDocument } from "../../../mappings/types.ts";
import { docIdOf } from "../common.ts";

/** A HEC event envelope (`/services/collector/event`). */
export interface HecEnvelope {
  time: number;
  host: string;
  source: string;
  sourcetype: string;
  index?: string;
  event: EcsDocument;
  fields: { event_id: string; [key: string]: string | string[] };
}

const envelopeSchema = JSON.parse(
  readFileSync(new URL("../hec-envelope.schema.json", import.meta.url), "utf8"),
);
const ajv = new Ajv2020({ allErrors: true, strict: false });
let compiledEnvelope: ReturnType<Ajv2020["compile"]> | undefined;
/** The envelope validator, compiled once per process from the schema copied beside splunk-hec.ts. */
function envelopeValidator(): ReturnType<Ajv2020["compile"]> {
  compiledEnvelope ??= ajv.compile(envelopeSchema);
  return compiledEnvelope;
}

/**
 * The envelope check, compiled when the sink is created: undefined when an envelope is valid, else
 * the reason. Envelopes are validated before sending: an unknown top-level key makes Splunk answer
 * 200 and drop the rest.
 */
export function envelopeChecker(): (envelope: unknown) => string | undefined {
  const validate = envelopeValidator();
  return (envelope) =>
    validate(envelope)
      ? undefined
      : `invalid hec envelope: ${ajv.errorsText(validate.errors, { dataVar: "envelope" })}`;
}

/** Epoch seconds with millisecond precision (`1764322802.789`), as HEC's `time` wants it. */
export function hecTime(timestamp: string): number | undefined {
  const ms = Date.parse(timestamp);
  if (Number.isNaN(ms)) return undefined;
  return Math.round(ms) / 1000;
}

/**
 * Builds the envelope of one document. The sourcetype is `medsoc:<SIEM stream>` (device, alert,
 * vulnerability, event, audit: the sourcetypes of the Splunk app), from `siemStreamOf`
 * (mappings/stream.ts), the function the document's `event.dataset` was stamped with, whatever the
 * vendor stream of the batch (`_stream`, kept for the callers). The stable event id goes in twice: inside the event as
 * `medsoc.doc_id` (the document is sent untouched) and as the indexed field `event_id`, so
 * `| dedup event_id` and `tstats … by event_id` work after an at-least-once resend, whatever the
 * sourcetype's search-time extraction.
 */
export function buildHecEnvelope(
  doc: EcsDocument,
  _stream: string,
  options: { host: string; index?: string | undefined },
): HecEnvelope | string {
  const id = docIdOf(doc);
  if (id === undefined) return "document has no medsoc.doc_id";
  const time = hecTime(doc["@timestamp"]);
  if (time === undefined) return `document has no valid @timestamp (${JSON.stringify(doc["@timestamp"])})`;
  return {
    time,
    host: options.host,
    source: `medsoc:${doc.medsoc.source}`,
    sourcetype: `medsoc:${siemStreamOf(doc)}`,
    ...(options.index ? { index: options.index } : {}),
    event: doc,
    fields: { event_id: id },
  };
}
