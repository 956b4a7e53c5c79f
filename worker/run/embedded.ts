/**
 * The embedded default (`medsoc start` without `--config`): a simulated hospital and every
 * enforcement point in this process, memory queues, NDJSON outputs in one folder. The only place
 * `medsoc start` reaches the simulators.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Logger } from "../../core/log.ts";
import type { DeviceStateStore } from "../../mappings/device-state.ts";
import { componentSchemas } from "../components.ts";
import { type MedsocConfig, validateConfig } from "../config.ts";
import { writeStateSnapshot } from "../device-state/index.ts";
import { boundHeapGrowth } from "../memory.ts";
import type { QueueDriver } from "../queue/index.ts";
import type { RunningReceivers } from "../receivers.ts";
import type { StartSummary } from "../run.ts";
import {
  clinicalServersOf,
  type Hospital,
  startExtendedResponseSystems,
  startHospital,
  startResponseSystems,
} from "../simulation.ts";
import { appendNdjson } from "../sinks/file.ts";

/** The simulated hospital and enforcement points, and the configuration that points medsoc at them. */
export interface Embedded {
  config: MedsocConfig;
  hospital: Hospital;
  outDir: string;
  /** Stops the simulators (last, after medsoc's own components). */
  stop(): Promise<void>;
}

/** Starts the simulated hospital with `devices` devices and every enforcement point. */
export async function startEmbedded(options: {
  devices: number;
  outDir: string;
  log: Logger;
}): Promise<Embedded> {
  const { log, outDir } = options;
  // One process holds the simulated hospital, the queues and the device state: keep its heap
  // near what is live (worker/memory.ts).
  boundHeapGrowth();
  const sim = await startHospital({ devices: options.devices });
  let response: Awaited<ReturnType<typeof startResponseSystems>> | undefined;
  let extended: Awaited<ReturnType<typeof startExtendedResponseSystems>> | undefined;
  const stop = async () => {
    await extended?.stop();
    await response?.stop();
    await sim.stop();
  };
  try {
    // Every enforcement point medsoc drives (ISE, PAN-OS, ClearPass, FortiGate, Armis, xDome,
    // Forescout), so the shipped playbooks show containment through all of them.
    [response, extended] = await Promise.all([
      startResponseSystems({ fleet: sim.fleet }),
      startExtendedResponseSystems({ fleet: sim.fleet }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  log.info(
    { devices: sim.fleet.size, monitors: sim.monitors.map((m) => `${m.source} ${m.url}`) },
    "Simulated hospital started.",
  );
  const systems = { ...response.systemsConfig(), ...extended.systemsConfig() };
  const chat = response.chat;
  const config = validateConfig(
    {
      // One process holds every stage: a few waiting batches per queue keep the mapper and the
      // sinks busy without pages piling up in memory while the device state merges.
      queue: { driver: "memory", maxPendingBatches: 4 },
      sources: sim.monitors.map((m) => ({
        type: m.source,
        schedule: "*/30 * * * * *",
        intervalSeconds: 30,
        config: m.sourceConfig,
      })),
      sinks: { file: { dir: outDir } },
      api: { port: 8787 },
      // Both push receivers on loopback, any free port, a generated token per monitor.
      receivers: {
        syslog: { enabled: true, host: "127.0.0.1", tcpPort: 0, udpPort: 0 },
        httpPush: {
          enabled: true,
          host: "127.0.0.1",
          port: 0,
          tokens: Object.fromEntries(
            sim.monitors.map((m) => [m.source, randomBytes(24).toString("base64url")]),
          ),
        },
      },
      playbooks: {
        enabled: true,
        // The first pull of the simulated hospital brings its whole alert history at once (what a
        // real hospital sees over days): a higher blast radius than the production default of 10.
        // The simulated fleet's observations are historical (2025), so the clinical gate sees every
        // "not in use" as stale and holds those pumps for clinical engineering too
        // (docs/playbooks-safety.md).
        blastRadiusPerHour: 30,
        auditFile: resolve(outDir, "audit-chain.ndjson"),
        clinicalServers: clinicalServersOf(sim.fleet),
        systems,
        // Approval requests go to the simulated approver's own DM with a one-time link.
        approvals: {
          linkSecret: randomBytes(32).toString("base64url"),
          approvers: [
            {
              identity: "clinical.engineering",
              role: "clinical_engineering",
              slackWebhookUrl: chat.personal("slack", "clinical.engineering"),
            },
          ],
        },
      },
    },
    componentSchemas(),
    {},
    "embedded default",
  );
  return { config, hospital: sim, outDir, stop };
}

/**
 * The simulated monitors that push (Cynerio events, Forescout host push, syslog forwarders) send
 * their records once the receivers listen, so `start --once` ingests pushed streams too. Returns
 * how many pushes failed.
 */
export async function pushSimulatedMonitors(
  hospital: Hospital,
  receivers: RunningReceivers,
  log: Logger,
): Promise<number> {
  let failed = 0;
  for (const m of hospital.monitors) {
    if (!m.push) continue;
    try {
      const sent = await m.push(receivers.targets);
      log.info({ source: m.source, records: sent }, "Simulated monitor pushed its records.");
    } catch (error) {
      failed++;
      log.error({ source: m.source, err: error }, "Simulated monitor push failed.");
    }
  }
  await receivers.settled();
  return failed;
}

/**
 * Writes what only lives in this process to the output folder (the dead letters, the device state
 * for `medsoc report --state`) and lists every output file in the summary.
 */
export async function writeEmbeddedOutputs(
  summary: StartSummary,
  options: {
    outDir: string;
    driver: QueueDriver;
    deviceState: DeviceStateStore | undefined;
    streams: Iterable<string>;
    playbooks: boolean;
  },
): Promise<void> {
  const { outDir, driver, deviceState } = options;
  const dead = await driver.deadLetters().list(0, -1);
  await mkdir(outDir, { recursive: true });
  const deadFile = resolve(outDir, "dead-letter.ndjson");
  // Written in chunks (up to maxDeadLetters entries, each a whole document): not one big string.
  await writeFile(deadFile, "");
  await appendNdjson(deadFile, dead);
  const streams = new Set(options.streams);
  if (options.playbooks) streams.add("audit");
  for (const [key, n] of Object.entries(summary.perStream))
    if (n.pushed) streams.add(key.slice(key.indexOf("/") + 1));
  // The device state of the run, for `medsoc report --state out/device-state.ndjson`.
  const stateFile = resolve(outDir, "device-state.ndjson");
  if (deviceState) await writeStateSnapshot(deviceState, stateFile);
  summary.outputs = [
    ...[...streams].map((st) => resolve(outDir, `${st}.ndjson`)),
    ...(options.playbooks
      ? [resolve(outDir, "audit-chain.ndjson"), resolve(outDir, "audit-checkpoints.ndjson")]
      : []),
    deadFile,
    ...(deviceState ? [stateFile] : []),
  ];
}
