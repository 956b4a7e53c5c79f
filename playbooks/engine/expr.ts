/**
 * Conditions (`when:`) and templated values (`with:`) of playbooks and rules, evaluated with JSONata
 * (the `jsonata` package): a side-effect-free query language interpreted by its own evaluator, with
 * no `eval`/`new Function`, so a playbook file can never run code. Expressions are compiled once and
 * cached; a syntax error is reported with its position when the playbook is loaded.
 */
import jsonata from "jsonata";
import { PermanentError } from "../../core/errors.ts";

type Compiled = ReturnType<typeof jsonata>;
const cache = new Map<string, Compiled>();

/** Compiles (and caches) one expression; throws a `PermanentError` naming the position of a syntax error. */
export function compile(expression: string): Compiled {
  let c = cache.get(expression);
  if (!c) {
    try {
      c = jsonata(expression);
    } catch (error) {
      const e = error as { message?: string; position?: number };
      throw new PermanentError(
        `invalid expression ${JSON.stringify(expression)}${e.position !== undefined ? ` at ${e.position}` : ""}: ${e.message ?? String(error)}`,
      );
    }
    if (cache.size > 5000) cache.clear();
    cache.set(expression, c);
  }
  return c;
}

/** Evaluates an expression against `scope`; `undefined` when it selects nothing. */
export async function evaluate(expression: string, scope: unknown): Promise<unknown> {
  try {
    return await compile(expression).evaluate(scope);
  } catch (error) {
    if (error instanceof PermanentError) throw error;
    const e = error as { message?: string };
    throw new PermanentError(`evaluating ${JSON.stringify(expression)}: ${e.message ?? String(error)}`);
  }
}

/** A condition: true only when the expression yields boolean `true` (anything else, missing included, is false). */
export async function test(expression: string | undefined, scope: unknown): Promise<boolean> {
  if (expression === undefined) return true;
  return (await evaluate(expression, scope)) === true;
}

const WHOLE = /^\{\{([\s\S]+?)\}\}$/;
const PART = /\{\{([\s\S]+?)\}\}/g;

/** Every expression inside `{{ … }}` of a templated value (for load-time syntax checks). */
export function templateExpressions(value: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === "string") for (const m of v.matchAll(PART)) out.push((m[1] as string).trim());
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  walk(value);
  return out;
}

/**
 * Renders a templated value: strings made of one `{{ expr }}` become the expression's value (any
 * type); strings mixing text and `{{ expr }}` become text; objects and arrays are rendered deeply.
 */
export async function render(value: unknown, scope: unknown): Promise<unknown> {
  if (typeof value === "string") {
    const whole = WHOLE.exec(value.trim());
    if (whole && !(whole[1] as string).includes("{{")) return evaluate((whole[1] as string).trim(), scope);
    if (!value.includes("{{")) return value;
    let out = "";
    let last = 0;
    for (const m of value.matchAll(PART)) {
      out += value.slice(last, m.index);
      const v = await evaluate((m[1] as string).trim(), scope);
      out += v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v);
      last = (m.index ?? 0) + m[0].length;
    }
    return out + value.slice(last);
  }
  if (Array.isArray(value)) return Promise.all(value.map((v) => render(v, scope)));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = await render(v, scope);
      if (r !== undefined) out[k] = r;
    }
    return out;
  }
  return value;
}

/** Parses `30s`, `15m`, `2h`, `1d` or a number of milliseconds. */
export function parseDuration(value: string | number): number {
  if (typeof value === "number") return value;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(value.trim());
  if (!m) throw new PermanentError(`invalid duration ${JSON.stringify(value)} (use 500ms, 30s, 15m, 2h, 1d)`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "ms"];
  return Math.round(n * unit);
}
