/**
 * Simulated chat webhooks (response.md §13, `data/vendors/slack_teams/webhook_shapes.json`): a Slack
 * incoming webhook (`POST /services/T…/B…/…` → 200 `ok`; 400 `invalid_payload`; 404 `no_service`
 * for an unknown path) and a Teams Workflows webhook taking an Adaptive Card message (202).
 */
import { randomBytes } from "node:crypto";
import { json, type LoopbackServer, type SimReply, startLoopback } from "./common.ts";

export interface ChatSimulator extends LoopbackServer {
  slackUrl: string;
  teamsUrl: string;
  slack: Record<string, unknown>[];
  teams: Record<string, unknown>[];
}

export async function startChatSimulator(options: { port?: number } = {}): Promise<ChatSimulator> {
  const slackPath = `/services/T${randomBytes(4).toString("hex").toUpperCase()}/B${randomBytes(4).toString("hex").toUpperCase()}/${randomBytes(12).toString("hex")}`;
  const teamsPath = `/workflows/${randomBytes(8).toString("hex")}/triggers/manual/paths/invoke`;
  const slack: Record<string, unknown>[] = [];
  const teams: Record<string, unknown>[] = [];
  const base = await startLoopback(
    (req): SimReply => {
      if (req.method !== "POST") return { status: 405, text: "method_not_allowed" };
      const b = json(req.body);
      if (req.path === slackPath) {
        if (!b || (typeof b.text !== "string" && !Array.isArray(b.blocks)))
          return { status: 400, text: "invalid_payload" };
        slack.push(b);
        return { status: 200, text: "ok" };
      }
      if (req.path === teamsPath) {
        const att = (b?.attachments as { contentType?: string }[] | undefined)?.[0];
        if (b?.type !== "message" || att?.contentType !== "application/vnd.microsoft.card.adaptive")
          return {
            status: 400,
            body: { error: { code: "InvalidRequestContent", message: "not an Adaptive Card message" } },
          };
        teams.push(b);
        return { status: 202, text: "" };
      }
      return { status: 404, text: "no_service" };
    },
    { port: options.port },
  );
  return Object.assign(base, {
    slackUrl: `${base.url}${slackPath}`,
    teamsUrl: `${base.url}${teamsPath}`,
    slack,
    teams,
  });
}
