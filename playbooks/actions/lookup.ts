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
export function assess(d: DeviceInfo | undefined, utilizationThreshold = 0.5): Assessment {
  if (!d)
    return {
      mode: "restricted",
      mayBeInUse: true,
      reasons: ["no device information"],
      clinicalServers: [],
      deviceClass: "unknown",
    };
  const reasons: string[] = [];
  if (d.inUse === true) reasons.push("the device reports it is in use");
  if (d.inUse === null || d.inUse === undefined) reasons.push("its clinical state is unknown");
  if (d.utilizationRate !== undefined && d.utilizationRate >= utilizationThreshold)
    reasons.push(`utilization ${d.utilizationRate} ≥ ${utilizationThreshold}`);
  if (d.consequenceOfFailure && LIFE_SUPPORT.test(d.consequenceOfFailure) && d.inUse !== false)
    reasons.push("life-sustaining and not known to be idle");
  return {
    mode: reasons.length ? "restricted" : "full",
    mayBeInUse: reasons.length > 0,
    reasons: reasons.length ? reasons : ["known idle (in_use false)"],
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
      "Decide full or restricted containment from the device's clinical state (in use, unknown, life-sustaining).",
    kind: "lookup",
    input: z.strictObject({ utilizationThreshold: z.number().min(0).max(1).default(0.5) }),
    async plan(_i, ctx) {
      return { summary: `assess ${ctx.device?.key ?? "the device"} (no outside call)`, calls: [] };
    },
    async execute(i, ctx) {
      return assess(ctx.device, i.utilizationThreshold);
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
