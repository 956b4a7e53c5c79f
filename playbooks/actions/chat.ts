/**
 * Slack and Microsoft Teams messages (response.md §13): a Slack incoming webhook (`text` + blocks,
 * answers `ok`) and a Teams Workflows webhook with an Adaptive Card. Webhook URLs are secrets. Used
 * for run notices (`chat.message`) and for approval requests with signed approve/deny links.
 */
import { z } from "zod";
import { secretSchema } from "../../core/config-fields.ts";
import type { Secret } from "../../core/secret.ts";
import { call } from "./http.ts";
import type { Action, ActionContext } from "./types.ts";
import { defineSystem } from "./types.ts";

export interface ChatConfig {
  slackWebhookUrl?: Secret;
  teamsWebhookUrl?: Secret;
}

export interface ChatLink {
  text: string;
  url: string;
}

export class ChatClient {
  constructor(readonly c: ChatConfig) {}
  get channels(): ("slack" | "teams")[] {
    return [
      ...(this.c.slackWebhookUrl ? ["slack" as const] : []),
      ...(this.c.teamsWebhookUrl ? ["teams" as const] : []),
    ];
  }
  async post(
    ctx: Pick<ActionContext, "record" | "signal">,
    text: string,
    links: ChatLink[] = [],
    only?: ("slack" | "teams")[],
  ): Promise<string[]> {
    const sent: string[] = [];
    const want = only ?? this.channels;
    if (this.c.slackWebhookUrl && want.includes("slack")) {
      const blocks: unknown[] = [{ type: "section", text: { type: "mrkdwn", text } }];
      if (links.length)
        blocks.push({
          type: "actions",
          elements: links.map((l) => ({
            type: "button",
            text: { type: "plain_text", text: l.text },
            url: l.url,
          })),
        });
      await call(ctx, {
        system: "slack",
        method: "POST",
        url: this.c.slackWebhookUrl.reveal(),
        body: { text, blocks },
        json: false,
        secrets: [this.c.slackWebhookUrl, ...links.map((l) => l.url)],
        context: "posting to slack",
      });
      sent.push("slack");
    }
    if (this.c.teamsWebhookUrl && want.includes("teams")) {
      await call(ctx, {
        system: "teams",
        method: "POST",
        url: this.c.teamsWebhookUrl.reveal(),
        body: {
          type: "message",
          attachments: [
            {
              contentType: "application/vnd.microsoft.card.adaptive",
              content: {
                $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
                type: "AdaptiveCard",
                version: "1.4",
                body: [{ type: "TextBlock", text, wrap: true }],
                actions: links.map((l) => ({ type: "Action.OpenUrl", title: l.text, url: l.url })),
              },
            },
          ],
        },
        json: false,
        secrets: [this.c.teamsWebhookUrl, ...links.map((l) => l.url)],
        context: "posting to teams",
      });
      sent.push("teams");
    }
    return sent;
  }
}

const input = z.strictObject({
  text: z.string().min(1).max(3000),
  channels: z.array(z.enum(["slack", "teams"])).optional(),
});

export function chatActions(client: ChatClient): Action[] {
  const message: Action<z.infer<typeof input>, { sent: string[] }> = {
    name: "chat.message",
    description: "Post a message to the configured Slack and Teams webhooks.",
    kind: "notify",
    input,
    async plan(i) {
      return {
        summary: `post "${i.text.slice(0, 80)}" to ${(i.channels ?? client.channels).join(", ") || "no channel"}`,
        calls: [],
      };
    },
    async execute(i, ctx) {
      return { sent: await client.post(ctx, i.text, [], i.channels) };
    },
    async verify(_i, o) {
      return {
        ok: true,
        detail: `webhooks accepted the message (${o.sent.join(", ") || "no channel configured"}); chat webhooks have no read-back`,
      };
    },
  };
  return [message as Action];
}

/** `playbooks.systems.slack`: Slack incoming webhook (run notices in a channel). */
export const slackConfigSchema = z.strictObject({ webhookUrl: secretSchema });

/** Slack incoming webhook (run notices in a channel): the one declaration of this system (settings, actions). */
export const slackSystem = defineSystem({
  id: "slack",
  title: "Slack incoming webhook (run notices in a channel).",
  config: slackConfigSchema,
  actions: [],
});

/** `playbooks.systems.teams`: Microsoft Teams Workflows webhook (run notices in a channel). */
export const teamsConfigSchema = z.strictObject({ webhookUrl: secretSchema });

/** Microsoft Teams Workflows webhook (run notices in a channel): the one declaration of this system (settings, actions). */
export const teamsSystem = defineSystem({
  id: "teams",
  title: "Microsoft Teams Workflows webhook (run notices in a channel).",
  config: teamsConfigSchema,
  actions: [],
});
