/**
 * Simulated chat webhooks (response.md §13, `data/vendors/slack_teams/webhook_shapes.json`): a Slack
 * incoming webhook (`POST /services/T…/B…/…` → 200 `ok`; 400 `invalid_payload`; 404 `no_service`
 * for an unknown path) and a Teams Workflows webhook taking an Adaptive Card message (202). Besides
 * the shared channel's webhooks, `personal()` adds a webhook that posts into one person's direct
 * message (Slack) or chat (Teams): each answers like a channel webhook and keeps its own messages.
 */
import { randomBytes } from "node:crypto";
import { json, type LoopbackServer, type SimReply, startLoopback } from "./common.ts";

export interface ChatSimulator extends LoopbackServer {
  slackUrl: string;
  teamsUrl: string;
  slack: Record<string, unknown>[];
  teams: Record<string, unknown>[];
  /** Adds a personal webhook for `person`; returns its (secret) URL. */
  personal(kind: "slack" | "teams", person: string): string;
  /** Messages each person received on their personal webhooks. */
  direct: Map<string, Record<string, unknown>[]>;
}

export async function startChatSimulator(options: { port?: number } = {}): Promise<ChatSimulator> {
  const slackPath = `/services/T${randomBytes(4).toString("hex").toUpperCase()}/B${randomBytes(4).toString("hex").toUpperCase()}/${randomBytes(12).toString("hex")}`;
  const teamsPath = `/workflows/${randomBytes(8).toString("hex")}/triggers/manual/paths/invoke`;
  const slack: Record<string, unknown>[] = [];
  const teams: Record<string, unknown>[] = [];
  const direct = new Map<string, Record<string, unknown>[]>();
  const personalPaths = new Map<string, { kind: "slack" | "teams"; person: string }>();
  const base = await startLoopback(
    (req): SimReply => {
      if (req.method !== "POST") return { status: 405, text: "method_not_allowed" };
      const b = json(req.body);
      const mine = personalPaths.get(req.path);
      const inbox = (person: string) => {
        const list = direct.get(person) ?? [];
        direct.set(person, list);
        return list;
      };
      if (req.path === slackPath || mine?.kind === "slack") {
        if (!b || (typeof b.text !== "string" && !Array.isArray(b.blocks)))
          return { status: 400, text: "invalid_payload" };
        (mine ? inbox(mine.person) : slack).push(b);
        return { status: 200, text: "ok" };
      }
      if (req.path === teamsPath || mine?.kind === "teams") {
        const att = (b?.attachments as { contentType?: string }[] | undefined)?.[0];
        if (b?.type !== "message" || att?.contentType !== "application/vnd.microsoft.card.adaptive")
          return {
            status: 400,
            body: { error: { code: "InvalidRequestContent", message: "not an Adaptive Card message" } },
          };
        (mine ? inbox(mine.person) : teams).push(b);
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
    direct,
    personal(kind: "slack" | "teams", person: string) {
      const path =
        kind === "slack"
          ? `/services/T${randomBytes(4).toString("hex").toUpperCase()}/B${randomBytes(4).toString("hex").toUpperCase()}/${randomBytes(12).toString("hex")}`
          : `/workflows/${randomBytes(8).toString("hex")}/triggers/manual/paths/invoke`;
      personalPaths.set(path, { kind, person });
      return `${base.url}${path}`;
    },
  });
}
