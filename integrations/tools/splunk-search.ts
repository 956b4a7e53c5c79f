/**
 * A small, faithful subset of Splunk search-time processing, enough to prove CIM compliance
 * offline: JSON auto-extraction (KV_MODE = json), FIELDALIAS, EVAL (literals, field references,
 * `.`, comparisons, AND/OR/NOT and the functions listed in {@link FUNCTIONS}), eventtypes and tags,
 * and the boolean search syntax used by eventtypes and CIM constraints (`a=b`, `a!=b`, `a IN (…)`,
 * `NOT`, `OR`, implicit `AND`, parentheses, `*` wildcards). Anything outside the subset throws, so
 * a props.conf the tests cannot evaluate fails loudly instead of passing.
 */
import { type ConfFile, settingValue } from "./splunk-conf.ts";

/** Field values at search time: every field is multivalue-capable. */
export type Fields = Map<string, string[]>;

/** Flattens a JSON event as KV_MODE = json does: `a.b`, arrays as `a{}` / `a{}.b`, scalars as strings. */
export function extractJson(doc: unknown): Fields {
  const fields: Fields = new Map();
  const put = (k: string, v: string) => {
    const list = fields.get(k);
    if (list) list.push(v);
    else fields.set(k, [v]);
  };
  const walk = (value: unknown, path: string) => {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
      for (const item of value) walk(item, `${path}{}`);
      return;
    }
    if (typeof value === "object") {
      for (const [k, v] of Object.entries(value as Record<string, unknown>))
        walk(v, path ? `${path}.${k}` : k);
      return;
    }
    put(path, String(value));
  };
  walk(doc, "");
  return fields;
}

type Value = null | string | number | boolean | string[];

/* ---------------- eval ---------------- */

type Token = { t: "str" | "num" | "field" | "ident" | "op" | "punct"; v: string };

function tokenizeEval(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const operandEnded = () => {
    const last = out[out.length - 1];
    return (
      last !== undefined &&
      (last.t === "str" || last.t === "num" || last.t === "field" || last.t === "ident" || last.v === ")")
    );
  };
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let s = "";
      while (j < src.length && src[j] !== '"') {
        if (src[j] === "\\" && j + 1 < src.length) {
          s += src[j + 1];
          j += 2;
        } else s += src[j++];
      }
      out.push({ t: "str", v: s });
      i = j + 1;
      continue;
    }
    if (c === "'") {
      const j = src.indexOf("'", i + 1);
      out.push({ t: "field", v: src.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    if (c === "." && operandEnded()) {
      out.push({ t: "op", v: "." });
      i++;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (["==", "!=", ">=", "<="].includes(two)) {
      out.push({ t: "op", v: two });
      i += 2;
      continue;
    }
    if ("=<>+-*/%".includes(c)) {
      out.push({ t: "op", v: c === "=" ? "==" : c });
      i++;
      continue;
    }
    if ("(),".includes(c)) {
      out.push({ t: "punct", v: c });
      i++;
      continue;
    }
    const num = /^\d+(\.\d+)?/.exec(src.slice(i));
    if (num) {
      out.push({ t: "num", v: num[0] });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_.{}]*/.exec(src.slice(i));
    if (id) {
      out.push({ t: "ident", v: id[0] });
      i += id[0].length;
      continue;
    }
    throw new Error(`eval: unexpected character ${JSON.stringify(c)} in ${src}`);
  }
  return out;
}

type Node =
  | { k: "lit"; v: Value }
  | { k: "field"; name: string }
  | { k: "call"; fn: string; args: Node[] }
  | { k: "bin"; op: string; l: Node; r: Node }
  | { k: "not"; e: Node };

function parseEval(src: string): Node {
  const toks = tokenizeEval(src);
  let p = 0;
  const peek = () => toks[p];
  const eat = (v?: string) => {
    const t = toks[p++];
    if (!t || (v !== undefined && t.v !== v)) throw new Error(`eval: expected ${v ?? "a token"} in ${src}`);
    return t;
  };
  const isWord = (w: string) => peek()?.t === "ident" && peek()?.v.toUpperCase() === w;
  const primary = (): Node => {
    const t = eat();
    if (t.t === "str") return { k: "lit", v: t.v };
    if (t.t === "num") return { k: "lit", v: Number(t.v) };
    if (t.t === "field") return { k: "field", name: t.v };
    if (t.v === "(") {
      const e = or();
      eat(")");
      return e;
    }
    if (t.t === "ident") {
      if (peek()?.v === "(") {
        eat("(");
        const args: Node[] = [];
        if (peek()?.v !== ")") {
          args.push(or());
          while (peek()?.v === ",") {
            eat(",");
            args.push(or());
          }
        }
        eat(")");
        const fn = t.v.toLowerCase();
        if (!Object.hasOwn(FUNCTIONS, fn))
          throw new Error(`eval: function ${t.v}() is outside the supported subset`);
        return { k: "call", fn, args };
      }
      return { k: "field", name: t.v };
    }
    if (t.v === "-") return { k: "bin", op: "-", l: { k: "lit", v: 0 }, r: primary() };
    throw new Error(`eval: unexpected ${t.v} in ${src}`);
  };
  const mul = (): Node => {
    let l = primary();
    while (peek()?.t === "op" && ["*", "/", "%"].includes(peek()?.v as string))
      l = { k: "bin", op: eat().v, l, r: primary() };
    return l;
  };
  const add = (): Node => {
    let l = mul();
    while (peek()?.t === "op" && ["+", "-", "."].includes(peek()?.v as string))
      l = { k: "bin", op: eat().v, l, r: mul() };
    return l;
  };
  const cmp = (): Node => {
    let l = add();
    while (peek()?.t === "op" && ["==", "!=", ">=", "<=", ">", "<"].includes(peek()?.v as string))
      l = { k: "bin", op: eat().v, l, r: add() };
    return l;
  };
  const not = (): Node => {
    if (isWord("NOT")) {
      eat();
      return { k: "not", e: not() };
    }
    return cmp();
  };
  const and = (): Node => {
    let l = not();
    while (isWord("AND")) {
      eat();
      l = { k: "bin", op: "AND", l, r: not() };
    }
    return l;
  };
  const or = (): Node => {
    let l = and();
    while (isWord("OR")) {
      eat();
      l = { k: "bin", op: "OR", l, r: and() };
    }
    return l;
  };
  const e = or();
  if (p !== toks.length) throw new Error(`eval: trailing tokens in ${src}`);
  return e;
}

const first = (v: Value): string | number | boolean | null => (Array.isArray(v) ? (v[0] ?? null) : v);
const asNum = (v: Value): number | null => {
  const x = first(v);
  if (x === null || typeof x === "boolean") return null;
  const n = typeof x === "number" ? x : Number(x);
  return x === "" || Number.isNaN(n) ? null : n;
};
const asStr = (v: Value): string | null => {
  const x = first(v);
  return x === null ? null : String(x);
};
const values = (v: Value): string[] => (v === null ? [] : Array.isArray(v) ? v : [String(v)]);

/** The eval functions of the subset. */
export const FUNCTIONS: Record<string, (args: Node[], f: Fields) => Value> = {
  coalesce: (a, f) => {
    for (const x of a) {
      const v = evalNode(x, f);
      if (v !== null) return v;
    }
    return null;
  },
  if: (a, f) => (truthy(evalNode(a[0] as Node, f)) ? evalNode(a[1] as Node, f) : evalNode(a[2] as Node, f)),
  case: (a, f) => {
    for (let i = 0; i + 1 < a.length; i += 2)
      if (truthy(evalNode(a[i] as Node, f))) return evalNode(a[i + 1] as Node, f);
    return null;
  },
  lower: (a, f) => {
    const v = evalNode(a[0] as Node, f);
    return Array.isArray(v) ? v.map((s) => s.toLowerCase()) : v === null ? null : String(v).toLowerCase();
  },
  upper: (a, f) => {
    const v = evalNode(a[0] as Node, f);
    return Array.isArray(v) ? v.map((s) => s.toUpperCase()) : v === null ? null : String(v).toUpperCase();
  },
  mvindex: (a, f) => {
    const list = values(evalNode(a[0] as Node, f));
    const i = asNum(evalNode(a[1] as Node, f)) ?? 0;
    return list.at(i) ?? null;
  },
  mvfind: (a, f) => {
    const re = new RegExp(asStr(evalNode(a[1] as Node, f)) ?? "");
    const i = values(evalNode(a[0] as Node, f)).findIndex((s) => re.test(s));
    return i < 0 ? null : i;
  },
  match: (a, f) => {
    const s = asStr(evalNode(a[0] as Node, f));
    return s === null ? null : new RegExp(asStr(evalNode(a[1] as Node, f)) ?? "").test(s);
  },
  like: (a, f) => {
    const s = asStr(evalNode(a[0] as Node, f));
    const pat = asStr(evalNode(a[1] as Node, f)) ?? "";
    const re = new RegExp(
      `^${pat
        .replace(/[.+?^${}()|[\]\\]/g, "\\$&")
        .replace(/%/g, ".*")
        .replace(/_/g, ".")}$`,
    );
    return s === null ? null : re.test(s);
  },
  isnull: (a, f) => evalNode(a[0] as Node, f) === null,
  isnotnull: (a, f) => evalNode(a[0] as Node, f) !== null,
  isnum: (a, f) => asNum(evalNode(a[0] as Node, f)) !== null,
  null: () => null,
  true: () => true,
  false: () => false,
  tostring: (a, f) => asStr(evalNode(a[0] as Node, f)),
  tonumber: (a, f) => asNum(evalNode(a[0] as Node, f)),
  round: (a, f) => {
    const n = asNum(evalNode(a[0] as Node, f));
    const d = a[1] ? (asNum(evalNode(a[1], f)) ?? 0) : 0;
    return n === null ? null : Math.round(n * 10 ** d) / 10 ** d;
  },
};

function truthy(v: Value): boolean {
  return v === true || (typeof v === "number" && v !== 0) || (typeof v === "string" && v === "true");
}

function compare(op: string, l: Value, r: Value): Value {
  if (l === null || r === null) return null;
  const ln = asNum(l);
  const rn = asNum(r);
  if (op === "==" || op === "!=") {
    const rs = asStr(r) as string;
    const eq = values(l).some((x) => (ln !== null && rn !== null ? Number(x) === rn : x === rs));
    return op === "==" ? eq : !eq;
  }
  const [a, b] = ln !== null && rn !== null ? [ln, rn] : [asStr(l) as string, asStr(r) as string];
  return op === ">=" ? a >= b : op === "<=" ? a <= b : op === ">" ? a > b : a < b;
}

function evalNode(n: Node, f: Fields): Value {
  switch (n.k) {
    case "lit":
      return n.v;
    case "field": {
      const v = f.get(n.name);
      return v === undefined || v.length === 0 ? null : v.length === 1 ? (v[0] as string) : v;
    }
    case "call":
      return (FUNCTIONS[n.fn] as (a: Node[], f: Fields) => Value)(n.args, f);
    case "not": {
      const v = evalNode(n.e, f);
      return v === null ? null : !truthy(v);
    }
    case "bin": {
      if (n.op === "AND") return truthy(evalNode(n.l, f)) && truthy(evalNode(n.r, f));
      if (n.op === "OR") return truthy(evalNode(n.l, f)) || truthy(evalNode(n.r, f));
      const l = evalNode(n.l, f);
      const r = evalNode(n.r, f);
      if (n.op === ".") return l === null || r === null ? null : `${asStr(l)}${asStr(r)}`;
      if (["==", "!=", ">=", "<=", ">", "<"].includes(n.op)) return compare(n.op, l, r);
      const a = asNum(l);
      const b = asNum(r);
      if (a === null || b === null) return null;
      return n.op === "+"
        ? a + b
        : n.op === "-"
          ? a - b
          : n.op === "*"
            ? a * b
            : n.op === "/"
              ? a / b
              : a % b;
    }
  }
}

/** Evaluates one eval expression against the fields (null = no value). */
export function evaluate(expression: string, fields: Fields): Value {
  return evalNode(parseEval(expression), fields);
}

/* ---------------- search terms ---------------- */

type SNode =
  | { k: "term"; field: string; op: "=" | "!="; value: string }
  | { k: "in"; field: string; values: string[] }
  | { k: "and" | "or"; l: SNode; r: SNode }
  | { k: "not"; e: SNode };

function tokenizeSearch(src: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "(" || c === ")" || c === ",") {
      out.push(c);
      i++;
      continue;
    }
    let tok = "";
    while (i < src.length && !/[\s(),]/.test(src[i] as string)) {
      if (src[i] === '"') {
        const j = src.indexOf('"', i + 1);
        tok += src.slice(i, j + 1);
        i = j + 1;
      } else tok += src[i++];
    }
    out.push(tok);
  }
  return out;
}

const unquote = (s: string) => s.replace(/"/g, "");

function parseSearch(src: string): SNode {
  const toks = tokenizeSearch(src);
  let p = 0;
  const primary = (): SNode => {
    const t = toks[p++];
    if (t === undefined) throw new Error(`search: unexpected end of ${src}`);
    if (t === "(") {
      const e = or();
      if (toks[p++] !== ")") throw new Error(`search: missing ) in ${src}`);
      return e;
    }
    if (toks[p]?.toUpperCase() === "IN") {
      p++;
      if (toks[p++] !== "(") throw new Error(`search: IN needs a list in ${src}`);
      const vals: string[] = [];
      while (toks[p] !== ")") {
        const v = toks[p++];
        if (v === undefined) throw new Error(`search: unterminated IN list in ${src}`);
        if (v !== ",") vals.push(unquote(v));
      }
      p++;
      return { k: "in", field: unquote(t), values: vals };
    }
    const m = /^("[^"]+"|[^=!]+)(!?=)(.*)$/.exec(t);
    if (!m) throw new Error(`search: ${t} is outside the supported subset (field=value terms only)`);
    return {
      k: "term",
      field: unquote(m[1] as string),
      op: m[2] as "=" | "!=",
      value: unquote(m[3] as string),
    };
  };
  const not = (): SNode => {
    if (toks[p] === "NOT") {
      p++;
      return { k: "not", e: not() };
    }
    return primary();
  };
  const and = (): SNode => {
    let l = not();
    while (p < toks.length && toks[p] !== ")" && toks[p] !== "OR") {
      if (toks[p] === "AND") p++;
      l = { k: "and", l, r: not() };
    }
    return l;
  };
  const or = (): SNode => {
    let l = and();
    while (toks[p] === "OR") {
      p++;
      l = { k: "or", l, r: and() };
    }
    return l;
  };
  const e = or();
  if (p !== toks.length) throw new Error(`search: trailing tokens in ${src}`);
  return e;
}

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`, "i");
}

function matchNode(n: SNode, f: Fields): boolean {
  switch (n.k) {
    case "term": {
      const re = wildcard(n.value);
      const hit = (f.get(n.field) ?? []).some((v) => re.test(v));
      return n.op === "=" ? hit : (f.get(n.field)?.length ?? 0) > 0 && !hit;
    }
    case "in":
      return n.values.some((v) => (f.get(n.field) ?? []).some((x) => wildcard(v).test(x)));
    case "and":
      return matchNode(n.l, f) && matchNode(n.r, f);
    case "or":
      return matchNode(n.l, f) || matchNode(n.r, f);
    case "not":
      return !matchNode(n.e, f);
  }
}

/** Whether the fields satisfy a search expression (eventtype search, CIM constraint). */
export function matchesSearch(search: string, fields: Fields): boolean {
  return matchNode(parseSearch(search), fields);
}

/* ---------------- props, eventtypes, tags ---------------- */

/** The app's search-time configuration. */
export interface SearchTimeConfig {
  props: ConfFile;
  eventtypes: ConfFile;
  tags: ConfFile;
}

/**
 * Runs the search-time pipeline for one event of a sourcetype: JSON extraction, FIELDALIAS (in
 * class order), EVAL (all against the same input, as Splunk computes calculated fields
 * independently), eventtypes, then tags; `eventtype` and `tag` become fields.
 */
export function searchTime(config: SearchTimeConfig, sourcetype: string, event: unknown): Fields {
  const fields = extractJson(event);
  fields.set("sourcetype", [sourcetype]);
  const props = config.props.stanzas.find((s) => s.name === sourcetype);
  if (!props) throw new Error(`props.conf has no [${sourcetype}] stanza`);
  if (settingValue(config.props, sourcetype, "KV_MODE") !== "json")
    throw new Error(`[${sourcetype}] does not extract JSON at search time (KV_MODE = json)`);
  const aliases = props.settings
    .filter((s) => s.key.startsWith("FIELDALIAS-"))
    .sort((a, b) => (a.key < b.key ? -1 : 1));
  for (const a of aliases) {
    for (const m of a.value.matchAll(/("[^"]+"|\S+)\s+(AS|ASNEW)\s+("[^"]+"|\S+)/gi)) {
      const from = unquote(m[1] as string);
      const to = unquote(m[3] as string);
      const v = fields.get(from);
      if (v && (m[2]?.toUpperCase() === "AS" || !fields.has(to))) fields.set(to, [...v]);
    }
  }
  const computed = new Map<string, Value>();
  for (const e of props.settings.filter((s) => s.key.startsWith("EVAL-")))
    computed.set(e.key.slice(5), evaluate(e.value, fields));
  for (const [name, v] of computed) {
    const list = values(v === true ? "true" : v === false ? "false" : v);
    if (list.length === 0) fields.delete(name);
    else fields.set(name, list);
  }
  const eventtypes = config.eventtypes.stanzas
    .filter((s) => matchesSearch(settingValue(config.eventtypes, s.name, "search") ?? "", fields))
    .map((s) => s.name);
  fields.set("eventtype", eventtypes);
  const tags = new Set<string>();
  for (const s of config.tags.stanzas) {
    const [field, value] = s.name.split("=") as [string, string];
    if (!(fields.get(field) ?? []).includes(value)) continue;
    for (const t of s.settings) if (t.value === "enabled") tags.add(t.key);
  }
  fields.set("tag", [...tags]);
  return fields;
}
