/**
 * Where a CEF/LEEF event goes, by the vendor and product in its header: a routing table as data.
 * Rules from `receivers.syslog.routes` are checked first, then the built-in ones (each monitor
 * definition's `syslog.routes`, collected as `DEFAULT_SYSLOG_ROUTES` in `monitors/index.ts`); the
 * first match wins. An event no rule matches is dead-lettered with the vendor and product it
 * carried (never dropped), so an operator can add a rule.
 *
 * The built-in vendor/product strings are what these monitors are documented or commonly seen to
 * send; none is verified against a captured event (`../shared/reference` has no syslog samples).
 * Vendors spell themselves differently across releases, so vendors are matched case-insensitively
 * and products are left open unless a vendor sends several kinds of event.
 */
import type { SyslogRoute } from "../../core/config.ts";

export type { SyslogRoute };

export interface RouteTarget {
  source: string;
  type: string;
  stream: string;
}

/** Compiles override rules plus the built-in table into a lookup function. */
export function createRouter(
  overrides: readonly SyslogRoute[] = [],
  builtIn: readonly SyslogRoute[] = [],
): (vendor: string, product: string) => RouteTarget | undefined {
  const rules = [...overrides, ...builtIn].map((r) => ({
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
