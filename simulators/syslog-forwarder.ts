/**
 * Optional syslog forwarding of the simulated hospital's alerts, as the monitors' SIEM forwarding
 * would send them: one RFC 5424 line with a CEF payload per alert of {@link Fleet.alertFacts},
 * newline-framed over TCP to `targets.syslog`.
 *
 * - Nozomi (`nozomiAlertCef`): the documented N2OS alert layout (header `Nozomi Networks|N2OS`,
 *   the alert type id as event class, `cs1` Risk, `cs2` IsSecurity, `cs3` Id, `cs6` n2os_schema,
 *   `flexString1` mitre_attack_techniques, `dvchost`, `src`/`dst`/`smac`/`dmac`/`dpt`, `proto`,
 *   `msg`, `start` in epoch ms). The alert id is the one the REST simulator serves. ASSUMED: the
 *   monitored device is always written on the `dst` side (the mapping reads the device from there;
 *   the documented examples put the target there).
 * - Claroty xDome (`xdomeAlertCef`): ASSUMED layout (no public key list): header `Claroty|xDome`,
 *   `externalId` the alert id the REST simulator serves, `rt` epoch ms, labelled custom strings
 *   `Device UID`, `Device Type`, `Site`, `Department`, `Alert Type`, the device on `dst`.
 *
 * Off by default in `medsoc start`'s hospital: the same alerts are polled from the REST simulators
 * under the same source and stream, and the CEF documents' ids (hash over the CEF identity) differ
 * from the REST documents', so forwarding as well would index every alert twice.
 */
import { connect } from "node:net";
import { ALERT_TYPES as XDOME_ALERT_TYPES } from "./claroty_xdome/server.ts";
import type { Fleet } from "./fleet/fleet.ts";
import type { PushTargets } from "./hospital.ts";
import { ALERT_TYPES as NOZOMI_ALERT_TYPES, RISK as NOZOMI_RISK, uuidOf } from "./nozomi/server.ts";

/** CEF header escaping: `\` and `|`; line breaks become spaces. */
export function cefHeader(value: string): string {
  return value
    .replace(/\\/g, "\\\\")
    .replace(/\|/g, "\\|")
    .replace(/[\r\n]+/g, " ");
}

/** CEF extension value escaping: `\`, `=`, and line breaks as `\n` / `\r`. */
export function cefValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/=/g, "\\=").replace(/\r/g, "\\r").replace(/\n/g, "\\n");
}

const CEF_SEVERITY: Record<string, number> = { Low: 3, Medium: 5, High: 8, Critical: 10 };
const SYSLOG_SEVERITY: Record<string, number> = { Low: 6, Medium: 4, High: 3, Critical: 2 };

function ext(pairs: ReadonlyArray<readonly [string, string | number | undefined]>): string {
  return pairs
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${k}=${cefValue(String(v))}`)
    .join(" ");
}

function syslogLine(severity: string, timeMs: number, host: string, app: string, cef: string): string {
  const pri = 16 * 8 + (SYSLOG_SEVERITY[severity] ?? 5);
  return `<${pri}>1 ${new Date(timeMs).toISOString()} ${host} ${app} - - - ${cef}`;
}

/** One Nozomi Guardian alert line for alert `k`. */
export function nozomiAlertCef(fleet: Fleet, k: number): string {
  const a = fleet.alertFacts(k);
  const f = fleet.facts(a.device);
  const t = NOZOMI_ALERT_TYPES[a.kind];
  const timeMs = Math.floor(a.timeUs / 1000);
  const peerIp = `10.250.${(k >>> 8) & 255}.${1 + (k % 250)}`;
  const risk = NOZOMI_RISK[a.severity] ?? 5;
  const cef = `CEF:0|Nozomi Networks|N2OS|24.1.0|${cefHeader(t.typeId)}|${cefHeader(a.title)}|${Math.round(risk)}|${ext(
    [
      ["app", t.protocol],
      ["dvchost", "guardian-sim"],
      ["cs1", risk.toFixed(1)],
      ["cs1Label", "Risk"],
      ["cs2", "true"],
      ["cs2Label", "IsSecurity"],
      ["cs3", uuidOf("alert", fleet.seed, k)],
      ["cs3Label", "Id"],
      ["cs6", "3"],
      ["cs6Label", "n2os_schema"],
      ["flexString1", a.mitre ?? undefined],
      ["flexString1Label", a.mitre ? "mitre_attack_techniques" : undefined],
      ["src", peerIp],
      ["dst", f.ip],
      ["dmac", f.mac.toLowerCase()],
      ["dpt", t.port || undefined],
      ["proto", "TCP"],
      ["msg", a.description],
      ["start", timeMs],
    ],
  )}`;
  return syslogLine(a.severity, timeMs, "guardian-sim", "n2osevents", cef);
}

/** One Claroty xDome alert line for alert `k` (ASSUMED layout). */
export function xdomeAlertCef(fleet: Fleet, k: number): string {
  const a = fleet.alertFacts(k);
  const f = fleet.facts(a.device);
  const t = XDOME_ALERT_TYPES[a.kind];
  const timeMs = Math.floor(a.timeUs / 1000);
  const name = a.kind === "default_credential_login" ? "Weak/Default Password" : a.title;
  const c = f.credential;
  const what =
    c.kind === "default"
      ? "the vendor default password"
      : c.kind === "shared"
        ? "a password shared with other devices"
        : c.kind === "hard_coded"
          ? "a hard-coded password"
          : "a weak password";
  // The xDome simulator's alert description, so both paths describe the same finding alike.
  const msg =
    a.kind === "default_credential_login"
      ? `A login with ${what} was observed on ${f.name}. Username: ${c.username}; credential fingerprint: ${c.fingerprint}.`
      : a.description;
  const cef = `CEF:0|Claroty|xDome|1.0|${cefHeader(t.type)}|${cefHeader(name)}|${CEF_SEVERITY[a.severity] ?? 5}|${ext(
    [
      ["externalId", k + 1],
      ["rt", timeMs],
      ["cs1", f.uid],
      ["cs1Label", "Device UID"],
      ["cs2", f.vendorType],
      ["cs2Label", "Device Type"],
      ["cs3", f.site.name],
      ["cs3Label", "Site"],
      ["cs4", f.ward],
      ["cs4Label", "Department"],
      ["cs5", t.category],
      ["cs5Label", "Alert Type"],
      ["dst", f.ip],
      ["dmac", f.mac.toLowerCase()],
      ["dhost", f.name],
      ["msg", msg],
    ],
  )}`;
  return syslogLine(a.severity, timeMs, "xdome-sim", "xdome", cef);
}

export type ForwardedVendor = "claroty_xdome" | "nozomi";

/** Renders alerts `0..count-1` of each vendor (default: every alert of the fleet). */
export function alertSyslogLines(
  fleet: Fleet,
  vendors: readonly ForwardedVendor[],
  count = fleet.alertCount,
): string[] {
  const lines: string[] = [];
  const n = Math.min(count, fleet.alertCount);
  for (const v of vendors) {
    for (let k = 0; k < n; k++)
      lines.push(v === "nozomi" ? nozomiAlertCef(fleet, k) : xdomeAlertCef(fleet, k));
  }
  return lines;
}

/** Sends the lines to `targets.syslog` over one TCP connection (newline framing); returns how many. */
export async function forwardAlertsOverSyslog(
  fleet: Fleet,
  targets: PushTargets,
  vendors: readonly ForwardedVendor[],
  count?: number,
): Promise<number> {
  const target = targets.syslog;
  if (target === undefined) throw new Error("syslog forwarding needs targets.syslog (the syslog receiver)");
  const lines = alertSyslogLines(fleet, vendors, count);
  await new Promise<void>((resolve, reject) => {
    const s = connect(target.port, target.host, () => s.end(`${lines.join("\n")}\n`));
    s.on("error", reject);
    s.on("close", (hadError) =>
      hadError ? reject(new Error("syslog connection closed with an error")) : resolve(),
    );
  });
  return lines.length;
}
