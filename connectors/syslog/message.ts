/**
 * One received syslog message → the record handed on: the syslog header, the CEF or LEEF header
 * and extensions, the raw message, and how it arrived. Pure: no I/O, no clock (the receive time
 * is passed in).
 */
import { type CefHeader, CefParseError, parseCef } from "./cef.ts";
import { type LeefHeader, LeefParseError, parseLeef } from "./leef.ts";
import { parseSyslog, type SyslogHeader } from "./syslog.ts";

/** The record a syslog message becomes (what `<source>.<stream>` mappings receive from syslog). */
export interface SyslogRecord {
  /** Which payload the message carried. */
  format: "cef" | "leef";
  /** The syslog header (without `message`). */
  syslog: Omit<SyslogHeader, "message">;
  /** Set for CEF. */
  cef?: CefHeader;
  /** CEF custom fields by label (`cs1Label=Zone cs1=ICU` → `{Zone: "ICU"}`). */
  cefCustomLabels?: Record<string, string>;
  /** Set for LEEF. */
  leef?: LeefHeader;
  /** CEF extension or LEEF attribute key → unescaped value. */
  extensions: Record<string, string>;
  /** The whole message as received (decoded as UTF-8). */
  raw: string;
  /** ISO-8601 UTC receive time. */
  receivedAt: string;
  /** `udp`, `tcp` or `tls`, and the sender's address. */
  transport: string;
  peer: string;
  /** The bytes were not valid UTF-8: invalid sequences became U+FFFD in `raw`; `rawBase64` keeps the bytes. */
  invalidUtf8?: true;
  rawBase64?: string;
}

export interface ReceivedMessage {
  bytes: Buffer;
  transport: string;
  peer: string;
  receivedAt: Date;
}

/** A message that holds no CEF/LEEF event, or an unreadable one. */
export interface UnparsedMessage {
  reason: string;
  syslog: Omit<SyslogHeader, "message">;
  raw: string;
  receivedAt: string;
  transport: string;
  peer: string;
  invalidUtf8?: true;
  rawBase64?: string;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const lenientUtf8 = new TextDecoder("utf-8", { fatal: false });
const PAYLOAD = /(?:^|\s)((?:CEF:\d+|LEEF:[12]\.0)\|)/;

/** Decodes UTF-8; invalid sequences become U+FFFD and are flagged. */
export function decodeUtf8(bytes: Buffer): { text: string; invalid: boolean } {
  try {
    return { text: strictUtf8.decode(bytes), invalid: false };
  } catch {
    return { text: lenientUtf8.decode(bytes), invalid: true };
  }
}

/** Parses one message; `ok: false` carries the reason (it is dead-lettered, not dropped). */
export function parseMessage(
  msg: ReceivedMessage,
): { ok: true; record: SyslogRecord } | { ok: false; unparsed: UnparsedMessage } {
  const decoded = decodeUtf8(msg.bytes);
  // Trailing line ends belong to the framing, not the message (UDP senders often add one).
  const raw = decoded.text.replace(/[\r\n]+$/, "");
  const { message, ...syslog } = parseSyslog(raw, msg.receivedAt);
  const base = {
    raw,
    receivedAt: msg.receivedAt.toISOString(),
    transport: msg.transport,
    peer: msg.peer,
    ...(decoded.invalid ? { invalidUtf8: true as const, rawBase64: msg.bytes.toString("base64") } : {}),
  };
  const at = PAYLOAD.exec(message);
  if (!at)
    return { ok: false, unparsed: { ...base, syslog, reason: "no CEF or LEEF payload in the message" } };
  const payload = message.slice(at.index + at[0].length - (at[1] as string).length);
  try {
    if (payload.startsWith("CEF:")) {
      const cef = parseCef(payload);
      return {
        ok: true,
        record: {
          format: "cef",
          syslog,
          cef: cef.header,
          cefCustomLabels: cef.customLabels,
          extensions: cef.extensions,
          ...base,
        },
      };
    }
    const leef = parseLeef(payload);
    return {
      ok: true,
      record: { format: "leef", syslog, leef: leef.header, extensions: leef.extensions, ...base },
    };
  } catch (error) {
    if (error instanceof CefParseError || error instanceof LeefParseError)
      return { ok: false, unparsed: { ...base, syslog, reason: error.message } };
    throw error;
  }
}

/** Vendor and product of a parsed record, for routing. */
export function vendorOf(record: SyslogRecord): { vendor: string; product: string } {
  return record.cef
    ? { vendor: record.cef.deviceVendor, product: record.cef.deviceProduct }
    : { vendor: record.leef?.vendor ?? "", product: record.leef?.product ?? "" };
}
