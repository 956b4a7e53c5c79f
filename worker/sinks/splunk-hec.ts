/**
 * The Splunk HTTP Event Collector sink, laid out as Vector lays out its `splunk_hec` sink
 * (`src/sinks/splunk_hec/common/` + `logs/`), one concern per file in `splunk-hec/`:
 *
 *   config.ts    `sinks.splunk` settings (zod)
 *   envelope.ts  one document → its HEC envelope, validated against the envelope schema
 *   response.ts  HEC's reply, the failure types
 *   retry.ts     the retry matrix: what a reply means for the events, the backoff
 *   acks.ts      indexer acknowledgement: pending ackIds, polling, timeouts
 *   service.ts   HTTP: connection pool, headers, gzip, event/ack endpoints, health check
 *   sink.ts      batching, concurrency, sending each batch to the end, the write's result
 *
 * This module is the public entry; importers keep importing from here.
 */
export {
  type SplunkHecSinkConfig,
  type SplunkHecSinkConfigInput,
  splunkHecSinkConfigSchema,
} from "./splunk-hec/config.ts";
export { buildHecEnvelope, type HecEnvelope, hecTime } from "./splunk-hec/envelope.ts";
export { checkHecHealth } from "./splunk-hec/service.ts";
export { createSplunkHecSink, type SplunkHecSinkDeps } from "./splunk-hec/sink.ts";
