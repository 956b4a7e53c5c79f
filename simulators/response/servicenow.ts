/**
 * A simulated ServiceNow Table API for incidents (response.md §11,
 * `data/vendors/servicenow/table_api_shapes.json`): Basic auth, `GET /api/now/table/incident` with
 * `sysparm_query=correlation_id=<id>^active=true` and `sysparm_limit`, `POST` (201 `{result}` with
 * `sys_id`, `number`, `state`), `PATCH /api/now/table/incident/{sys_id}` (work notes append), `GET`
 * by sys_id; errors as `{"error":{"message","detail"},"status":"failure"}`.
 */
import { randomBytes } from "node:crypto";
import { basicUser, json, type LoopbackServer, type SimReply, startLoopback } from "./common.ts";

export interface Incident {
  sys_id: string;
  number: string;
  state: string;
  active: string;
  short_description: string;
  description?: string;
  urgency?: string;
  impact?: string;
  category?: string;
  assignment_group?: string;
  correlation_id?: string;
  correlation_display?: string;
  work_notes_list: string[];
}

export interface ServiceNowSimulator extends LoopbackServer {
  username: string;
  password: string;
  incidents: Map<string, Incident>;
}

const failure = (status: number, message: string): SimReply => ({
  status,
  body: { error: { message, detail: null }, status: "failure" },
});

export async function startServiceNowSimulator(
  options: { port?: number } = {},
): Promise<ServiceNowSimulator> {
  const username = "medsoc.integration";
  const password = "snow-password-sim";
  const incidents = new Map<string, Incident>();
  let seq = 10000;
  const view = (i: Incident) => {
    const { work_notes_list, ...rest } = i;
    return { ...rest, work_notes: work_notes_list.join("\n") };
  };
  const base = await startLoopback(
    (req): SimReply => {
      const u = basicUser(req.headers);
      if (!u || u.user !== username || u.password !== password) return failure(401, "User Not Authenticated");
      if (req.path === "/api/now/table/incident" && req.method === "GET") {
        const q = req.query.get("sysparm_query") ?? "";
        const conds = q
          .split("^")
          .filter(Boolean)
          .map((c) => c.split("=") as [string, string]);
        const limit = Number(req.query.get("sysparm_limit") ?? 10000);
        const rows = [...incidents.values()].filter((i) =>
          conds.every(([k, v]) => String((i as unknown as Record<string, unknown>)[k] ?? "") === v),
        );
        return {
          status: 200,
          body: { result: rows.slice(0, limit).map(view) },
          headers: { "x-total-count": String(rows.length) },
        };
      }
      if (req.path === "/api/now/table/incident" && req.method === "POST") {
        const b = json(req.body);
        if (!b || typeof b.short_description !== "string")
          return failure(400, "short_description is mandatory");
        const inc: Incident = {
          sys_id: randomBytes(16).toString("hex"),
          number: `INC00${++seq}`,
          state: "1",
          active: "true",
          short_description: b.short_description,
          description: b.description as string | undefined,
          urgency: b.urgency as string | undefined,
          impact: b.impact as string | undefined,
          category: b.category as string | undefined,
          assignment_group: b.assignment_group as string | undefined,
          correlation_id: b.correlation_id as string | undefined,
          correlation_display: b.correlation_display as string | undefined,
          work_notes_list: typeof b.work_notes === "string" ? [b.work_notes] : [],
        };
        incidents.set(inc.sys_id, inc);
        return { status: 201, body: { result: view(inc) } };
      }
      const m = /^\/api\/now\/table\/incident\/([0-9a-f]{32})$/.exec(req.path);
      if (m) {
        const inc = incidents.get(m[1] as string);
        if (!inc) return failure(404, "No Record found");
        if (req.method === "GET") return { status: 200, body: { result: view(inc) } };
        if (req.method === "PATCH" || req.method === "PUT") {
          const b = json(req.body) ?? {};
          for (const k of ["state", "short_description", "description", "urgency", "impact"] as const)
            if (typeof b[k] === "string") inc[k] = b[k] as string;
          if (typeof b.work_notes === "string") inc.work_notes_list.push(b.work_notes);
          if (inc.state === "6" || inc.state === "7") inc.active = "false";
          return { status: 200, body: { result: view(inc) } };
        }
      }
      return failure(400, `Invalid resource ${req.method} ${req.path}`);
    },
    { port: options.port, unauthorizedBody: failure(401, "User Not Authenticated") },
  );
  return Object.assign(base, { username, password, incidents });
}
