/**
 * The simulated hospital: one fleet, every monitor simulator that is enabled serving the same
 * devices (same MACs, serials, IPs, names) in its own vendor's API shape, so cross-monitor
 * correlation can be tested and `npm start` shows the whole product without vendor accounts.
 *
 * A monitor joins the hospital by adding one entry to {@link HOSPITAL_MONITORS}: a function that
 * starts its simulator over the shared fleet and returns the connector config pointing at it.
 */
import { startArmisSimulator } from "./armis/server.ts";
import { startAsimilySimulator } from "./asimily/server.ts";
import { startXDomeSimulator } from "./claroty_xdome/server.ts";
import { pushCynerioEvents } from "./cynerio/push.ts";
import { startCynerioSimulator } from "./cynerio/server.ts";
import { createFleet, type Fleet, STEP_US, TIE_GROUP } from "./fleet/fleet.ts";
import { pushForescoutHosts, startForescoutSimulator } from "./forescout/server.ts";
import { startNozomiSimulator } from "./nozomi/server.ts";
import { startPanwIotSimulator } from "./panw_iot/server.ts";
import { type ForwardedVendor, forwardAlertsOverSyslog } from "./syslog-forwarder.ts";

/** A running monitor simulator, as the hospital sees it. */
export interface HospitalMonitor {
  /** Connector type (`armis`, `claroty_xdome`, …): part of the CLI contract. */
  source: string;
  url: string;
  /** The connector config (`sources[].config`) that polls this simulator. */
  sourceConfig: Record<string, unknown>;
  /**
   * For monitors (or streams) that push instead of being polled (Cynerio events, Forescout host
   * push, syslog forwarding): sends this monitor's pushed records for the fleet to medsoc's
   * receivers and resolves with the number of records sent. The embedded default calls it once
   * the receivers listen. Omitted by pull-only monitors.
   */
  push?(targets: PushTargets): Promise<number>;
  stop(): Promise<void>;
}

/** Where medsoc's push receivers listen (the embedded default starts both on loopback). */
export interface PushTargets {
  /** HTTP push receiver base URL (`http://127.0.0.1:PORT`); the path per source is `/v1/push/<source>/<stream>`. */
  httpUrl?: string;
  /** Bearer token per source id for the HTTP push receiver. */
  httpTokens?: Record<string, string>;
  /** Syslog receiver (TCP, newline framing). */
  syslog?: { host: string; port: number };
}

export type HospitalMonitorStarter = (fleet: Fleet) => Promise<HospitalMonitor>;

/** Every monitor the hospital can run, by connector type. */
export const HOSPITAL_MONITORS: Record<string, HospitalMonitorStarter> = {
  armis: async (fleet) => {
    const sim = await startArmisSimulator({ fleet });
    return {
      source: "armis",
      url: sim.url,
      sourceConfig: { baseUrl: sim.url, secretKey: sim.secret },
      stop: () => sim.stop(),
    };
  },
  claroty_xdome: async (fleet) => {
    const sim = await startXDomeSimulator({ fleet });
    return {
      source: "claroty_xdome",
      url: sim.url,
      sourceConfig: { baseUrl: sim.url, apiToken: sim.token },
      stop: () => sim.stop(),
    };
  },
  panw_iot: async (fleet) => {
    const sim = await startPanwIotSimulator({ fleet });
    return {
      source: "panw_iot",
      url: sim.url,
      sourceConfig: {
        baseUrl: sim.url,
        customerId: sim.customerId,
        keyId: sim.keyId,
        accessKey: sim.accessKey,
      },
      stop: () => sim.stop(),
    };
  },
  nozomi: async (fleet) => {
    const sim = await startNozomiSimulator({ fleet });
    return {
      source: "nozomi",
      url: sim.url,
      sourceConfig: {
        baseUrl: sim.url,
        auth: { type: "sign_in", keyName: sim.keyName, keyToken: sim.keyToken },
        initialLookbackSeconds: 0,
      },
      stop: () => sim.stop(),
    };
  },
  forescout: async (fleet) => {
    const sim = await startForescoutSimulator({ fleet });
    return {
      source: "forescout",
      url: sim.url,
      sourceConfig: { baseUrl: sim.url, username: sim.username, password: sim.password },
      push: (targets) => pushForescoutHosts(fleet, targets),
      stop: () => sim.stop(),
    };
  },
  cynerio: async (fleet) => {
    const sim = await startCynerioSimulator({ fleet });
    return {
      source: "cynerio",
      url: sim.url,
      sourceConfig: {
        baseUrl: sim.url,
        tokenUrl: sim.tokenUrl,
        clientId: sim.clientId,
        clientSecret: sim.clientSecret,
      },
      // Events are pushed (HTTP preferred, else syslog CEF); assets are polled.
      push: (targets) => pushCynerioEvents(fleet, targets),
      stop: () => sim.stop(),
    };
  },
  asimily: async (fleet) => {
    const sim = await startAsimilySimulator({ fleet });
    return {
      source: "asimily",
      url: sim.url,
      sourceConfig: { baseUrl: sim.url, username: sim.username, password: sim.password },
      stop: () => sim.stop(),
    };
  },
};

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
