/**
 * Heap growth of the embedded default (issue 13 item 9). Measured with 20,000 simulated devices, the
 * live heap stays a few hundred MB (mostly the in-memory device state, about 10 KB of JSON per
 * device), yet the process peaked at 1.9–2.3 GB resident: V8 grows the old generation up to 4× the
 * live size after each full collection when the machine is busy, and mapping allocates fast. Capping
 * the growth factor keeps the heap near what is live, at the cost of more frequent collections,
 * without an absolute limit that a larger fleet could hit (`--max-old-space-size` would crash it).
 */
import { setFlagsFromString } from "node:v8";

/** Old-generation growth after a full collection, in percent (V8's own heuristic allows up to 300). */
export const EMBEDDED_HEAP_GROWING_PERCENT = 20;

/**
 * Caps V8's heap growth factor at `1 + percent/100` unless the operator chose a value
 * (`--heap-growing-percent` in `NODE_OPTIONS` or on the command line). Returns whether it set it.
 *
 * ASSUMED (V8 11.3 in Node 20, 12.x in Node 22): `heap_growing_percent` is read by V8's memory
 * controller at every full collection, so setting it after start-up takes effect; measured on
 * Node 20 (the flag changed peak RSS, see docs/input-limits.md). Where a V8 lacks the flag, V8
 * prints "unrecognized flag" and nothing else changes.
 */
export function boundHeapGrowth(percent: number = EMBEDDED_HEAP_GROWING_PERCENT): boolean {
  const chosen = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].some((a) =>
    /--heap[-_]growing[-_]percent/.test(a),
  );
  if (chosen) return false;
  setFlagsFromString(`--heap-growing-percent=${Math.max(1, Math.round(percent))}`);
  return true;
}
