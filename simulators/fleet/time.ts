/** Time helpers shared by the fleet and the monitor simulators that render it. */

/** Microseconds in a day. */
export const DAY_US = 86_400_000_000;

/** ISO-8601 with microseconds and `+00:00`, the Armis format. */
export function isoMicros(us: number): string {
  const sec = Math.floor(us / 1_000_000);
  if (sec !== cachedSecond) {
    cachedSecond = sec;
    cachedPrefix = new Date(sec * 1000).toISOString().slice(0, 19);
  }
  const frac = us - sec * 1_000_000;
  return `${cachedPrefix}.${String(frac).padStart(6, "0")}+00:00`;
}
// Consecutive devices share a second, so one cached prefix saves most Date formatting.
let cachedSecond = Number.NaN;
let cachedPrefix = "";
