import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";

/**
 * Prometheus metrics of one worker process. Queue depth and poll lag are gauges refreshed on
 * scrape (`collect`), the rest are counters updated by the pipeline.
 */
export class Metrics {
  readonly registry = new Registry();
  /** Records entering and leaving each stage (`poll`, `map`, `sink.<name>`). */
  readonly records = new Counter({
    name: "medsoc_records_total",
    help: "Records per stage and direction (in/out).",
    labelNames: ["stage", "direction", "source", "stream"] as const,
    registers: [this.registry],
  });
  readonly deadLettered = new Counter({
    name: "medsoc_dead_lettered_total",
    help: "Records or jobs moved to the dead-letter queue, per stage.",
    labelNames: ["stage"] as const,
    registers: [this.registry],
  });
  readonly duplicates = new Counter({
    name: "medsoc_sink_duplicates_total",
    help: "Documents a sink already held (Elasticsearch 409 on create with the deterministic id).",
    labelNames: ["sink"] as const,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "medsoc_queue_depth",
    help: "Jobs per queue and state.",
    labelNames: ["queue", "state"] as const,
    registers: [this.registry],
  });
  readonly pollLag = new Gauge({
    name: "medsoc_poll_lag_seconds",
    help: "Seconds between now and the cursor timestamp of each (source, stream).",
    labelNames: ["source", "stream"] as const,
    registers: [this.registry],
  });
  readonly pollsFailed = new Counter({
    name: "medsoc_polls_failed_total",
    help: "Poll jobs given up (permanent error or attempts exhausted), per source and stream.",
    labelNames: ["source", "stream"] as const,
    registers: [this.registry],
  });
  readonly pollErrors = new Counter({
    name: "medsoc_poll_errors_total",
    help: "Failed poll attempts per source and stream.",
    labelNames: ["source", "stream", "kind"] as const,
    registers: [this.registry],
  });
  /**
   * Push receivers: messages or requests per receiver (`syslog`, `http-push`), transport and
   * outcome (`accepted`, `oversize`, `framing_error`, `unparsed`, `unrouted`, `dropped_full`,
   * `dropped_kernel`, `error`, `unauthorized`, `malformed`, `queue_full`, …). Each message has
   * exactly one outcome.
   */
  readonly received = new Counter({
    name: "medsoc_receiver_messages_total",
    help: "Messages (syslog) or requests (HTTP push) per receiver, transport and outcome.",
    labelNames: ["receiver", "transport", "outcome"] as const,
    registers: [this.registry],
  });
  /** Properties of received messages counted besides their outcome (`invalid_utf8`). */
  readonly receivedFlags = new Counter({
    name: "medsoc_receiver_message_flags_total",
    help: "Received messages with a property worth counting (invalid_utf8), per receiver and transport.",
    labelNames: ["receiver", "transport", "flag"] as const,
    registers: [this.registry],
  });

  constructor() {
    // Process figures (CPU, resident memory, event-loop lag, heap) beside medsoc's own.
    collectDefaultMetrics({ register: this.registry });
  }

  /** Sum of a counter's values matching the given labels (for progress lines and summaries). */
  async total(counter: Counter<string>, labels: Record<string, string> = {}): Promise<number> {
    const { values } = await counter.get();
    let sum = 0;
    for (const v of values) {
      if (Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)) sum += v.value;
    }
    return sum;
  }
}
