/**
 * The syslog record shape (what `connectors/syslog` hands on: `{format: "cef"|"leef", syslog,
 * cef|leef, extensions, raw, receivedAt, transport, peer}`), recognised cheaply, and one view of a
 * CEF or LEEF event with LEEF's attribute names translated to their CEF equivalents so the mapping
 * reads one vocabulary. Pure.
 */
import { ownValue, setOwn } from "../values.ts";

type Rec = Readonly<Record<string, unknown>>;

function isRec(v: unknown): v is Rec {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * True for a record the syslog receiver produced: `format` is `cef` (with a `cef` header object) or
 * `leef` (with a `leef` header object) and `extensions` is an object. The first test is one
 * property read, so REST records (which carry no `format: "cef"|"leef"`) leave at once.
 */
export function isSyslogRecord(record: unknown): boolean {
  if (!isRec(record)) return false;
  const f = record.format;
  if (f !== "cef" && f !== "leef") return false;
  return isRec(record.extensions) && isRec(f === "cef" ? record.cef : record.leef);
}

/** One CEF/LEEF event, header and extension, in CEF's vocabulary. */
export interface SyslogView {
  format: "cef" | "leef";
  /** CEF `Version` or LEEF `1.0`/`2.0`. */
  version: string;
  vendor: string;
  product: string;
  productVersion: string;
  /** CEF Device Event Class ID, LEEF EventID. */
  eventClassId: string;
  /** CEF Name (LEEF has none: the EventID). */
  name: string;
  /** CEF Severity as sent, or LEEF `sev`. */
  severity: string | undefined;
  /** Extension key → value, LEEF keys renamed to CEF keys ({@link LEEF_TO_CEF}). */
  ext: Readonly<Record<string, string>>;
  /** Custom field key (`cs1`, `flexString2`) → its label, for the labelled ones. */
  labelOf: Readonly<Record<string, string>>;
  syslog: Rec | undefined;
  raw: string | undefined;
  receivedAt: string | undefined;
  transport: string | undefined;
  peer: string | undefined;
}

/** LEEF 1.0/2.0 predefined attribute → the CEF key of the same meaning. */
export const LEEF_TO_CEF: Readonly<Record<string, string>> = {
  srcPort: "spt",
  dstPort: "dpt",
  srcMAC: "smac",
  dstMAC: "dmac",
  srcPreNAT: "sourceTranslatedAddress",
  dstPreNAT: "destinationTranslatedAddress",
  usrName: "suser",
  devTime: "rt",
  srcBytes: "out",
  dstBytes: "in",
  identHostName: "shost",
};

const LABELLED =
  /^(cs|cn|cfp|c6a|flexString|flexNumber|flexDate|deviceCustomDate|deviceCustomNumber|deviceCustomString)\d+$/;

/**
 * Text of a header or extension value. Parsed syslog gives strings; a record read as JSON (`normalize`,
 * a push) may hold anything, including an object whose `toString` is not a function: that one is
 * kept as its JSON text instead of throwing.
 */
function s(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === undefined || v === null) return "";
  try {
    return String(v);
  } catch {
    try {
      return JSON.stringify(v) ?? "";
    } catch {
      return "";
    }
  }
}

/** The view of a record {@link isSyslogRecord} accepted. */
export function syslogView(record: Rec): SyslogView {
  const format = record.format as "cef" | "leef";
  const extensions = record.extensions as Rec;
  const ext: Record<string, string> = {};
  for (const key of Object.keys(extensions)) {
    const v = extensions[key];
    if (v === undefined || v === null) continue;
    const k = format === "leef" ? (ownValue(LEEF_TO_CEF, key) ?? key) : key;
    setOwn(ext, k, s(v));
  }
  const labelOf: Record<string, string> = {};
  for (const key of Object.keys(ext)) {
    if (!LABELLED.test(key)) continue;
    const label = ownValue(ext, `${key}Label`);
    if (label !== undefined && label.trim() !== "") setOwn(labelOf, key, label.trim());
  }
  const syslog = isRec(record.syslog) ? record.syslog : undefined;
  const common = {
    format,
    ext,
    labelOf,
    syslog,
    raw: typeof record.raw === "string" ? record.raw : undefined,
    receivedAt: typeof record.receivedAt === "string" ? record.receivedAt : undefined,
    transport: typeof record.transport === "string" ? record.transport : undefined,
    peer: typeof record.peer === "string" ? record.peer : undefined,
  };
  if (format === "cef") {
    const h = record.cef as Rec;
    return {
      ...common,
      version: s(h.version),
      vendor: s(h.deviceVendor),
      product: s(h.deviceProduct),
      productVersion: s(h.deviceVersion),
      eventClassId: s(h.deviceEventClassId ?? h.signatureId),
      name: s(h.name),
      severity: h.severity === undefined || h.severity === null ? undefined : s(h.severity),
    };
  }
  const h = record.leef as Rec;
  const eventId = s(h.eventId);
  return {
    ...common,
    version: s(h.version),
    vendor: s(h.vendor),
    product: s(h.product),
    productVersion: s(h.productVersion),
    eventClassId: eventId,
    name: ext.name ?? eventId,
    severity: ext.sev,
  };
}
