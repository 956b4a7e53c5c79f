/**
 * Cynerio's push side, simulated: the fleet's events sent to medsoc's receivers the way Cynerio
 * forwards them.
 *
 * - HTTP: `POST ${httpUrl}/v1/push/cynerio/event` with `Authorization: Bearer <token>` and a JSON
 *   array of events per request — the shape of Cynerio's confirmed push to Microsoft Sentinel's
 *   HTTP Data Collector API (a JSON array of `CynerioEvent_CL` rows), without Log Analytics' type
 *   suffixes. 429 and 503 are honoured (Retry-After, bounded retries); any other non-2xx stops the
 *   push with an error.
 * - syslog: one line per event over TCP with newline framing, RFC 5424 header and a CEF payload.
 *   Cynerio's syslog format is NOT in the reference; CEF with device vendor `Cynerio` is ASSUMED
 *   (what medsoc's syslog receiver routes on). The CEF extension keys are Cynerio's own column
 *   names (`uid=… timestamp=… asset_id=…`), so the record the receiver extracts from the
 *   extension is an event in Cynerio's schema; the header's Name and Severity repeat `title` and
 *   the severity (CEF 0–10).
 */
import { connect } from "node:net";
import { request } from "undici";
import { CYNERIO_EVENT_COLUMNS, type CynerioEvent } from "../../connectors/cynerio/records.ts";
import { parseRetryAfter, sleep } from "../../core/backoff.ts";
import type { Fleet } from "../fleet/fleet.ts";
import type { PushTargets } from "../hospital.ts";
import { cynerioDefaultPasswordEvent, cynerioEvent } from "./records.ts";

/** CEF header fields of every Cynerio line. */
export const CYNERIO_CEF_VENDOR = "Cynerio";
export const CYNERIO_CEF_PRODUCT = "Cynerio Healthcare Cybersecurity";
export const CYNERIO_CEF_VERSION = "1.0";

const CEF_SEVERITY: Record<string, number> = { Low: 3, Medium: 5, High: 8, Critical: 10 };
/** RFC 5424 severity per label (facility local0 = 16). */
const SYSLOG_SEVERITY: Record<string, number> = { Low: 6, Medium: 4, High: 3, Critical: 2 };

/** CEF header escaping: `\` and `|`. */
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

/** The CEF payload of one event. */
export function cynerioCef(event: CynerioEvent): string {
  const signature = event.title.toLowerCase().replace(/[^a-z0-9]+/g, "_");
  const ext: string[] = [];
  for (const key of CYNERIO_EVENT_COLUMNS) {
    const v = event[key];
    if (v === undefined || v === null || v === "") continue;
    ext.push(`${key}=${cefValue(String(v))}`);
  }
  return `CEF:0|${cefHeader(CYNERIO_CEF_VENDOR)}|${cefHeader(CYNERIO_CEF_PRODUCT)}|${CYNERIO_CEF_VERSION}|${cefHeader(signature)}|${cefHeader(event.title)}|${CEF_SEVERITY[event.severity] ?? 5}|${ext.join(" ")}`;
}

/** One RFC 5424 syslog line (no trailing newline) carrying the event's CEF payload. */
export function cynerioSyslogLine(event: CynerioEvent, hostname = "cynerio-sim"): string {
  const pri = 16 * 8 + (SYSLOG_SEVERITY[event.severity] ?? 5);
  const time = new Date(event.timestamp * 1000).toISOString();
  return `<${pri}>1 ${time} ${hostname} cynerio - - - ${cynerioCef(event)}`;
}

export interface CynerioPushOptions {
  /** Events per HTTP request. @defaultValue 500 */
  batchSize?: number;
  /** First event index. @defaultValue 0 */
  from?: number;
  /** Events to send. @defaultValue every event of the fleet (alerts, then default-password detections) */
  count?: number;
  /** Which transport when both targets are given: each event goes to exactly one. @defaultValue "http" */
  prefer?: "http" | "syslog";
  /** Attempts per HTTP batch on 429/503/network errors. @defaultValue 5 */
  maxAttempts?: number;
}

/**
 * The fleet's events `[from, from + count)`: first its alert events in time order (one per
 * `Fleet.alertFacts(k)`), then one posture detection per device whose password is a factory
 * default or a shared one ({@link cynerioDefaultPasswordEvent}), in device order.
 */
export function* cynerioEvents(
  fleet: Fleet,
  from = 0,
  count = Number.POSITIVE_INFINITY,
): Generator<CynerioEvent> {
  let left = count;
  if (left <= 0) return;
  for (let k = Math.max(0, from); k < fleet.alertCount; k++) {
    yield cynerioEvent(fleet, k);
    if (--left <= 0) return;
  }
  let skip = Math.max(0, from - fleet.alertCount);
  for (let i = 0; i < fleet.size; i++) {
    const event = cynerioDefaultPasswordEvent(fleet.facts(i), fleet.seed);
    if (event === undefined) continue;
    if (skip > 0) {
      skip--;
      continue;
    }
    yield event;
    if (--left <= 0) return;
  }
}

/**
 * Sends the fleet's events to the receivers: over HTTP when `httpUrl` and a `cynerio` token are
 * given (unless `prefer: "syslog"`), else over syslog. Resolves with the number of events sent.
 */
export async function pushCynerioEvents(
  fleet: Fleet,
  targets: PushTargets,
  options: CynerioPushOptions = {},
): Promise<number> {
  const token = targets.httpTokens?.cynerio;
  const http = targets.httpUrl !== undefined && token !== undefined;
  const useSyslog = targets.syslog !== undefined && (!http || options.prefer === "syslog");
  const events = cynerioEvents(fleet, options.from ?? 0, options.count);
  if (useSyslog && targets.syslog) return sendSyslog(events, targets.syslog);
  if (http && targets.httpUrl && token) return sendHttp(events, targets.httpUrl, token, options);
  throw new Error("pushing cynerio events: no target (need httpUrl with httpTokens.cynerio, or syslog)");
}

async function sendHttp(
  events: Iterable<CynerioEvent>,
  baseUrl: string,
  token: string,
  options: CynerioPushOptions,
): Promise<number> {
  const url = `${baseUrl.replace(/\/+$/, "")}/v1/push/cynerio/event`;
  const batchSize = options.batchSize ?? 500;
  const maxAttempts = options.maxAttempts ?? 5;
  let sent = 0;
  let batch: CynerioEvent[] = [];
  const flush = async () => {
    const body = JSON.stringify(batch);
    for (let attempt = 1; ; attempt++) {
      let status: number;
      let retryAfter: string | undefined;
      let text = "";
      try {
        const res = await request(url, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body,
        });
        status = res.statusCode;
        const h = res.headers["retry-after"];
        retryAfter = Array.isArray(h) ? h[0] : h;
        text = await res.body.text();
      } catch (error) {
        if (attempt >= maxAttempts)
          throw new Error(`pushing cynerio events to ${url}: ${(error as Error).message}`);
        await sleep(200 * 2 ** attempt);
        continue;
      }
      if (status >= 200 && status < 300) break;
      if ((status === 429 || status === 503) && attempt < maxAttempts) {
        await sleep(parseRetryAfter(retryAfter) ?? 200 * 2 ** attempt);
        continue;
      }
      throw new Error(`pushing cynerio events to ${url}: HTTP ${status}: ${text.slice(0, 200)}`);
    }
    sent += batch.length;
    batch = [];
  };
  for (const event of events) {
    batch.push(event);
    if (batch.length >= batchSize) await flush();
  }
  if (batch.length > 0) await flush();
  return sent;
}

async function sendSyslog(
  events: Iterable<CynerioEvent>,
  target: { host: string; port: number },
): Promise<number> {
  const socket = connect({ host: target.host, port: target.port });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let failure: Error | undefined;
  socket.on("error", (error) => {
    failure = error;
  });
  let sent = 0;
  try {
    for (const event of events) {
      if (failure) throw failure;
      if (!socket.write(`${cynerioSyslogLine(event)}\n`))
        await new Promise<void>((resolve, reject) => {
          socket.once("drain", resolve);
          socket.once("close", () => reject(failure ?? new Error("syslog connection closed")));
        });
      sent++;
    }
    await new Promise<void>((resolve) => socket.end(resolve));
  } catch (error) {
    socket.destroy();
    throw new Error(
      `pushing cynerio events to syslog ${target.host}:${target.port}: ${(error as Error).message}`,
    );
  }
  if (failure) throw failure;
  return sent;
}
