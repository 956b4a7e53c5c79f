/**
 * The simulator half of a monitor definition (`monitors/<id>/simulator.ts`): how `medsoc simulate
 * <id>` and the simulated hospital start one monitor's simulator and point a connector at it.
 */
import type { PushTargets } from "../connectors/push.ts";
import type { Fleet } from "./fleet/fleet.ts";

export type { PushTargets };

/** Options of one simulator start. */
export interface SimulatorStartOptions {
  /** The shared fleet (the simulated hospital); without it the simulator generates `devices`. */
  fleet?: Fleet;
  /** TCP port; 0 picks a free one. @defaultValue 0 */
  port?: number;
  /** Fleet size when no fleet is given. @defaultValue the simulator's own */
  devices?: number;
  /** Serve drifted types in every third record (simulators whose definition says `typeDrift`). */
  typeDrift?: boolean;
}

/** A running monitor simulator. */
export interface RunningSimulator {
  url: string;
  /** The connector config (`sources[].config`) that polls this simulator. */
  sourceConfig: Record<string, unknown>;
  /**
   * For monitors (or streams) that push instead of being polled (Cynerio events, Forescout host
   * push): sends this monitor's pushed records for the fleet to medsoc's receivers and resolves with
   * the number of records sent. Only when started with a `fleet`.
   */
  push?(targets: PushTargets): Promise<number>;
  stop(): Promise<void>;
}

/** How to run one monitor's simulator. */
export interface MonitorSimulator {
  start(options: SimulatorStartOptions): Promise<RunningSimulator>;
}
