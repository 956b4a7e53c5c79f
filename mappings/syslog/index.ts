/**
 * Syslog (CEF/LEEF) records for any routed (source, stream): {@link withSyslog} wraps a stream's
 * REST mapper so that a record the syslog receiver produced (`isSyslogRecord`: one property read
 * for REST records) is mapped with the source's CEF profile instead. A profile may hand the record
 * back to the REST mapper (`nativeColumns`: Cynerio's CEF carries its own event columns).
 */
import { asRecord } from "../document.ts";
import type { EcsDocument, Mapper, MappingContext } from "../types.ts";
import { mapSyslogView, type SyslogProfile } from "./base.ts";
import { isSyslogRecord, syslogView } from "./record.ts";
import { GENERIC_PROFILE } from "./vendors.ts";

export { cefSeverity, cefTime, mapSyslogView, type SyslogProfile } from "./base.ts";
export { isSyslogRecord, syslogView } from "./record.ts";

/** The record carries the vendor's own columns (`profile.nativeColumns`): its REST mapping reads it. */
function nativeSyslog(
  profile: SyslogProfile | undefined,
  record: Readonly<Record<string, unknown>>,
): boolean {
  const columns = profile?.nativeColumns;
  if (columns === undefined) return false;
  const ext = record.extensions as Readonly<Record<string, unknown>>;
  return columns.some((k) => typeof ext[k] === "string" && (ext[k] as string).trim() !== "");
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
export function withSyslog(mapper: Mapper, profile?: SyslogProfile): Mapper {
  return (record, ctx) =>
    isSyslogRecord(record) && !nativeSyslog(profile, record as Readonly<Record<string, unknown>>)
      ? mapSyslogRecord(record, ctx, profile)
      : mapper(record, ctx);
}
