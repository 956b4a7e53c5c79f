/**
 * Every response system of the simulated hospital on loopback (NAC, firewall, vault, pump
 * management server, ServiceNow, PagerDuty, Slack/Teams), and the `playbooks.systems` config that
 * points medsoc's actions at them.
 */
import type { Fleet } from "../fleet/fleet.ts";
import { type ChatSimulator, startChatSimulator } from "./chat.ts";
import { type DeviceManagerSimulator, startDeviceManagerSimulator } from "./device-manager.ts";
import { type IseSimulator, startIseSimulator } from "./ise.ts";
import { type PagerDutySimulator, startPagerDutySimulator } from "./pagerduty.ts";
import { type PanosSimulator, startPanosSimulator } from "./panos.ts";
import { type ServiceNowSimulator, startServiceNowSimulator } from "./servicenow.ts";
import { startVaultSimulator, type VaultSimulator } from "./vault.ts";

export interface ResponseSystems {
  ise: IseSimulator;
  panos: PanosSimulator;
  vault: VaultSimulator;
  devices: DeviceManagerSimulator;
  servicenow: ServiceNowSimulator;
  pagerduty: PagerDutySimulator;
  chat: ChatSimulator;
  /** Raw `playbooks.systems` config for these simulators (parse it with the config schema). */
  systemsConfig(options?: { vaultAuth?: "token" | "approle" }): Record<string, unknown>;
  stop(): Promise<void>;
}

/**
 * Starts the response simulators. With a fleet, ISE knows every fleet MAC and the management
 * server knows which devices have hard-coded credentials.
 */
export async function startResponseSystems(
  options: { fleet?: Fleet; knownDevices?: number } = {},
): Promise<ResponseSystems> {
  const fleet = options.fleet;
  const n = fleet ? Math.min(fleet.size, options.knownDevices ?? fleet.size) : 0;
  const macs: string[] = [];
  const hardCoded: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = (fleet as Fleet).facts(i);
    macs.push(f.mac);
    if (f.credential.kind === "hard_coded") hardCoded.push(f.mac.replace(/:/g, "-"));
  }
  const [ise, panos, vault, devices, servicenow, pagerduty, chat] = await Promise.all([
    startIseSimulator({ endpoints: macs }),
    startPanosSimulator(),
    startVaultSimulator(),
    startDeviceManagerSimulator(),
    startServiceNowSimulator(),
    startPagerDutySimulator(),
    startChatSimulator(),
  ]);
  for (const m of hardCoded) devices.hardCoded.add(m);
  return {
    ise,
    panos,
    vault,
    devices,
    servicenow,
    pagerduty,
    chat,
    systemsConfig: (o = {}) => ({
      ise: { baseUrl: ise.url, username: ise.username, password: ise.password },
      panos: {
        baseUrl: panos.url,
        username: panos.username,
        password: panos.password,
        timeoutSeconds: 86_400,
      },
      vault:
        o.vaultAuth === "approle"
          ? { baseUrl: vault.url, appRole: { roleId: vault.roleId, secretId: vault.secretId } }
          : { baseUrl: vault.url, token: vault.token },
      deviceCredentials: { type: "http", baseUrl: devices.url, token: devices.token },
      servicenow: { baseUrl: servicenow.url, username: servicenow.username, password: servicenow.password },
      pagerduty: { url: `${pagerduty.url}/v2/enqueue`, routingKey: pagerduty.routingKey },
      slack: { webhookUrl: chat.slackUrl },
      teams: { webhookUrl: chat.teamsUrl },
    }),
    stop: async () => {
      await Promise.all([ise, panos, vault, devices, servicenow, pagerduty, chat].map((s) => s.stop()));
    },
  };
}

/** `playbooks.clinicalServers` for a fleet: the servers of each `<site>/<device class>`. */
export function clinicalServersOf(fleet: Fleet, limit = 20_000): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < Math.min(fleet.size, limit); i++) {
    const f = fleet.facts(i);
    if (f.clinicalServers.length) out[`${f.site.name}/${f.deviceClass}`] ??= f.clinicalServers;
  }
  return out;
}
