/**
 * Syslog headers: RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG`) and RFC 3164, the
 * BSD format (`<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG`) with the variants senders really produce:
 * no hostname, an ISO timestamp, a year after the day, no PRI at all.
 *
 * Written here rather than taken from npm: `syslog-parse` reads RFC 3164 only, and
 * `nsyslog-parser` (RFC 5424/3164 + CEF) leaves `\|` escaped in CEF headers and splits CEF
 * extensions on every `=`, so `\=` and values with spaces come out wrong.
 */
import { ownValue, setOwn } from "../../core/json.ts";

export const FACILITIES = [
  "kern",
  "user",
  "mail",
  "daemon",
  "auth",
  "syslog",
  "lpr",
  "news",
  "uucp",
  "cron",
  "authpriv",
  "ftp",
  "ntp",
  "security",
  "console",
  "solaris-cron",
  "local0",
  "local1",
  "local2",
  "local3",
  "local4",
  "local5",
  "local6",
  "local7",
] as const;
export const SEVERITIES = [
  "emergency",
  "alert",
  "critical",
  "error",
  "warning",
  "notice",
  "informational",
  "debug",
] as const;

/** One parsed syslog header. Absent fields (NILVALUE `-`, or not sent) are null. */
export interface SyslogHeader {
  /** Which header the message carried; `none` when no header was recognised (the whole text is `message`). */
  format: "rfc5424" | "rfc3164" | "none";
  /** PRI value (facility·8 + severity), null without a PRI. */
  pri: number | null;
  facility: number | null;
  facilityName: string | null;
  severity: number | null;
  severityName: string | null;
  /** As sent. */
  timestampRaw: string | null;
  /**
   * ISO-8601 UTC. RFC 3164 timestamps carry neither year nor zone: the year is the one that puts
   * the time nearest to the receive time, and the zone is taken as UTC.
   */
  timestamp: string | null;
  hostname: string | null;
  appName: string | null;
  procId: string | null;
  msgId: string | null;
  /** RFC 5424 structured data: SD-ID → parameters (a repeated parameter keeps every value, in order). */
  structuredData: Record<string, Record<string, string | string[]>> | null;
  /** MSG (RFC 5424 BOM removed). */
  message: string;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const PRI = /^<(\d{1,3})>/;
const BSD_TS = /^([A-Z][a-z]{2}) {1,2}(\d{1,2})(?: (\d{4}))? (\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?= |$)/;
const ISO_TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})(?= |$)/;
const TAG = /^([^\s:[\]]{1,64})(?:\[([^\]\s]{0,128})\])?:(?: |$)/;
const PAYLOAD_START = /^(?:CEF:\d+\||LEEF:[12]\.0\|)/;

/** Splits a syslog message into header fields and MSG. Never throws: unparseable text is `format: none`. */
export function parseSyslog(text: string, receivedAt: Date = new Date()): SyslogHeader {
  const header: SyslogHeader = {
    format: "none",
    pri: null,
    facility: null,
    facilityName: null,
    severity: null,
    severityName: null,
    timestampRaw: null,
    timestamp: null,
    hostname: null,
    appName: null,
    procId: null,
    msgId: null,
    structuredData: null,
    message: text,
  };
  let rest = text;
  const pri = PRI.exec(rest);
  if (pri) {
    const value = Number(pri[1]);
    if (value <= 191) {
      header.pri = value;
      header.facility = value >> 3;
      header.severity = value & 7;
      header.facilityName = FACILITIES[header.facility] ?? null;
      header.severityName = SEVERITIES[header.severity] ?? null;
      rest = rest.slice(pri[0].length);
    }
  }
  if (header.pri !== null && /^[1-9]\d{0,2} /.test(rest)) {
    const parsed = parse5424(rest, header);
    if (parsed) return parsed;
  }
  return parse3164(rest, header, receivedAt);
}

function nil(v: string | undefined): string | null {
  return v === undefined || v === "-" ? null : v;
}

function parse5424(text: string, header: SyslogHeader): SyslogHeader | null {
  // VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID, each one token.
  const parts: string[] = [];
  let pos = 0;
  for (let i = 0; i < 6; i++) {
    const sp = text.indexOf(" ", pos);
    if (sp === -1) return null;
    parts.push(text.slice(pos, sp));
    pos = sp + 1;
  }
  const [, ts, host, app, proc, msgId] = parts;
  if (ts !== "-" && !ISO_TS.test(ts ?? "")) return null;
  const sd = parseStructuredData(text, pos);
  if (!sd) return null;
  let message = text.slice(sd.end);
  if (message.startsWith(" ")) message = message.slice(1);
  if (message.startsWith("\uFEFF")) message = message.slice(1);
  const timestamp = nil(ts);
  return {
    ...header,
    format: "rfc5424",
    timestampRaw: timestamp,
    timestamp: timestamp ? toIso(timestamp) : null,
    hostname: nil(host),
    appName: nil(app),
    procId: nil(proc),
    msgId: nil(msgId),
    structuredData: sd.data,
    message,
  };
}

function toIso(ts: string): string | null {
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** RFC 5424 STRUCTURED-DATA from `start`: `-` or `[id k="v" …]…`; param values unescape `\"`, `\\`, `\]`. */
function parseStructuredData(
  text: string,
  start: number,
): { data: SyslogHeader["structuredData"]; end: number } | null {
  if (text[start] === "-") return { data: null, end: start + 1 };
  if (text[start] !== "[") return null;
  const data: Record<string, Record<string, string | string[]>> = {};
  let i = start;
  while (text[i] === "[") {
    i++;
    const idEnd = text.slice(i).search(/[ \]]/);
    if (idEnd <= 0) return null;
    const id = text.slice(i, i + idEnd);
    i += idEnd;
    const params: Record<string, string | string[]> = ownValue(data, id) ?? {};
    setOwn(data, id, params);
    while (text[i] === " ") {
      i++;
      const eq = text.indexOf("=", i);
      if (eq === -1 || text[eq + 1] !== '"') return null;
      const name = text.slice(i, eq);
      if (!/^[^\s="\]]{1,32}$/.test(name)) return null;
      i = eq + 2;
      let value = "";
      for (;;) {
        const ch = text[i];
        if (ch === undefined) return null;
        if (ch === "\\" && (text[i + 1] === '"' || text[i + 1] === "\\" || text[i + 1] === "]")) {
          value += text[i + 1];
          i += 2;
          continue;
        }
        if (ch === '"') {
          i++;
          break;
        }
        value += ch;
        i++;
      }
      const prev = ownValue(params, name);
      setOwn(
        params,
        name,
        prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value],
      );
    }
    if (text[i] !== "]") return null;
    i++;
  }
  return { data, end: i };
}

function parse3164(text: string, header: SyslogHeader, receivedAt: Date): SyslogHeader {
  let rest = text;
  const out: SyslogHeader = { ...header };
  const bsd = BSD_TS.exec(rest);
  const iso = bsd ? null : ISO_TS.exec(rest);
  if (bsd) {
    out.timestampRaw = bsd[0];
    out.timestamp = bsdToIso(bsd, receivedAt);
    rest = rest.slice(bsd[0].length).replace(/^ /, "");
  } else if (iso) {
    out.timestampRaw = iso[0];
    out.timestamp = toIso(iso[0]);
    rest = rest.slice(iso[0].length).replace(/^ /, "");
  }
  if (out.pri === null && !bsd && !iso) return out; // no header at all
  out.format = "rfc3164";
  // HOSTNAME: a token that is neither the payload (CEF/LEEF) nor a TAG ("app:" or "app[pid]:").
  if (!PAYLOAD_START.test(rest)) {
    const sp = rest.indexOf(" ");
    const token = sp === -1 ? rest : rest.slice(0, sp);
    if (token && !TAG.test(`${token} `) && sp !== -1 && (bsd || iso)) {
      out.hostname = token;
      rest = rest.slice(sp + 1);
    }
  }
  if (!PAYLOAD_START.test(rest)) {
    const tag = TAG.exec(rest);
    if (tag) {
      out.appName = tag[1] ?? null;
      out.procId = tag[2] || null;
      rest = rest.slice(tag[0].length);
    }
  }
  out.message = rest;
  return out;
}

function bsdToIso(m: RegExpExecArray, receivedAt: Date): string | null {
  const month = MONTHS.indexOf(m[1] ?? "");
  if (month === -1) return null;
  const [day, hh, mm, ss] = [m[2], m[4], m[5], m[6]].map(Number) as [number, number, number, number];
  const at = (year: number) => Date.UTC(year, month, day, hh, mm, ss);
  let ms: number;
  if (m[3]) ms = at(Number(m[3]));
  else {
    // No year: the candidate nearest to the receive time (a December message received in January).
    const y = receivedAt.getUTCFullYear();
    const candidates = [y - 1, y, y + 1].map(at);
    ms = candidates.reduce((best, c) =>
      Math.abs(c - receivedAt.getTime()) < Math.abs(best - receivedAt.getTime()) ? c : best,
    );
  }
  const d = new Date(ms);
  return d.getUTCDate() === day ? d.toISOString() : null;
}
