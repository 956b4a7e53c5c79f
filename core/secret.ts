import { inspect } from "node:util";

const REDACTED = "[redacted]";

/**
 * A secret value (token, password, API key). It redacts itself wherever it might be printed:
 * `String()`, template literals, `JSON.stringify`, `util.inspect` and pino all see `[redacted]`.
 * Only `reveal()` returns the value, and only code that sends it to its own system calls it.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
}

/** Replaces every occurrence of known secret values in free text (error bodies, URLs) before it is logged. */
export function scrub(text: string, secrets: Iterable<string | Secret | undefined>): string {
  let out = text;
  for (const s of secrets) {
    const v = s instanceof Secret ? s.reveal() : s;
    if (v && v.length >= 4) out = out.split(v).join(REDACTED);
  }
  return out;
}
