/**
 * The three ways `medsoc start` runs once the runtime is up: a one-shot backfill (`--once`),
 * long-running with the scheduler, and stage workers only (`--workers-only`).
 */
import type { Logger } from "../../core/log.ts";
import { withinRedisGrace } from "../queue/common.ts";
import { Scheduler, slotFor } from "../scheduler.ts";
import type { Runtime } from "./runtime.ts";

/** `--once`: polls every stream until exhausted, lets the playbooks finish, drains every queue. */
export async function runOnce(rt: Runtime): Promise<void> {
  const { pipeline, playbooks, config } = rt;
  await pipeline.pollAll(`now-${Date.now()}`);
  await pipeline.drained();
  if (!playbooks) return;
  await playbooks.rules.flushPending();
  // Runs waiting for an approval hold no job (only their delayed timeout): wait for the rest.
  const q = playbooks.engine.queue;
  for (;;) {
    const n = await withinRedisGrace("waiting for the playbook runs", config.queue.redisGraceMs, () =>
      q.counts(),
    );
    if (n.waiting + n.active === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await playbooks.audit.flush();
  // The head as of now, signed, reaches the sinks with the last entries.
  await playbooks.audit.checkpoint();
  await rt.shipAudit.flush();
  await pipeline.drained();
}

/**
 * Long-running: the first poll takes the current schedule slot, so replicas started together (and
 * the first cron tick of this slot) poll once; then the scheduler polls every stream on its
 * schedule until `stopSignal`.
 */
export async function runScheduled(
  rt: Runtime,
  stopSignal: Promise<void> | undefined,
  log: Logger,
): Promise<void> {
  const { config, pipeline } = rt;
  const intervals = new Map(config.sourceConfigs.map((s) => [s.name, s.intervalSeconds]));
  const startedAt = new Date();
  let scheduler: Scheduler | undefined;
  try {
    await pipeline.pollAll((name) => slotFor(startedAt, intervals.get(name) ?? 300));
    scheduler = new Scheduler(
      pipeline.pollQueue,
      config.sourceConfigs.flatMap((s) =>
        s.streams.map((stream) => ({
          source: s.name,
          stream,
          cron: s.schedule,
          intervalSeconds: s.intervalSeconds,
        })),
      ),
      { log },
    );
    scheduler.start();
    await (stopSignal ?? new Promise<void>(() => undefined));
  } finally {
    scheduler?.stop();
  }
}

/** `--workers-only`: the stage workers run (started with the runtime) until `stopSignal`. */
export async function runWorkersOnly(stopSignal: Promise<void> | undefined): Promise<void> {
  await (stopSignal ?? new Promise<void>(() => undefined));
}
