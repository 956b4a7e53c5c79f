/**
 * `run.schedule`: starts another playbook later (the optional automatic release timer). The delayed
 * start is a queue job, so it survives restarts on Redis. It is not undone by compensation; the
 * release it starts is itself safe to run on a device that is no longer contained.
 */
import { z } from "zod";
import type { Action, DeviceInfo } from "./types.ts";

export interface RunScheduler {
  schedule(
    request: {
      playbookId: string;
      device?: string | DeviceInfo;
      inputs?: Record<string, unknown>;
      trigger?: { kind: string; id?: string };
    },
    delayMs: number,
    key: string,
  ): Promise<void>;
}

export function scheduleActions(scheduler: RunScheduler): Action[] {
  const schedule: Action<
    { playbook: string; delayMinutes: number; inputs: Record<string, unknown> },
    { at: string }
  > = {
    name: "run.schedule",
    description: "Start another playbook for the same device after a delay (automatic release timer).",
    kind: "lookup",
    input: z.strictObject({
      playbook: z.string().min(1),
      delayMinutes: z.number().min(0),
      inputs: z.record(z.string(), z.unknown()).default({}),
    }),
    async plan(i, ctx) {
      return {
        summary: `start ${i.playbook} for ${ctx.device?.key} in ${i.delayMinutes} minute(s)`,
        calls: [],
      };
    },
    async execute(i, ctx) {
      if (ctx.dryRun) return { at: new Date(ctx.now().getTime() + i.delayMinutes * 60_000).toISOString() };
      await scheduler.schedule(
        {
          playbookId: i.playbook,
          device: ctx.device?.key,
          inputs: i.inputs,
          trigger: { kind: "timer", id: ctx.runId },
        },
        i.delayMinutes * 60_000,
        ctx.idempotencyKey,
      );
      return { at: new Date(ctx.now().getTime() + i.delayMinutes * 60_000).toISOString() };
    },
    async verify(_i, o) {
      return { ok: true, detail: `scheduled for ${o.at}` };
    },
  };
  return [schedule as Action];
}
