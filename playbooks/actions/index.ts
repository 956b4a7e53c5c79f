/**
 * The action registry of a deployment: an explicit list built from the configured systems (no
 * side-effect imports). Playbooks are validated against {@link ACTION_CATALOGUE} (every action medsoc
 * has), and a step whose system is not configured fails at run time with a clear message; playbooks
 * guard such steps with `when: systems.<name>`.
 */
import type { SystemsConfig } from "../config.ts";
import type { DeviceDirectory } from "../engine/devices.ts";
import { ChatClient, chatActions } from "./chat.ts";
import { containActions } from "./contain.ts";
import { credentialActions } from "./credentials.ts";
import { type CredentialTarget, HttpCredentialTarget, ManualCredentialTarget } from "./device-credential.ts";
import { lookupActions } from "./lookup.ts";
import { serviceNowClient } from "./servicenow.ts";
import { ACTION_SYSTEMS, SYSTEM_ACTIONS } from "./systems.ts";
import { ActionRegistry, type ActionSystem, type AnyAction } from "./types.ts";
import { VaultClient } from "./vault.ts";

/** Actions every deployment has (no outside system of their own). */
const GENERIC_ACTIONS = [
  "device.assess",
  "contain.apply",
  "contain.release",
  "credential.group",
  "chat.message",
  "run.schedule",
] as const;

/** Every action medsoc ships, by name → the system it needs (`null`: none); derived from `systems.ts`. */
export const ACTION_CATALOGUE: Record<string, keyof SystemsConfig | null> = {
  ...Object.fromEntries(GENERIC_ACTIONS.map((a) => [a, null])),
  ...(SYSTEM_ACTIONS as Record<string, keyof SystemsConfig>),
};

export interface BuiltActions {
  registry: ActionRegistry;
  /** Configured systems, for `when: systems.<name>`. */
  systems: Record<string, boolean>;
  chat: ChatClient;
}

export function createActions(systems: SystemsConfig, directory: DeviceDirectory): BuiltActions {
  const list: AnyAction[] = [...lookupActions(directory)];
  const chat = new ChatClient({
    slackWebhookUrl: systems.slack?.webhookUrl,
    teamsWebhookUrl: systems.teams?.webhookUrl,
  });
  list.push(...chatActions(chat));
  // Every declared system with its own actions, when configured (systems.ts).
  for (const system of ACTION_SYSTEMS as readonly ActionSystem[]) {
    const config = systems[system.id as keyof SystemsConfig];
    if (config !== undefined && system.create) list.push(...system.create(config));
  }
  if (systems.vault && systems.deviceCredentials) {
    let target: CredentialTarget;
    const dc = systems.deviceCredentials;
    if (dc.type === "http") target = new HttpCredentialTarget({ baseUrl: dc.baseUrl, token: dc.token });
    else {
      const sn = systems.servicenow ? serviceNowClient(systems.servicenow) : undefined;
      target = new ManualCredentialTarget(async (d, checklist, ctx) => {
        if (!sn)
          throw new Error("manual credential rotation needs playbooks.systems.servicenow for its tickets");
        const r = await sn.upsert(
          {
            correlationId: `rotate:${d.key}`,
            shortDescription: `Rotate the service credential of ${d.name ?? d.key}`,
            description: checklist.map((c, n) => `${n + 1}. ${c}`).join("\n"),
            urgency: "2",
            impact: "2",
            category: "Clinical Engineering",
          },
          ctx,
        );
        return r.number;
      });
    }
    list.push(...credentialActions(new VaultClient(systems.vault), target));
  }
  const configured: Record<string, boolean> = {};
  for (const k of Object.keys(systems) as (keyof SystemsConfig)[]) configured[k] = systems[k] !== undefined;
  configured.chat = chat.channels.length > 0;
  const registry = new ActionRegistry(list);
  // The fan-out over whichever enforcement points are configured (none: its runs fail, saying so).
  for (const a of containActions(systems, registry)) registry.register(a);
  return { registry, systems: configured, chat };
}
