/**
 * The action registry of a deployment: an explicit list built from the configured systems (no
 * side-effect imports). Playbooks are validated against {@link ACTION_CATALOGUE} (every action medsoc
 * has), and a step whose system is not configured fails at run time with a clear message; playbooks
 * guard such steps with `when: systems.<name>`.
 */
import type { SystemsConfig } from "../config.ts";
import type { DeviceDirectory } from "../engine/devices.ts";
import { armisTagActions } from "./armis.ts";
import { ChatClient, chatActions } from "./chat.ts";
import { clearPassActions } from "./clearpass.ts";
import { containActions } from "./contain.ts";
import { credentialActions } from "./credentials.ts";
import { cyberArkActions } from "./cyberark.ts";
import { type CredentialTarget, HttpCredentialTarget, ManualCredentialTarget } from "./device-credential.ts";
import { forescoutActions } from "./forescout.ts";
import { fortiGateActions } from "./fortigate.ts";
import { iseActions } from "./ise.ts";
import { lookupActions } from "./lookup.ts";
import { pagerDutyActions } from "./pagerduty.ts";
import { panosActions } from "./panos.ts";
import { serviceNowActions, serviceNowClient } from "./servicenow.ts";
import { ActionRegistry, type AnyAction } from "./types.ts";
import { VaultClient } from "./vault.ts";
import { xdomeActions } from "./xdome.ts";

/** Every action medsoc ships, by name → the system it needs (`null`: none). */
export const ACTION_CATALOGUE: Record<string, keyof SystemsConfig | null> = {
  "device.assess": null,
  "contain.apply": null,
  "contain.release": null,
  "credential.group": null,
  "ise.quarantine": "ise",
  "ise.release": "ise",
  "panos.tag": "panos",
  "panos.untag": "panos",
  "credential.rotate": "vault",
  "servicenow.incident": "servicenow",
  "pagerduty.event": "pagerduty",
  "chat.message": null,
  "run.schedule": null,
  "clearpass.quarantine": "clearpass",
  "clearpass.release": "clearpass",
  "fortigate.quarantine": "fortigate",
  "fortigate.release": "fortigate",
  "armis.tag": "armis",
  "armis.untag": "armis",
  "xdome.mark": "xdome",
  "xdome.unmark": "xdome",
  "forescout.mark": "forescout",
  "forescout.unmark": "forescout",
  "cyberark.change": "cyberark",
  "cyberark.verify": "cyberark",
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
  if (systems.ise) list.push(...iseActions(systems.ise));
  if (systems.panos) list.push(...panosActions(systems.panos));
  if (systems.servicenow) list.push(...serviceNowActions(systems.servicenow));
  if (systems.pagerduty) list.push(...pagerDutyActions(systems.pagerduty));
  if (systems.clearpass) list.push(...clearPassActions(systems.clearpass));
  if (systems.fortigate) list.push(...fortiGateActions(systems.fortigate));
  if (systems.armis) list.push(...armisTagActions(systems.armis));
  if (systems.xdome) list.push(...xdomeActions(systems.xdome));
  if (systems.forescout) list.push(...forescoutActions(systems.forescout));
  if (systems.cyberark) list.push(...cyberArkActions(systems.cyberark));
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
