/**
 * ServiceNow incidents keyed by correlation id (response.md §11): look the active incident up by
 * `correlation_id` first and update it (work notes), else create it; read it back by `sys_id`.
 * Tickets are records of what happened: there is nothing to undo.
 */
import { z } from "zod";
import { secretSchema } from "../../core/config-fields.ts";
import { call } from "./http.ts";
import type { Action, ActionContext } from "./types.ts";
import { defineSystem } from "./types.ts";

/** `playbooks.systems.servicenow` as parsed (declared once, below: `servicenowConfigSchema`). */
export type ServiceNowConfig = z.output<typeof servicenowConfigSchema>;

const input = z.strictObject({
  /** Stable key of the ticket (one per device incident); prefixed with `correlationPrefix:`. */
  correlationId: z.string().min(1),
  shortDescription: z.string().min(1).max(160),
  description: z.string().optional(),
  workNotes: z.string().optional(),
  urgency: z.enum(["1", "2", "3"]).default("2"),
  impact: z.enum(["1", "2", "3"]).default("2"),
  category: z.string().default("Network"),
  assignmentGroup: z.string().optional(),
  /** `6` resolved; absent leaves it. */
  state: z.string().optional(),
});
type Input = z.infer<typeof input>;
type Output = { sysId: string; number: string; created: boolean };

export interface ServiceNowClient {
  upsert(i: Input, ctx: ActionContext): Promise<Output>;
}

export function serviceNowClient(config: ServiceNowConfig): ServiceNowClient & {
  get(sysId: string, ctx: ActionContext): Promise<Record<string, unknown> | undefined>;
} {
  const auth = () =>
    `Basic ${Buffer.from(`${config.username}:${config.password.reveal()}`).toString("base64")}`;
  const send = (
    ctx: ActionContext,
    method: "GET" | "POST" | "PATCH",
    path: string,
    context: string,
    body?: unknown,
  ) =>
    call(ctx, {
      system: "servicenow",
      method,
      url: new URL(path, config.baseUrl).toString(),
      headers: { authorization: auth() },
      body,
      secrets: [config.password],
      context,
    });
  return {
    async upsert(i, ctx) {
      const cid = `${config.correlationPrefix}:${i.correlationId}`;
      const q = new URLSearchParams({
        sysparm_query: `correlation_id=${cid}^active=true`,
        sysparm_limit: "1",
        sysparm_fields: "sys_id,number,state",
      });
      const found = await send(ctx, "GET", `/api/now/table/incident?${q}`, `finding the incident ${cid}`);
      const hit = ((found.body as { result?: { sys_id: string; number: string }[] })?.result ?? [])[0];
      if (hit) {
        const patch: Record<string, unknown> = {};
        if (i.workNotes) patch.work_notes = i.workNotes;
        if (i.state) patch.state = i.state;
        if (Object.keys(patch).length)
          await send(
            ctx,
            "PATCH",
            `/api/now/table/incident/${hit.sys_id}`,
            `updating incident ${hit.number}`,
            patch,
          );
        return { sysId: hit.sys_id, number: hit.number, created: false };
      }
      const created = await send(
        ctx,
        "POST",
        "/api/now/table/incident?sysparm_display_value=false&sysparm_exclude_reference_link=true",
        `creating the incident ${cid}`,
        {
          short_description: i.shortDescription,
          description: i.description,
          urgency: i.urgency,
          impact: i.impact,
          category: i.category,
          assignment_group: i.assignmentGroup ?? config.assignmentGroup,
          correlation_id: cid,
          correlation_display: "medsoc",
          work_notes: i.workNotes,
          ...(i.state ? { state: i.state } : {}),
        },
      );
      const r = (created.body as { result?: { sys_id: string; number: string } })?.result;
      if (!r?.sys_id) throw new Error(`creating the incident ${cid}: no sys_id in the answer`);
      return { sysId: r.sys_id, number: r.number, created: true };
    },
    async get(sysId, ctx) {
      const r = await send(ctx, "GET", `/api/now/table/incident/${sysId}`, `reading incident ${sysId}`);
      return (r.body as { result?: Record<string, unknown> })?.result;
    },
  };
}

export function serviceNowActions(config: ServiceNowConfig): Action[] {
  const client = serviceNowClient(config);
  const incident: Action<Input, Output> = {
    name: "servicenow.incident",
    description:
      "Create the ServiceNow incident of this correlation id, or add work notes to the open one; read it back.",
    kind: "ticket",
    input,
    async plan(i) {
      return {
        summary: `open or update the ServiceNow incident ${config.correlationPrefix}:${i.correlationId} ("${i.shortDescription}")`,
        calls: [
          {
            system: "servicenow",
            method: "GET",
            url: `${config.baseUrl}/api/now/table/incident?sysparm_query=correlation_id=${config.correlationPrefix}:${i.correlationId}^active=true`,
          },
          {
            system: "servicenow",
            method: "POST",
            url: `${config.baseUrl}/api/now/table/incident`,
            body: { short_description: i.shortDescription },
          },
        ],
      };
    },
    execute: (i, ctx) => client.upsert(i, ctx),
    async verify(i, o, ctx) {
      const got = await client.get(o.sysId, ctx);
      const ok = got?.correlation_id === `${config.correlationPrefix}:${i.correlationId}`;
      return ok
        ? { ok, detail: `incident ${o.number} exists with correlation id ${String(got?.correlation_id)}` }
        : { ok, detail: `incident ${o.number} not found or has another correlation id` };
    },
  };
  return [incident as Action];
}

const url = z.string().url();

/** `playbooks.systems.servicenow`: ServiceNow incidents (every run's ticket). */
export const servicenowConfigSchema = z.strictObject({
  baseUrl: url,
  username: z.string().min(1),
  password: secretSchema,
  /** @defaultValue "Clinical Engineering" */
  assignmentGroup: z.string().default("Clinical Engineering"),
  /** @defaultValue "medsoc" */
  correlationPrefix: z.string().default("medsoc"),
});

/** ServiceNow incidents (every run's ticket): the one declaration of this system (settings, actions). */
export const servicenowSystem = defineSystem({
  id: "servicenow",
  title: "ServiceNow incidents (every run's ticket).",
  config: servicenowConfigSchema,
  actions: ["servicenow.incident"],
  create: (config) => serviceNowActions(config),
});
