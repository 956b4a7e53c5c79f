/**
 * The simulated hospital: one fleet, every monitor simulator that is enabled serving the same
 * devices (same MACs, serials, IPs, names) in its own vendor's API shape, so cross-monitor
 * correlation can be tested and `npm start` shows the whole product without vendor accounts.
 *
 * Every registered monitor (`monitors/index.ts`) is part of it: {@link HOSPITAL_MONITORS} starts each
 * definition's simulator over the shared fleet and returns the connector config pointing at it.
 */
import { monitors } from "../monitors/index.ts";
import { createFleet, type Fleet, STEP_US, TIE_GROUP } from "./fleet/fleet.ts";
import type { PushTargets, RunningSimulator } from "./monitor.ts";
import { type ForwardedVendor, forwardAlertsOverSyslog } from "./syslog-forwarder.ts";

export type { PushTargets } from "./monitor.ts";

/** A running monitor simulator, as the hospital sees it. */
export interface HospitalMonitor extends RunningSimulator {
  /** Connector type (`armis`, `claroty_xdome`, …): part of the CLI contract. */
  source: string;
  /**
   * For monitors (or streams) that push instead of being polled (Cynerio events, Forescout host
   * push, syslog forwarding): sends this monitor's pushed records for the fleet to medsoc's
   * receivers and resolves with the number of records sent. The embedded default calls it once
   * the receivers listen. Omitted by pull-only monitors.
   */
  push?(targets: PushTargets): Promise<number>;
}

export type HospitalMonitorStarter = (fleet: Fleet) => Promise<HospitalMonitor>;

/**
 * Every monitor the hospital can run, by connector type: each monitor definition's simulator
 * (`monitors/<id>/simulator.ts`) started over the shared fleet.
 */
export const HOSPITAL_MONITORS: Record<string, HospitalMonitorStarter> = Object.fromEntries(
  monitors.map((m): [string, HospitalMonitorStarter] => [
    m.id,
    async (fleet) => ({ source: m.id, ...(await (await m.simulator.load()).start({ fleet })) }),
  ]),
);

export interface HospitalOptions {
  /** Fleet size. @defaultValue 3000 */
  devices?: number;
  /** @defaultValue 1 */
  seed?: number;
  /** `lastSeen` of device 0. @defaultValue so that the newest device was seen one second ago */
  startMs?: number;
  /** Monitors to start. @defaultValue every entry of {@link HOSPITAL_MONITORS} */
  monitors?: string[];
  /**
   * Monitors (`claroty_xdome`, `nozomi`) whose alerts are also forwarded as CEF over syslog by their
   * `push` (`simulators/syslog-forwarder.ts`). Off by default: those alerts are polled too, so
   * forwarding indexes each alert a second time under another document id.
   * @defaultValue []
   */
  syslogForward?: ForwardedVendor[];
}

export interface Hospital {
  fleet: Fleet;
  monitors: HospitalMonitor[];
  stop(): Promise<void>;
}

/** Starts the fleet and its monitor simulators on loopback. */
export async function startHospital(options: HospitalOptions = {}): Promise<Hospital> {
  const size = options.devices ?? 3000;
  const spanMs = Math.ceil((Math.floor(Math.max(0, size - 1) / TIE_GROUP) * STEP_US) / 1000);
  const fleet = createFleet({
    size,
    seed: options.seed ?? 1,
    startMs: options.startMs ?? Date.now() - spanMs - 1000,
  });
  const names = options.monitors ?? Object.keys(HOSPITAL_MONITORS);
  const monitors: HospitalMonitor[] = [];
  try {
    for (const name of names) {
      const start = HOSPITAL_MONITORS[name];
      if (!start)
        throw new Error(`unknown monitor "${name}" (known: ${Object.keys(HOSPITAL_MONITORS).join(", ")})`);
      const monitor = await start(fleet);
      const forward = options.syslogForward?.find((v) => v === monitor.source);
      if (forward !== undefined) {
        const own = monitor.push?.bind(monitor);
        monitor.push = async (targets) =>
          (own ? await own(targets) : 0) + (await forwardAlertsOverSyslog(fleet, targets, [forward]));
      }
      monitors.push(monitor);
    }
  } catch (error) {
    await Promise.allSettled(monitors.map((m) => m.stop()));
    throw error;
  }
  return {
    fleet,
    monitors,
    stop: async () => {
      await Promise.allSettled(monitors.map((m) => m.stop()));
    },
  };
}
