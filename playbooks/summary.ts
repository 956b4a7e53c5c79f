/** What the playbooks did, for the end-of-run summary of `medsoc start` and `medsoc playbook runs`. */
import type { RunState, RunStore } from "./engine/store.ts";

export interface PlaybookSummary {
  runs: number;
  byStatus: Record<string, number>;
  /** Devices in full containment (verified). */
  containedFull: number;
  /** Devices in restricted containment (clinical servers reachable). */
  containedRestricted: number;
  awaitingApproval: number;
  /** Credential rotation per device outcome (rotated, rolled_back, hard_coded, manual, failed). */
  rotation: Record<string, number>;
  failed: number;
}

const CONTAIN = new Set([
  "ise.quarantine",
  "panos.tag",
  "clearpass.quarantine",
  "fortigate.quarantine",
  "armis.tag",
  "xdome.mark",
  "forescout.mark",
]);

export function summarizeRuns(
  runs: RunState[],
  actionOf: (playbookId: string, stepId: string) => string | undefined,
): PlaybookSummary {
  const s: PlaybookSummary = {
    runs: runs.length,
    byStatus: {},
    containedFull: 0,
    containedRestricted: 0,
    awaitingApproval: 0,
    rotation: {},
    failed: 0,
  };
  const modes = new Map<string, "full" | "restricted">();
  for (const r of runs) {
    if (r.dryRun) continue;
    const k = `${r.playbookId}: ${r.status}`;
    s.byStatus[k] = (s.byStatus[k] ?? 0) + 1;
    if (r.status === "waiting_approval") s.awaitingApproval++;
    if (r.status === "failed") s.failed++;
    for (const [stepId, st] of Object.entries(r.steps)) {
      const action = actionOf(r.playbookId, stepId);
      if (!action) continue;
      if (action === "contain.apply" && st.status === "completed" && !st.undone) {
        // The fan-out: a device counts once a point's read-back confirmed it.
        const mode = (st.input as { mode?: "full" | "restricted" })?.mode;
        const applied = (st.output as { applied?: { device: string; verified: boolean }[] })?.applied ?? [];
        for (const key of new Set(applied.filter((a) => a.verified).map((a) => a.device)))
          if (mode && modes.get(key) !== "full") modes.set(key, mode);
      } else if (CONTAIN.has(action) && st.status === "completed" && !st.undone) {
        const mode = (st.input as { mode?: "full" | "restricted" })?.mode;
        const devices =
          (st.output as { applied?: { mac: string }[]; ips?: string[] })?.applied?.map((a) => a.mac) ??
          (st.output as { ips?: string[] })?.ips ??
          [];
        const keys = devices.length > 1 ? devices : [r.deviceKey ?? r.id];
        for (const key of keys) if (mode && modes.get(key) !== "full") modes.set(key, mode);
      }
      if (action === "credential.rotate" && st.status === "completed")
        for (const [c, n] of Object.entries((st.output as { counts?: Record<string, number> })?.counts ?? {}))
          s.rotation[c] = (s.rotation[c] ?? 0) + n;
    }
  }
  for (const m of modes.values())
    if (m === "full") s.containedFull++;
    else s.containedRestricted++;
  return s;
}

export async function summarizeStore(
  store: RunStore,
  actionOf: (playbookId: string, stepId: string) => string | undefined,
): Promise<PlaybookSummary> {
  return summarizeRuns(await store.listRuns(1_000_000), actionOf);
}

export function formatPlaybookSummary(s: PlaybookSummary): string[] {
  const lines = [
    `  playbooks: ${s.runs} run(s); contained ${s.containedFull} device(s) fully, ${s.containedRestricted} restricted (clinical servers reachable); ${s.awaitingApproval} awaiting approval; ${s.failed} failed`,
  ];
  const rot = Object.entries(s.rotation);
  if (rot.length)
    lines.push(`  credentials: ${rot.map(([k, n]) => `${n} ${k.replace("_", " ")}`).join(", ")}`);
  for (const [k, n] of Object.entries(s.byStatus).sort()) lines.push(`    ${k.padEnd(44)} ${n}`);
  return lines;
}
