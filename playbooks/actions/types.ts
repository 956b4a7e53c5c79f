/**
 * The response-action contract (DESIGN.md "Playbook step"): every module under `playbooks/actions/`
 * exposes the same operations, so the engine can plan, run, verify and undo any of them the same way.
 *
 * - `plan()` is the dry run: what would happen, computed without any outside call.
 * - `execute()` makes the change; it must be idempotent per `ctx.idempotencyKey` (one key per run and
 *   step): a worker killed after the call and before the engine recorded it runs it again.
 * - `verify()` reads the effect back from the outside system. A 2xx is never proof (response.md §0.2).
 * - `undo()` reverses `execute()` from its recorded output (the compensation of a failed run, or a
 *   release).
 *
 * Every outside call is recorded through `ctx.record()` with secrets redacted, and lands in the
 * hash-chained audit trail.
 */
import type { z } from "zod";
import { PermanentError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { Secret, scrub } from "../../core/secret.ts";

/**
 * The outside system does not know the device (no endpoint, host or device record for its MAC/IP).
 * Permanent; for a containment it means "could not contain there", for a release "nothing to release
 * there".
 */
export class UnknownDeviceError extends PermanentError {}

/**
 * What the playbooks know about a device: from the device state store where it exists, otherwise
 * from the fields the documents carry. `null`/absent means unknown, never "no".
 */
export interface DeviceInfo {
  /** `medsoc.device.key` or, without the state store, `<source>:<host.id>`. */
  key: string;
  name?: string;
  /** Upper-case, dash-separated (ECS): `AA-BB-CC-DD-EE-FF`. */
  macs: string[];
  ips: string[];
  /** `medsoc.device.class` (`infusion_pump`, …) or derived from the vendor type. */
  deviceClass?: string;
  vendorType?: string;
  manufacturer?: string;
  model?: string;
  site?: string;
  ward?: string;
  /** True infusing / attached to a patient, false idle, null unknown. */
  inUse: boolean | null;
  /**
   * When `inUse` was observed (ISO-8601): the source's `seenAt` in the device state store, else the
   * document's `@timestamp`. An observation older than the configured maximum age is stale, and a
   * stale "not in use" is not "known idle" (docs/playbooks-safety.md).
   */
  inUseSeenAt?: string;
  batteryLevel?: number;
  utilizationRate?: number;
  consequenceOfFailure?: string;
  fdaClass?: number;
  criticality?: string;
  osEol?: boolean;
  os?: string;
  /** Clinical servers (pump server, drug library) that stay reachable under restricted containment. */
  clinicalServers: string[];
  credential?: { observed?: string; username?: string; fingerprint?: string };
}

/** One outside call as recorded for the audit trail (secrets already redacted). */
export interface RecordedCall {
  /** Outside system (`cisco_ise`, `panos`, `vault`, …). */
  system: string;
  method: string;
  /** URL without query secrets. */
  url: string;
  status?: number;
  request?: unknown;
  response?: unknown;
  durationMs?: number;
  error?: string;
}

/** What `plan()` says would happen: a sentence and the calls that would be made. */
export interface ActionPlan {
  summary: string;
  calls: { system: string; method: string; url: string; body?: unknown }[];
  /** Nothing to do (already in the wanted state is decided at execute time; this is "no targets"). */
  noop?: boolean;
}

/** The result of reading the effect back. */
export interface Verification {
  ok: boolean;
  detail: string;
  observed?: unknown;
}

/** Everything an action may use while it runs. */
export interface ActionContext {
  runId: string;
  stepId: string;
  /** Stable per (run, step): `<runId>-<stepId>`. Use it as the dedup/correlation key outside. */
  idempotencyKey: string;
  playbookId: string;
  device?: DeviceInfo;
  dryRun: boolean;
  /** Appends one redacted call to the audit trail of this step. */
  record(call: RecordedCall): void;
  log: Logger;
  now(): Date;
  signal?: AbortSignal;
}

/** Which safety bucket an action belongs to (the blast-radius guard counts `containment`). */
export type ActionKind = "containment" | "release" | "credential" | "notify" | "lookup" | "ticket";

/**
 * One response action. `I` is its validated input (`with:` of a step, templates rendered), `O` its
 * output (stored in the run, available to later steps as `steps.<id>.output`, and the input of
 * `verify()`/`undo()`).
 */
export interface Action<I = unknown, O = unknown> {
  /** `<system>.<verb>` (`ise.quarantine`, `vault.write`): what playbooks name in `action:`. */
  readonly name: string;
  readonly description: string;
  readonly kind: ActionKind;
  /** Validates the rendered `with:` block; errors carry their path. */
  readonly input: z.ZodType<I>;
  plan(input: I, ctx: ActionContext): Promise<ActionPlan>;
  execute(input: I, ctx: ActionContext): Promise<O>;
  /** Reads the effect back. Actions without a read-back (PagerDuty) say so in `detail` with ok=true. */
  verify(input: I, output: O, ctx: ActionContext): Promise<Verification>;
  /** Reverses `execute()`. Absent for actions with nothing to undo (a lookup). */
  undo?(input: I, output: O, ctx: ActionContext): Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds actions of every input/output type.
export type AnyAction = Action<any, any>;

/** The actions a deployment offers, by name. Explicit: built from an array, no side-effect imports. */
export class ActionRegistry {
  readonly #actions = new Map<string, AnyAction>();

  constructor(actions: readonly AnyAction[] = []) {
    for (const a of actions) this.register(a);
  }

  register(action: AnyAction): void {
    if (this.#actions.has(action.name)) throw new Error(`action ${action.name} is registered twice`);
    this.#actions.set(action.name, action);
  }

  get(name: string): AnyAction | undefined {
    return this.#actions.get(name);
  }

  has(name: string): boolean {
    return this.#actions.has(name);
  }

  names(): string[] {
    return [...this.#actions.keys()].sort();
  }
}

const SECRET_KEYS =
  /^(password|passwd|new_?password|newcredentials|secret|secret_?id|token|client_?token|api_?key|key|routing_key|authorization|x-vault-token|cookie)$/i;

/**
 * Deep copy of `value` with every secret-looking key, every `Secret` and every known secret string
 * replaced by `[redacted]`: what an action passes to `ctx.record()`.
 */
export function redact(value: unknown, secrets: Iterable<string | Secret | undefined> = []): unknown {
  const list = [...secrets];
  const walk = (v: unknown, depth: number): unknown => {
    if (v instanceof Secret) return "[redacted]";
    if (typeof v === "string") return list.length ? scrub(v, list) : v;
    if (depth > 12 || v === null || typeof v !== "object") return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>))
      out[k] = SECRET_KEYS.test(k) && x !== undefined && x !== null ? "[redacted]" : walk(x, depth + 1);
    return out;
  };
  return walk(value, 0);
}

export type ContainmentMode = "full" | "restricted";

/** One device to contain: its key (for the ticket) and the identifiers the points act on. */
export interface ContainTarget {
  key: string;
  macs: string[];
  ips: string[];
}

/**
 * One enforcement point: a configured outside system and the actions that set and clear its
 * containment marker. `applyInput`/`releaseInput` map a device to the action's input, or say why the
 * point cannot act on it (no MAC for a NAC, no IP for a firewall).
 */
export interface EnforcementPoint {
  /** Key under `playbooks.systems`. */
  system: string;
  /** What the ticket calls it. */
  label: string;
  /** What the point acts on. */
  keyedBy: "mac" | "ip" | "mac or ip";
  apply: string;
  release: string;
  applyInput(t: ContainTarget, mode: ContainmentMode, clinicalServers: string[]): unknown | string;
  releaseInput(t: ContainTarget): unknown | string;
}

export const needMac = (t: ContainTarget) => (t.macs.length ? undefined : "no MAC address known");
export const needIp = (t: ContainTarget) => (t.ips.length ? undefined : "no IP address known");
export const needAny = (t: ContainTarget) =>
  t.macs.length || t.ips.length ? undefined : "no MAC or IP known";

/**
 * The one declaration of an outside system the actions call: its `playbooks.systems.<id>` settings
 * (zod; the config schema and docs/configuration.md are derived from it), the actions it brings,
 * how they are built from the settings, and — for a containment system — the enforcement point
 * `contain.apply` drives. Listed once in `actions/systems.ts`.
 */
export interface ActionSystem<Id extends string = string, S extends z.ZodType = z.ZodType> {
  /** Key under `playbooks.systems`. */
  id: Id;
  /** One line for the configuration reference. */
  title: string;
  config: S;
  /** Names of the actions it brings (playbooks are validated against them without a config). */
  actions: readonly string[];
  /** Builds its actions from the parsed settings; absent when shared wiring builds them (vault, chat). */
  create?: (config: z.output<S>) => AnyAction[];
  /** Where its point comes in the containment order: network access control, firewalls, monitor markers. */
  stage?: "nac" | "firewall" | "monitor";
  enforcementPoint?: Omit<EnforcementPoint, "system">;
}

/** Declares an outside system (see {@link ActionSystem}); typed so `create` gets the parsed settings. */
export function defineSystem<const Id extends string, S extends z.ZodType>(
  system: ActionSystem<Id, S>,
): ActionSystem<Id, S> {
  return system;
}
