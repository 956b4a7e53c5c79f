/**
 * The engine's safety gate (DESIGN.md safety rules 2–4, docs/playbooks-safety.md): one clinical gate
 * and one blast-radius reservation for every step whose action touches a device — every action of
 * kind `containment` or `credential`, whatever its name — decided from the action's kind and its
 * input's `mode`, never from the action's name.
 *
 * - Effect: `containment:restricted` when `input.mode` is `restricted`; any other containment (no
 *   mode, `full`, anything unknown) is `containment:full`; a `credential` action is a device change.
 * - Targets: the devices the input names (`devices[].key|mac|macs|ip|ips`, `macs`, `ips`, `mac`, `ip`),
 *   resolved through the device directory; with none of those fields, the run's device; with no
 *   device at all, one unresolved target whose clinical state is unknown (fail safe).
 * - Clinical state is read from the directory right before the step (not the run's snapshot); a
 *   process whose directory has never seen the device falls back to the snapshot, whose observation
 *   time still makes it stale when old.
 */

import { assess, clinicalState } from "../actions/lookup.ts";
import type { DeviceInfo } from "../actions/types.ts";
import type { DeviceDirectory } from "./devices.ts";
import type { RunState } from "./store.ts";

export type GateEffect = "containment:full" | "containment:restricted" | "credential";

export interface GateTarget {
  key: string;
  /** Identifiers of the input that name this device (to leave it out of the input). */
  ids: string[];
  device?: DeviceInfo;
  state: "in_use" | "idle" | "unknown" | "stale";
  /** In use, unknown, stale, busy or life-sustaining and not known idle (device.assess). */
  mayBeInUse: boolean;
  reasons: string[];
  clinicalServers: string[];
}

export function effectOf(kind: string, input: unknown): GateEffect | undefined {
  if (kind === "credential") return "credential";
  if (kind !== "containment") return undefined;
  const mode = (input as { mode?: unknown } | null)?.mode;
  return mode === "restricted" ? "containment:restricted" : "containment:full";
}

const MAC = /^([0-9a-f]{2}[:-]?){5}[0-9a-f]{2}$/i;
const normMac = (m: string) => {
  const hex = m.replace(/[^0-9a-f]/gi, "").toUpperCase();
  return hex.length === 12 ? (hex.match(/../g) as string[]).join("-") : m;
};

/** The identifiers an input names, grouped per device where the input groups them. */
function identifiers(input: unknown): { groups: string[][]; named: boolean } {
  const i = (input ?? {}) as Record<string, unknown>;
  const groups: string[][] = [];
  let named = false;
  const strs = (v: unknown): string[] =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === "string" && x !== "") : [];
  if (Array.isArray(i.devices)) {
    named = true;
    for (const d of i.devices as Record<string, unknown>[]) {
      const ids = [
        ...(typeof d?.key === "string" ? [`key:${d.key}`] : []),
        ...(typeof d?.mac === "string" ? [d.mac] : []),
        ...strs(d?.macs),
        ...(typeof d?.ip === "string" ? [d.ip] : []),
        ...strs(d?.ips),
      ];
      if (ids.length) groups.push(ids);
    }
  }
  for (const field of ["macs", "ips"]) {
    if (field in i) named = true;
    for (const id of strs(i[field])) groups.push([id]);
  }
  for (const field of ["mac", "ip"]) {
    if (typeof i[field] === "string") {
      named = true;
      groups.push([i[field] as string]);
    }
  }
  return { groups, named };
}

/** Resolves the devices a step touches and assesses each one's clinical state now. */
export async function resolveTargets(
  input: unknown,
  run: RunState,
  directory: DeviceDirectory,
  now: Date,
  utilizationThreshold = 0.5,
): Promise<GateTarget[]> {
  const snapshot = run.device;
  const snapIds = new Set([
    ...(snapshot?.macs ?? []).map(normMac),
    ...(snapshot?.ips ?? []),
    ...(snapshot ? [`key:${snapshot.key}`] : []),
  ]);
  const { groups, named } = identifiers(input);
  const byKey = new Map<string, { ids: string[]; device?: DeviceInfo }>();
  const add = (key: string, ids: string[], device?: DeviceInfo) => {
    const cur = byKey.get(key);
    if (cur) cur.ids.push(...ids);
    else byKey.set(key, { ids: [...ids], device });
  };
  if (!named || groups.length === 0) {
    if (snapshot) add(snapshot.key, []);
    else add(`unresolved:${run.id}`, []);
  }
  for (const ids of groups) {
    let key: string | undefined;
    for (const id of ids) {
      const norm = id.startsWith("key:") ? id : MAC.test(id) ? normMac(id) : id;
      if (snapshot && snapIds.has(norm)) {
        key = snapshot.key;
        break;
      }
      const d = await directory.get(norm.startsWith("key:") ? norm.slice(4) : norm);
      if (d) {
        key = d.key;
        break;
      }
    }
    // Nobody knows this identifier: its own target, clinical state unknown.
    add(key ?? (ids[0] as string).replace(/^key:/, ""), ids);
  }
  const out: GateTarget[] = [];
  for (const [key, t] of byKey) {
    const fresh = key.startsWith("unresolved:") ? null : await directory.get(key);
    const device = fresh ?? (snapshot?.key === key ? snapshot : undefined);
    const opts = { maxAgeMs: directory.clinicalMaxAgeMs, now };
    const c = clinicalState(device, opts);
    const a = assess(device, utilizationThreshold, opts);
    out.push({
      key,
      ids: t.ids,
      device,
      state: c.state,
      mayBeInUse: a.mayBeInUse,
      reasons: a.reasons,
      clinicalServers: device?.clinicalServers ?? [],
    });
  }
  return out;
}

/**
 * Why clinical engineering must approve this effect on this device first (undefined: it need not).
 * A device that may be in use gets restricted containment only, and only where its clinical servers
 * are known (otherwise restricted is full isolation in effect); anything more waits for clinical
 * engineering.
 */
export function clinicalApprovalNeeded(effect: GateEffect, t: GateTarget): string | undefined {
  if (!t.mayBeInUse) return undefined;
  const why = t.reasons.join("; ");
  if (effect === "containment:restricted")
    return t.clinicalServers.length
      ? undefined
      : `restricted containment of ${t.key} with no clinical servers configured for its class (${t.device?.deviceClass ?? "unknown class"}) would be full isolation in effect, and it may be in use (${why})`;
  return effect === "credential"
    ? `credential change on ${t.key}, which may be in use (${why})`
    : `full isolation of ${t.key}, which may be in use (${why})`;
}

/**
 * The input without the devices of `drop` (clinical engineering said no or did not answer):
 * `devices[]` entries and `macs`/`ips`/`mac`/`ip` values naming them are removed. Undefined when
 * nothing would be left.
 */
export function withoutDevices(input: unknown, drop: GateTarget[]): unknown | undefined {
  const gone = new Set(drop.flatMap((t) => t.ids));
  const keys = new Set(drop.map((t) => t.key));
  const i = { ...(input as Record<string, unknown>) };
  let left = 0;
  if (Array.isArray(i.devices)) {
    i.devices = (i.devices as Record<string, unknown>[]).filter((d) => {
      const ids = [
        d?.key && `key:${d.key}`,
        d?.mac,
        ...(Array.isArray(d?.macs) ? d.macs : []),
        d?.ip,
        ...(Array.isArray(d?.ips) ? d.ips : []),
      ];
      return !(typeof d?.key === "string" && keys.has(d.key)) && !ids.some((x) => gone.has(x as string));
    });
    left += (i.devices as unknown[]).length;
  }
  for (const field of ["macs", "ips"])
    if (Array.isArray(i[field])) {
      i[field] = (i[field] as string[]).filter((x) => !gone.has(x));
      left += (i[field] as unknown[]).length;
    }
  for (const field of ["mac", "ip"])
    if (typeof i[field] === "string") {
      if (gone.has(i[field] as string)) delete i[field];
      else left++;
    }
  return left > 0 ? i : undefined;
}
