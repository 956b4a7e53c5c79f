/**
 * A simulated PagerDuty Events API v2 (response.md §12, `data/vendors/pagerduty/events_v2_shapes.json`):
 * `POST /v2/enqueue` with the routing key in the body; 202 `{status, message, dedup_key}`; 400 with
 * the list of problems; incidents de-duplicated by `dedup_key` (trigger opens once, resolve closes).
 */
import { randomBytes } from "node:crypto";
import { json, type LoopbackServer, type SimReply, startLoopback } from "./common.ts";

export interface PagerDutySimulator extends LoopbackServer {
  routingKey: string;
  /** dedup_key → open/resolved and every event received for it. */
  incidents: Map<string, { status: "triggered" | "resolved"; events: Record<string, unknown>[] }>;
}

const SEVERITIES = ["critical", "error", "warning", "info"];

export async function startPagerDutySimulator(options: { port?: number } = {}): Promise<PagerDutySimulator> {
  const routingKey = randomBytes(16).toString("hex");
  const incidents: PagerDutySimulator["incidents"] = new Map();
  const base = await startLoopback(
    (req): SimReply => {
      if (req.path !== "/v2/enqueue" || req.method !== "POST")
        return { status: 404, body: { status: "invalid", message: "Not found" } };
      const b = json(req.body);
      if (!b)
        return {
          status: 400,
          body: { status: "invalid event", message: "Event object is invalid", errors: ["Invalid JSON"] },
        };
      const errors: string[] = [];
      if (b.routing_key !== routingKey) errors.push("'routing_key' is invalid");
      const action = b.event_action as string;
      if (!["trigger", "acknowledge", "resolve"].includes(action)) errors.push("'event_action' is invalid");
      const p = (b.payload ?? {}) as Record<string, unknown>;
      if (action === "trigger") {
        if (typeof p.summary !== "string" || !p.summary) errors.push("'payload.summary' is missing or blank");
        if (typeof p.source !== "string" || !p.source) errors.push("'payload.source' is missing or blank");
        if (!SEVERITIES.includes(p.severity as string)) errors.push("'payload.severity' is invalid");
      } else if (typeof b.dedup_key !== "string")
        errors.push("'dedup_key' is required for acknowledge/resolve");
      if (typeof b.dedup_key === "string" && b.dedup_key.length > 255) errors.push("'dedup_key' is too long");
      if (errors.length)
        return { status: 400, body: { status: "invalid event", message: "Event object is invalid", errors } };
      const key = (b.dedup_key as string | undefined) ?? randomBytes(16).toString("hex");
      const inc = incidents.get(key) ?? { status: "triggered" as const, events: [] };
      inc.events.push(b);
      if (action === "trigger") inc.status = "triggered";
      if (action === "resolve") inc.status = "resolved";
      incidents.set(key, inc);
      return { status: 202, body: { status: "success", message: "Event processed", dedup_key: key } };
    },
    { port: options.port },
  );
  return Object.assign(base, { routingKey, incidents });
}
