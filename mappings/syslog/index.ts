/**
 * Syslog (CEF/LEEF) records for any routed (source, stream): {@link withSyslog} wraps a stream's
 * REST mapper so that a record the syslog receiver produced (`isSyslogRecord`: one property read
 * for REST records) is mapped with the source's CEF profile instead. A profile may hand the record
 * back to the REST mapper (`nativeSyslog`: Cynerio's CEF carries its own event columns).
 */
import { asRecord } from "../document.ts";
import type { EcsDocument, Mapper, MappingContext } from "../types.ts";
import { mapSyslogView, type SyslogProfile } from "./base.ts";
import { isSyslogRecord, syslogView } from "./record.ts";
import { GENERIC_PROFILE } from "./vendors.ts";

export { cefSeverity, cefTime, mapSyslogView, type SyslogProfile } from "./base.ts";
export { isSyslogRecord, syslogView } from "./record.ts";

/** Cynerio columns in a CEF extension: the event mapping reads those records itself. */
const CYNERIO_NATIVE = ["uid", "asset_id", "title"];

function nativeSyslog(source: string, record: Readonly<Record<string, unknown>>): boolean {
  if (source !== "cynerio") return false;
  const ext = record.extensions as Readonly<Record<string, unknown>>;
  return CYNERIO_NATIVE.some((k) => typeof ext[k] === "string" && (ext[k] as string).trim() !== "");
}

/** Maps one syslog record for `ctx.source`/`ctx.stream` with the source's profile (its monitor definition's). */
export function mapSyslogRecord(
  record: unknown,
  ctx: MappingContext,
  profile: SyslogProfile = GENERIC_PROFILE,
): EcsDocument {
  const r = asRecord(record, `${ctx.source} syslog record`);
  return mapSyslogView(syslogView(r), profile, ctx, record);
}

/** `mapper` for REST records, the source's CEF/LEEF mapping for syslog records. */
export function withSyslog(source: string, mapper: Mapper, profile?: SyslogProfile): Mapper {
  return (record, ctx) =>
    isSyslogRecord(record) && !nativeSyslog(source, record as Readonly<Record<string, unknown>>)
      ? mapSyslogRecord(record, ctx, profile)
      : mapper(record, ctx);
}
