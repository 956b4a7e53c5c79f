/**
 * Splunk `.conf` files: a parser that follows Splunk's own rules (stanzas at column 0, `key = value`,
 * whole-line comments only, a trailing `\` continues the value) and a linter driven by the
 * `.conf.spec` files the way Splunk's conf checker reads them (`conf_checker.rules`: exact and
 * prefix matching of setting names, `[default]` / stanza-less settings valid everywhere, spec
 * stanzas with `<`, `:` or `.` matched by prefix). Pure: callers pass file contents in.
 */

/** One `key = value` line (a continued value is joined with newlines). */
export interface ConfSetting {
  key: string;
  value: string;
  line: number;
}

/** One stanza; settings before the first stanza belong to `default`. */
export interface ConfStanza {
  name: string;
  line: number;
  settings: ConfSetting[];
}

/** A parse problem: a line that is neither a stanza, a setting, a comment nor blank. */
export interface ConfParseProblem {
  line: number;
  message: string;
}

export interface ConfFile {
  stanzas: ConfStanza[];
  problems: ConfParseProblem[];
}

/** Parses a `.conf` file. Never throws: unparseable lines become problems. */
export function parseConf(text: string): ConfFile {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const stanzas: ConfStanza[] = [{ name: "default", line: 0, settings: [] }];
  const problems: ConfParseProblem[] = [];
  let current = stanzas[0] as ConfStanza;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let raw = lines[i] as string;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#") || trimmed.startsWith(";")) continue;
    if (raw.startsWith("[")) {
      const end = raw.lastIndexOf("]");
      if (end < 0) {
        problems.push({ line: lineNo, message: `stanza header without a closing bracket: ${trimmed}` });
        continue;
      }
      const name = raw.slice(1, end);
      const existing = stanzas.find((s) => s.name === name);
      if (existing) current = existing;
      else {
        current = { name, line: lineNo, settings: [] };
        stanzas.push(current);
      }
      continue;
    }
    while (raw.endsWith("\\") && i + 1 < lines.length) {
      i++;
      raw = `${raw.slice(0, -1)}\n${lines[i] as string}`;
    }
    const eq = raw.indexOf("=");
    if (eq < 0) {
      problems.push({
        line: lineNo,
        message: `not a setting (no "=") and not a comment: ${trimmed.slice(0, 80)}`,
      });
      continue;
    }
    const key = raw.slice(0, eq).trim();
    if (key === "" || /\s/.test(key)) {
      problems.push({ line: lineNo, message: `invalid setting name ${JSON.stringify(key.slice(0, 80))}` });
      continue;
    }
    current.settings.push({ key, value: raw.slice(eq + 1).trim(), line: lineNo });
  }
  if (stanzas[0]?.settings.length === 0) stanzas.shift();
  return { stanzas, problems };
}

/** The first stanza of that name, or undefined. */
export function stanza(file: ConfFile, name: string): ConfStanza | undefined {
  return file.stanzas.find((s) => s.name === name);
}

/** The value of a setting in a stanza (last one wins, as in Splunk). */
export function settingValue(file: ConfFile, stanzaName: string, key: string): string | undefined {
  const s = stanza(file, stanzaName);
  if (!s) return undefined;
  let value: string | undefined;
  for (const x of s.settings) if (x.key === key) value = x.value;
  return value;
}

interface SpecPattern {
  /** Exact name, or the prefix before `<`/`-` for prefix matching. */
  text: string;
  prefix: boolean;
}

/** Settings allowed per spec stanza; `global` applies to every stanza. */
export interface ConfSpec {
  global: SpecPattern[];
  stanzas: { pattern: SpecPattern; settings: SpecPattern[] }[];
  /** true when a setting is declared as `<name> = …` (any setting name accepted in that scope). */
  anyGlobal: boolean;
}

function settingPattern(name: string): SpecPattern {
  const cut = name.search(/[<-]/);
  return cut < 0 ? { text: name, prefix: false } : { text: name.slice(0, cut), prefix: true };
}

function stanzaPattern(name: string): SpecPattern {
  const cut = name.search(/[<:.]/);
  return cut < 0 ? { text: name, prefix: false } : { text: name.slice(0, cut), prefix: true };
}

/**
 * Reads a `.conf.spec` as Splunk's conf checker does: stanza headers at column 0, settings are
 * column-0 `name = …` lines (indented lines are examples and ignored); several spec texts (the
 * system spec plus an app's `README/*.conf.spec`) merge into one.
 */
export function parseSpec(...texts: string[]): ConfSpec {
  const spec: ConfSpec = { global: [], stanzas: [], anyGlobal: false };
  for (const text of texts) {
    let scope: SpecPattern[] = spec.global;
    let inGlobal = true;
    for (const raw of text.replace(/\r\n?/g, "\n").split("\n")) {
      if (raw.startsWith("#") || raw.startsWith("*")) continue;
      if (raw.startsWith("[")) {
        const end = raw.lastIndexOf("]");
        if (end < 0) continue;
        const name = raw.slice(1, end);
        if (name === "default") {
          scope = spec.global;
          inGlobal = true;
          continue;
        }
        const pattern = stanzaPattern(name);
        const existing = spec.stanzas.find(
          (s) => s.pattern.text === pattern.text && s.pattern.prefix === pattern.prefix,
        );
        scope = existing?.settings ?? [];
        if (!existing) spec.stanzas.push({ pattern, settings: scope });
        inGlobal = false;
        continue;
      }
      const m = /^([^\s=#*][^\s=]*)\s*=/.exec(raw);
      if (!m) continue;
      const name = m[1] as string;
      const p = settingPattern(name);
      if (p.prefix && p.text === "" && inGlobal) spec.anyGlobal = true;
      scope.push(p);
    }
  }
  return spec;
}

function matches(p: SpecPattern, name: string): boolean {
  return p.prefix ? name.startsWith(p.text) : name === p.text;
}

/** The spec stanzas that apply to a conf stanza. */
function stanzaScopes(spec: ConfSpec, name: string): SpecPattern[][] {
  return spec.stanzas.filter((s) => matches(s.pattern, name)).map((s) => s.settings);
}

/** Whether the spec allows `key` in stanza `stanzaName`. */
export function specAllows(spec: ConfSpec, stanzaName: string, key: string): boolean {
  if (spec.anyGlobal) return true;
  if (spec.global.some((p) => matches(p, key))) return true;
  return stanzaScopes(spec, stanzaName).some((scope) => scope.some((p) => matches(p, key)));
}

/** A finding of the linter or the AppInspect subset. */
export interface Finding {
  /** Check name (AppInspect names where one exists). */
  check: string;
  /** App-relative path. */
  file: string;
  line?: number;
  message: string;
}

/** Lints one parsed conf against a spec: unknown stanzas, settings not allowed in their stanza, parse problems. */
export function lintConf(file: string, conf: ConfFile, spec: ConfSpec): Finding[] {
  const findings: Finding[] = [];
  for (const p of conf.problems)
    findings.push({ check: "conf_syntax", file, line: p.line, message: p.message });
  for (const s of conf.stanzas) {
    const known = spec.stanzas.length === 0 || s.name === "default" || stanzaScopes(spec, s.name).length > 0;
    if (!known)
      findings.push({
        check: "conf_unknown_stanza",
        file,
        line: s.line,
        message: `stanza [${s.name}] is not declared in the spec`,
      });
    for (const setting of s.settings) {
      if (!specAllows(spec, s.name, setting.key))
        findings.push({
          check: "conf_unknown_setting",
          file,
          line: setting.line,
          message: `${setting.key} is not a setting of [${s.name}] in the spec`,
        });
    }
  }
  return findings;
}
