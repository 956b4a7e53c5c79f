/**
 * The syslog push receiver (RFC 5424 / RFC 3164 over UDP, TCP and TLS; CEF and LEEF payloads
 * routed by vendor/product). See `receiver.ts` for the runtime, `routes.ts` for the routing table.
 */
export { type CefEvent, type CefHeader, CefParseError, parseCef, parseCefExtension } from "./cef.ts";
export { type FramingProblem, SyslogFramer } from "./framing.ts";
export { type LeefEvent, type LeefHeader, LeefParseError, parseLeef } from "./leef.ts";
export { decodeUtf8, parseMessage, type SyslogRecord, type UnparsedMessage, vendorOf } from "./message.ts";
export { type SyslogAddresses, SyslogReceiver, type SyslogReceiverOptions } from "./receiver.ts";
export { createRouter, type RouteTarget, type SyslogRoute } from "./routes.ts";
export { parseSyslog, type SyslogHeader } from "./syslog.ts";
