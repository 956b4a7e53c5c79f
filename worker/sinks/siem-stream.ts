/**
 * The SIEM stream of a document, for the sinks. The decision itself lives in ONE place,
 * `mappings/stream.ts` (`siemStreamOf`): the mappings stamp `event.dataset` and `data_stream.*` with
 * it and the sinks route by it, so a document's dataset and the stream it is written to agree.
 * This module only re-exports it for code that looks for the sinks' routing here.
 */
export {
  DEFAULT_NAMESPACE,
  dataStreamFields,
  dataStreamName,
  SIEM_STREAMS,
  type SiemStream,
  siemStreamOf,
} from "../../mappings/stream.ts";
