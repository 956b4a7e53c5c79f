/**
 * The fleet's deterministic randomness: integer hashing, a seeded generator, exact allocation of
 * shares and the hex helpers the identifiers are built with. Everything is a pure function of its
 * arguments, so device `i` of a seed is the same on every run and every machine.
 */

/** A 32-bit integer hash (a murmur3-style finaliser). */
export function mix32(value: number): number {
  let a = value | 0;
  a ^= a >>> 16;
  a = Math.imul(a, 0x7feb352d);
  a ^= a >>> 15;
  a = Math.imul(a, 0x846ca68b);
  a ^= a >>> 16;
  return a >>> 0;
}

/** A seeded generator of floats in [0, 1) (Mulberry32). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Upper-case two-digit hex of every byte. */
export const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase().padStart(2, "0"));
/** Eight lower-case hex digits of a 32-bit value. */
export const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, "0");

/** The largest-remainder allocation of `total` over `weights` (shares exact to one unit). */
export function allocate(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const raw = weights.map((wt) => (wt / sum) * total);
  const out = raw.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = raw.map((r, i) => [r - Math.floor(r), i] as const).sort((a, b) => b[0] - a[0]);
  for (const [, i] of order) {
    if (left <= 0) break;
    out[i] = (out[i] ?? 0) + 1;
    left--;
  }
  return out;
}

/** FNV-1a hash of a string. */
export function hashString(s: string): number {
  let x = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) x = Math.imul(x ^ s.charCodeAt(k), 0x01000193);
  return x >>> 0;
}

/** A stable RFC 4122-shaped UUID for device `i`. */
export function deviceUid(i: number, seed: number): string {
  const a = hex8(mix32(i ^ seed ^ 0x6a09e667));
  const b = hex8(mix32(i ^ seed ^ 0xbb67ae85));
  const c = hex8(mix32(i ^ seed ^ 0x3c6ef372));
  const d = hex8(mix32(i ^ seed ^ 0xa54ff53a));
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-8${c.slice(1, 4)}-${c.slice(4)}${d}`;
}
