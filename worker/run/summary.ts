/** What `medsoc start` reports: the summary it returns and prints, and the live progress line. */

import { statusLine } from "../../core/terminal.ts";
import { formatPlaybookSummary } from "../../playbooks/summary.ts";
import type { Metrics } from "../metrics.ts";
import type { Pipeline } from "../pipeline.ts";
import type { StartSummary } from "../run.ts";

/** The figures of a run, from the metrics (outputs and playbooks are added by the caller). */
export async function summarize(
  metrics: Metrics,
  started: number,
  sinkNames: string[],
): Promise<StartSummary> {
  const { values } = await metrics.records.get();
  const perStream: StartSummary["perStream"] = {};
  for (const v of values) {
    const key = `${v.labels.source}/${v.labels.stream}`;
    perStream[key] ??= { polled: 0, mapped: 0 };
    if (v.labels.stage === "poll" && v.labels.direction === "out") perStream[key].polled += v.value;
    if (v.labels.stage === "map" && v.labels.direction === "out") perStream[key].mapped += v.value;
    if (v.labels.stage === "push" && v.labels.direction === "out")
      perStream[key].pushed = (perStream[key].pushed ?? 0) + v.value;
  }
  const delivered: Record<string, number> = {};
  for (const name of sinkNames)
    delivered[name] = await metrics.total(metrics.records, { stage: `sink.${name}`, direction: "out" });
  return {
    seconds: (Date.now() - started) / 1000,
    polled: await metrics.total(metrics.records, { stage: "poll", direction: "out" }),
    mapped: await metrics.total(metrics.records, { stage: "map", direction: "out" }),
    delivered,
    duplicates: await metrics.total(metrics.duplicates),
    deadLettered: await metrics.total(metrics.deadLettered),
    failedPolls: await metrics.total(metrics.pollsFailed),
    pushed: await metrics.total(metrics.records, { stage: "push", direction: "out" }),
    failedPushes: 0,
    perStream,
    outputs: [],
  };
}

/** A progress line on stderr (in place on a TTY, every 5 s otherwise) until `stop()`. */
export function startProgress(metrics: Metrics, pipeline: Pipeline, enabled: boolean): { stop(): void } {
  if (!enabled) return { stop() {} };
  let last = "";
  const tick = async () => {
    const polled = await metrics.total(metrics.records, { stage: "poll", direction: "out" });
    const mapped = await metrics.total(metrics.records, { stage: "map", direction: "out" });
    const { values } = await metrics.records.get();
    const delivered = values
      .filter((v) => String(v.labels.stage).startsWith("sink.") && v.labels.direction === "out")
      .reduce((a, v) => a + v.value, 0);
    const dead = await metrics.total(metrics.deadLettered);
    let queued = 0;
    for (const q of pipeline.queues()) {
      const n = await q.counts();
      queued += n.waiting + n.active + n.delayed;
    }
    const line = `medsoc · polled ${polled} · mapped ${mapped} · delivered ${delivered} · dead-lettered ${dead} · jobs queued ${queued}`;
    if (line === last) return;
    last = line;
    // On a terminal a status line that log lines print above (core/terminal.ts); elsewhere a line.
    if (status) status.update(line);
    else process.stderr.write(`${line}\n`);
  };
  const status = statusLine(process.stderr);
  const timer = setInterval(() => void tick().catch(() => undefined), status ? 250 : 5000);
  return {
    stop() {
      clearInterval(timer);
      // Synchronous on a terminal, so the summary printed next starts on a line of its own.
      if (status) status.stop(last || undefined);
      else void tick().catch(() => undefined);
    },
  };
}

/** What a job of each in-memory queue is, for the shutdown summary. */
const QUEUE_CONTENTS: Record<string, string> = {
  "playbook-steps": "playbook steps",
  poll: "polls",
  raw: "raw record batches",
};

/** Human-readable summary printed at the end of `medsoc start`. */
export function formatSummary(s: StartSummary): string {
  const lines = [
    `medsoc finished in ${s.seconds.toFixed(1)} s`,
    `  polled ${s.polled} records, mapped ${s.mapped} ECS documents, dead-lettered ${s.deadLettered}`,
  ];
  if (s.pushed) lines.push(`  received ${s.pushed} pushed records (HTTP push, syslog)`);
  for (const [stream, n] of Object.entries(s.perStream))
    if (n.polled || n.mapped || n.pushed)
      lines.push(
        `  ${stream.padEnd(24)} polled ${String(n.polled).padStart(8)}  mapped ${String(n.mapped).padStart(8)}${n.pushed ? `  pushed ${String(n.pushed).padStart(8)}` : ""}`,
      );
  for (const [sink, n] of Object.entries(s.delivered)) lines.push(`  sink ${sink}: ${n} delivered`);
  if (s.duplicates) lines.push(`  duplicates already in the destination: ${s.duplicates}`);
  if (s.failedPushes) lines.push(`  ${s.failedPushes} simulated monitor push(es) failed: see the log`);
  if (s.failedPolls)
    lines.push(`  ${s.failedPolls} poll(s) failed for good: see the dead-letter queue (medsoc dead-letters)`);
  if (s.playbooks) lines.push(...formatPlaybookSummary(s.playbooks));
  for (const left of s.leftInMemory ?? []) {
    const what = QUEUE_CONTENTS[left.queue] ?? (left.queue.startsWith("sink-") ? "document batches" : "jobs");
    const parts = [
      left.delayed ? `${left.delayed} delayed` : "",
      left.waiting ? `${left.waiting} waiting` : "",
    ].filter(Boolean);
    lines.push(`  left in memory at shutdown and dropped (queue ${left.queue}): ${parts.join(", ")} ${what}`);
  }
  for (const o of s.outputs) lines.push(`  output: ${o}`);
  return `${lines.join("\n")}\n`;
}
