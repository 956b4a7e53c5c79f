/**
 * PagerDuty Events API v2 (response.md §12): trigger and resolve with a `dedup_key`, so a re-run
 * pages once. The API has no read-back: `verify()` checks the 202 echoed our `dedup_key` and says so.
 */
import { z } from "zod";
import { secretSchema } from "../../core/config-fields.ts";
import { call } from "./http.ts";
import type { Action } from "./types.ts";
import { defineSystem } from "./types.ts";

/** `playbooks.systems.pagerduty` as parsed (declared once, below: `pagerdutyConfigSchema`). */
export type PagerDutyConfig = z.output<typeof pagerdutyConfigSchema>;

const input = z.strictObject({
  eventAction: z.enum(["trigger", "acknowledge", "resolve"]).default("trigger"),
  dedupKey: z.string().min(1).max(255),
  summary: z.string().min(1).max(1024),
  severity: z.enum(["critical", "error", "warning", "info"]).default("critical"),
  source: z.string().min(1).default("medsoc"),
  component: z.string().optional(),
  group: z.string().optional(),
  class: z.string().optional(),
  customDetails: z.record(z.string(), z.unknown()).optional(),
});
type Input = z.infer<typeof input>;

export function pagerDutyActions(config: PagerDutyConfig): Action[] {
  const event: Action<Input, { dedupKey: string; status: string }> = {
    name: "pagerduty.event",
    description: "Send a PagerDuty Events v2 trigger/resolve with a dedup key.",
    kind: "notify",
    input,
    async plan(i) {
      return {
        summary: `${i.eventAction} PagerDuty event ${i.dedupKey} (${i.severity}): ${i.summary}`,
        calls: [{ system: "pagerduty", method: "POST", url: config.url }],
      };
    },
    async execute(i, ctx) {
      const r = await call(ctx, {
        system: "pagerduty",
        method: "POST",
        url: config.url,
        body: {
          routing_key: config.routingKey.reveal(),
          event_action: i.eventAction,
          dedup_key: i.dedupKey,
          ...(i.eventAction === "trigger"
            ? {
                payload: {
                  summary: i.summary,
                  source: i.source,
                  severity: i.severity,
                  timestamp: ctx.now().toISOString(),
                  component: i.component,
                  group: i.group,
                  class: i.class,
                  custom_details: { ...i.customDetails, playbook_run: ctx.runId },
                },
              }
            : {}),
        },
        secrets: [config.routingKey],
        context: `sending the PagerDuty ${i.eventAction} ${i.dedupKey}`,
      });
      const b = r.body as { status?: string; dedup_key?: string };
      return { dedupKey: b?.dedup_key ?? "", status: b?.status ?? "" };
    },
    async verify(i, o) {
      return o.dedupKey === i.dedupKey && o.status === "success"
        ? {
            ok: true,
            detail: `PagerDuty accepted ${i.eventAction} ${o.dedupKey} (the Events API has no read-back)`,
          }
        : {
            ok: false,
            detail: `PagerDuty answered ${o.status || "nothing"} with dedup key ${o.dedupKey || "none"}`,
          };
    },
  };
  return [event as Action];
}

const url = z.string().url();

/** `playbooks.systems.pagerduty`: PagerDuty Events API v2 (every run's page). */
export const pagerdutyConfigSchema = z.strictObject({
  /** @defaultValue "https://events.pagerduty.com/v2/enqueue" */
  url: url.default("https://events.pagerduty.com/v2/enqueue"),
  routingKey: secretSchema,
});

/** PagerDuty Events API v2 (every run's page): the one declaration of this system (settings, actions). */
export const pagerdutySystem = defineSystem({
  id: "pagerduty",
  title: "PagerDuty Events API v2 (every run's page).",
  config: pagerdutyConfigSchema,
  actions: ["pagerduty.event"],
  create: (config) => pagerDutyActions(config),
});
