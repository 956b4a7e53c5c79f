import type { DeviceLookup } from "../../mappings/device-state.ts";
import type { IndexKind } from "./core.ts";
import { normaliseMac } from "./observe.ts";

/** Resolves a {@link DeviceLookup}: MAC, then serial, then IP + hostname (+ site). */
export async function resolveLookup(
  backend: { lookup(kind: IndexKind, values: readonly string[]): Promise<(string | null)[]> },
  lookup: DeviceLookup,
): Promise<string | null> {
  const mac = lookup.mac === undefined ? undefined : normaliseMac(lookup.mac);
  if (mac !== undefined) {
    const [k] = await backend.lookup("mac", [mac]);
    if (k) return k;
  }
  if (lookup.serial !== undefined) {
    const [k] = await backend.lookup("serial", [lookup.serial.toUpperCase()]);
    if (k) return k;
  }
  if (lookup.ip !== undefined && lookup.hostname !== undefined) {
    const [k] = await backend.lookup("iphost", [
      `${lookup.site ?? ""}|${lookup.ip}|${lookup.hostname.toLowerCase()}`,
    ]);
    if (k) return k;
  }
  return null;
}
