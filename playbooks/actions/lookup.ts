/**
 * Actions that only read what medsoc already knows (no outside call, so they run in dry runs too):
 * `device.assess` decides the containment mode from the device's clinical state, and
 * `credential.group` finds every device sharing an exposed credential.
 */
import { z } from "zod";
import type { DeviceDirectory } from "../engine/devices.ts";
import type { Action, DeviceInfo } from "./types.ts";

export interface Assessment {
  mode: "full" | "restricted";
  mayBeInUse: boolean;
  reasons: string[];
  clinicalServers: string[];
  deviceClass: string;
}

const LIFE_SUPPORT = /life/i;

/**
 * Safety rule 2 (DESIGN.md): a device that may be in use — in use, unknown state, high utilization,
 * or life-sustaining and not known to be idle — gets restricted containment; only a device known to
 * be idle may be fully contained automatically.
 */
export interface AssessOptions {
  /** An in-use observation older than this is stale: "not in use" seen then is not "known idle". */
  maxAgeMs?: number;
  now?: Date;
}

/** Clinical state for the gate: in use, idle (fresh "not in use"), unknown, or stale. */
export function clinicalState(
  d: DeviceInfo | undefined,
  o: AssessOptions = {},
): { state: "in_use" | "idle" | "unknown" | "stale"; reason: string } {
  if (!d) return { state: "unknown", reason: "no device information" };
  if (d.inUse === true) return { state: "in_use", reason: "the device reports it is in use" };
  if (d.inUse === null || d.inUse === undefined)
    return { state: "unknown", reason: "its clinical state is unknown" };
  if (o.maxAgeMs === undefined) return { state: "idle", reason: "known idle (in_use false)" };
  const seen = d.inUseSeenAt ? Date.parse(d.inUseSeenAt) : Number.NaN;
  if (!Number.isFinite(seen))
    return { state: "stale", reason: "in_use false, but when it was observed is unknown" };
  const age = (o.now ?? new Date()).getTime() - seen;
  if (age > o.maxAgeMs)
    return {
      state: "stale",
      reason: `in_use false was observed ${Math.round(age / 60_000)} min ago (older than the ${Math.round(o.maxAgeMs / 60_000)} min maximum): stale, not known idle`,
    };
  return { state: "idle", reason: "known idle (in_use false, observed recently)" };
}

export function assess(
  d: DeviceInfo | undefined,
  utilizationThreshold = 0.5,
  options: AssessOptions = {},
): Assessment {
  if (!d)
    return {
      mode: "restricted",
      mayBeInUse: true,
      reasons: ["no device information"],
      clinicalServers: [],
      deviceClass: "unknown",
    };
  const reasons: string[] = [];
  const clinical = clinicalState(d, options);
  if (clinical.state !== "idle") reasons.push(clinical.reason);
  if (d.utilizationRate !== undefined && d.utilizationRate >= utilizationThreshold)
    reasons.push(`utilization ${d.utilizationRate} ≥ ${utilizationThreshold}`);
  if (
    d.consequenceOfFailure &&
    LIFE_SUPPORT.test(d.consequenceOfFailure) &&
    clinical.state !== "idle" &&
    clinical.state !== "in_use"
  )
    reasons.push("life-sustaining and not known to be idle");
  return {
    mode: reasons.length ? "restricted" : "full",
    mayBeInUse: reasons.length > 0,
    reasons: reasons.length ? reasons : [clinical.reason],
    clinicalServers: d.clinicalServers,
    deviceClass: d.deviceClass ?? "unknown",
  };
}

export interface GroupMember {
  key: string;
  mac?: string;
  ip?: string;
  name?: string;
  username: string;
  observed?: string;
  deviceClass?: string;
  clinicalServers: string[];
}

export function lookupActions(directory: DeviceDirectory): Action[] {
  const assessAction: Action<{ utilizationThreshold: number }, Assessment> = {
    name: "device.assess",
    description:
      "Decide full or restricted containment from the device's clinical state (in use, unknown, stale, life-sustaining).",
    kind: "lookup",
    input: z.strictObject({ utilizationThreshold: z.number().min(0).max(1).default(0.5) }),
    async plan(_i, ctx) {
      return { summary: `assess ${ctx.device?.key ?? "the device"} (no outside call)`, calls: [] };
    },
    async execute(i, ctx) {
      // The directory's current view, not the run's snapshot; staleness against the configured age.
      const fresh = (ctx.device && (await directory.get(ctx.device.key))) || ctx.device;
      return assess(fresh, i.utilizationThreshold, { maxAgeMs: directory.clinicalMaxAgeMs, now: ctx.now() });
    },
    async verify(_i, o) {
      return { ok: true, detail: `mode ${o.mode}: ${o.reasons.join("; ")}` };
    },
  };
  const member = (d: DeviceInfo, username?: string): GroupMember => ({
    key: d.key,
    mac: d.macs[0],
    ip: d.ips[0],
    name: d.name,
    username: d.credential?.username ?? username ?? "service",
    observed: d.credential?.observed,
    deviceClass: d.deviceClass,
    clinicalServers: d.clinicalServers,
  });
  const group: Action<
    { fingerprint?: string; username?: string },
    { fingerprint?: string; rotatable: GroupMember[]; hardCoded: GroupMember[] }
  > = {
    name: "credential.group",
    description:
      "Every known device sharing the exposed credential (by fingerprint), split into rotatable and hard-coded.",
    kind: "lookup",
    input: z.strictObject({ fingerprint: z.string().optional(), username: z.string().optional() }),
    async plan(i, ctx) {
      return {
        summary: `list devices sharing credential ${i.fingerprint ?? `of ${ctx.device?.key}`} (no outside call)`,
        calls: [],
      };
    },
    async execute(i, ctx) {
      const found = new Map<string, DeviceInfo>();
      if (ctx.device) found.set(ctx.device.key, ctx.device);
      const fp = i.fingerprint ?? ctx.device?.credential?.fingerprint;
      if (fp) for (const d of await directory.sharingCredential(fp)) found.set(d.key, d);
      const all = [...found.values()].map((d) => member(d, i.username));
      return {
        fingerprint: fp,
        rotatable: all.filter((m) => m.observed !== "hard_coded"),
        hardCoded: all.filter((m) => m.observed === "hard_coded"),
      };
    },
    async verify(_i, o) {
      return { ok: true, detail: `${o.rotatable.length} rotatable, ${o.hardCoded.length} hard-coded` };
    },
  };
  return [assessAction as Action, group as Action];
}
