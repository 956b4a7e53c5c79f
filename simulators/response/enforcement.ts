/**
 * The second set of response systems on loopback — Aruba ClearPass, FortiGate, Armis tags, Claroty
 * xDome custom attributes, Forescout DEX + Web API, CyberArk PVWA — seeded from a fleet (every
 * device's MAC, IP, Armis id, xDome uid; a PVWA account per device service user), and the
 * `playbooks.systems` entries that point medsoc's actions at them. Kept beside
 * `startResponseSystems` (`index.ts`) rather than inside it, so deployments and tests opt in.
 */
import type { Fleet } from "../fleet/fleet.ts";
import { type ArmisTagSimulator, startArmisTagSimulator } from "./armis-tags.ts";
import { type ClearPassSimulator, startClearPassSimulator } from "./clearpass.ts";
import { type CyberArkSimulator, startCyberArkSimulator } from "./cyberark.ts";
import { type ForescoutResponseSimulator, startForescoutResponseSimulator } from "./forescout.ts";
import { type FortiGateSimulator, startFortiGateSimulator } from "./fortigate.ts";
import { startXDomeAttributeSimulator, type XDomeAttributeSimulator } from "./xdome.ts";

export interface ExtendedResponseSystems {
  clearpass: ClearPassSimulator;
  fortigate: FortiGateSimulator;
  armis: ArmisTagSimulator;
  xdome: XDomeAttributeSimulator;
  forescout: ForescoutResponseSimulator;
  cyberark: CyberArkSimulator;
  /** Raw `playbooks.systems` entries for these simulators (merge into the other systems' config). */
  systemsConfig(options?: { pollIntervalMs?: number; pollTimeoutMs?: number }): Record<string, unknown>;
  stop(): Promise<void>;
}

/** PVWA account id of fleet device `i` (`<safe index>_<device id>`, PVWA's id form). */
export const pvwaAccountId = (deviceId: number) => `12_${deviceId}`;

export async function startExtendedResponseSystems(
  options: { fleet?: Fleet; knownDevices?: number } = {},
): Promise<ExtendedResponseSystems> {
  const fleet = options.fleet;
  const n = fleet ? Math.min(fleet.size, options.knownDevices ?? fleet.size) : 0;
  const facts = Array.from({ length: n }, (_, i) => (fleet as Fleet).facts(i));
  const [clearpass, fortigate, armis, xdome, forescout, cyberark] = await Promise.all([
    startClearPassSimulator({ macs: facts.map((f) => f.mac) }),
    startFortiGateSimulator(),
    startArmisTagSimulator({
      devices: facts.map((f) => ({ id: f.id, macAddress: f.mac, ipAddress: f.ip, name: f.name })),
    }),
    startXDomeAttributeSimulator({
      devices: facts.map((f) => ({ uid: f.uid, mac_list: [f.mac], ip_list: [f.ip], device_name: f.name })),
    }),
    startForescoutResponseSimulator({ hosts: facts.map((f) => ({ ip: f.ip, mac: f.mac })) }),
    startCyberArkSimulator({
      accounts: facts.map((f) => ({
        id: pvwaAccountId(f.id),
        userName: f.credential.username,
        address: f.ip,
      })),
    }),
  ]);
  return {
    clearpass,
    fortigate,
    armis,
    xdome,
    forescout,
    cyberark,
    systemsConfig: (o = {}) => ({
      clearpass: {
        baseUrl: clearpass.url,
        clientId: clearpass.clientId,
        clientSecret: clearpass.clientSecret,
      },
      fortigate: { baseUrl: fortigate.url, token: fortigate.token },
      armis: { baseUrl: armis.url, secretKey: armis.secret },
      xdome: { baseUrl: xdome.url, token: xdome.token },
      forescout: {
        baseUrl: forescout.url,
        dexUsername: forescout.dexUsername,
        dexPassword: forescout.dexPassword,
        webUsername: forescout.webUsername,
        webPassword: forescout.webPassword,
      },
      cyberark: {
        baseUrl: cyberark.url,
        username: cyberark.username,
        password: cyberark.password,
        safe: "IoMT-Pumps",
        pollIntervalMs: o.pollIntervalMs ?? 100,
        pollTimeoutMs: o.pollTimeoutMs ?? 10_000,
      },
    }),
    stop: async () => {
      await Promise.all([clearpass, fortigate, armis, xdome, forescout, cyberark].map((s) => s.stop()));
    },
  };
}
