/**
 * Where a CEF/LEEF event goes, by the vendor and product in its header: a routing table as data.
 * Rules from `receivers.syslog.routes` are checked first, then {@link DEFAULT_SYSLOG_ROUTES}; the
 * first match wins. An event no rule matches is dead-lettered with the vendor and product it
 * carried (never dropped), so an operator can add a rule.
 *
 * The vendor/product strings below are what these monitors are documented or commonly seen to
 * send; none is verified against a captured event (`../shared/reference` has no syslog samples).
 * Vendors spell themselves differently across releases, so vendors are matched case-insensitively
 * and products are left open unless a vendor sends several kinds of event.
 */
import type { SyslogRoute } from "../../core/config.ts";

export type { SyslogRoute };

/** Built-in routes: vendor (and product) → source id and stream. */
export const DEFAULT_SYSLOG_ROUTES: readonly SyslogRoute[] = [
  { vendor: "Claroty", source: "claroty_xdome", stream: "alert" },
  { vendor: "Nozomi Networks", source: "nozomi", stream: "alert" },
  { vendor: "Nozomi", source: "nozomi", stream: "alert" },
  { vendor: "ForeScout Technologies", source: "forescout", stream: "host" },
  { vendor: "Forescout", source: "forescout", stream: "host" },
  { vendor: "Cynerio", source: "cynerio", stream: "event" },
  { vendor: "Armis", source: "armis", stream: "alert" },
  { vendor: "Armis Security", source: "armis", stream: "alert" },
  // xDome's CEF also arrives as Medigate (Microsoft Sentinel's xDome connector selects DeviceVendor in "Claroty,Medigate").
  { vendor: "Medigate", source: "claroty_xdome", stream: "alert" },
];

export interface RouteTarget {
  source: string;
  type: string;
  stream: string;
}

/** Compiles override rules plus the built-in table into a lookup function. */
export function createRouter(
  overrides: readonly SyslogRoute[] = [],
): (vendor: string, product: string) => RouteTarget | undefined {
  const rules = [...overrides, ...DEFAULT_SYSLOG_ROUTES].map((r) => ({
    vendor: r.vendor.trim().toLowerCase(),
    product: r.product?.trim().toLowerCase(),
    target: { source: r.source, type: r.type ?? r.source, stream: r.stream },
  }));
  return (vendor, product) => {
    const v = vendor.trim().toLowerCase();
    const p = product.trim().toLowerCase();
    return rules.find((r) => r.vendor === v && (r.product === undefined || r.product === p))?.target;
  };
}
