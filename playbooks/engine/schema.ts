/**
 * Playbooks are data: YAML files in `playbooks/`, validated against this schema when loaded. Every
 * problem is reported at once with its path (`steps[2].retry.attempts: …`), including unknown
 * actions and expressions that do not parse.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { z } from "zod";
import { ConfigError, type ConfigProblem } from "../../core/errors.ts";
import { compile, parseDuration, templateExpressions } from "./expr.ts";

const duration = z.union([z.number().int().min(0), z.string()]).superRefine((v, ctx) => {
  if (typeof v === "string" && v.includes("{{")) return; // a template, checked when rendered
  try {
    parseDuration(v);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
  }
});

const idPattern = /^[a-z0-9][a-z0-9_-]*$/;

export const stepSchema = z.strictObject({
  /** Unique within the playbook; later steps read `steps.<id>.output`. */
  id: z.string().regex(idPattern, "lower-case letters, digits, '_' and '-' only"),
  /** A registered action (`ise.quarantine`) or `approval`. */
  action: z.string().min(1),
  /** The action's input; strings may hold `{{ jsonata }}` templates. */
  with: z.record(z.string(), z.unknown()).default({}),
  /** JSONata condition; the step is skipped unless it yields `true`. */
  when: z.string().optional(),
  /** Time limit of one attempt (or, for `approval`, the wait; silence is a no). @defaultValue 30s (approval 15m) */
  timeout: duration.optional(),
  /** Attempts on a retryable error (5xx, 429, network). @defaultValue 3 attempts, 1s backoff */
  retry: z
    .strictObject({ attempts: z.number().int().min(1).max(20), backoff: duration.default("1s") })
    .optional(),
  /** Read the effect back after executing; a failed read-back fails the step. @defaultValue true */
  verify: z.boolean().default(true),
  /** Undo this step (the action's `undo()`) when a later step fails. @defaultValue false */
  compensate: z.boolean().default(false),
  /** Let the run go on when this step fails (its error is in `steps.<id>.error`). @defaultValue false */
  continueOnError: z.boolean().default(false),
});

export const playbookSchema = z.strictObject({
  id: z.string().regex(idPattern, "lower-case letters, digits, '_' and '-' only"),
  title: z.string().min(1),
  description: z.string().optional(),
  /** What starts it (documentation for operators; rules name the playbook). */
  trigger: z
    .strictObject({
      rules: z.array(z.string()).default([]),
      manual: z.boolean().default(true),
      siem: z.boolean().default(false),
    })
    .prefault({}),
  /** Whether a run needs a device (`--device KEY`). @defaultValue true */
  device: z.boolean().default(true),
  /** Declared inputs with their defaults. */
  inputs: z
    .record(
      z.string(),
      z.strictObject({
        type: z.enum(["string", "number", "boolean", "object", "array"]).default("string"),
        required: z.boolean().default(false),
        default: z.unknown().optional(),
        description: z.string().optional(),
      }),
    )
    .default({}),
  steps: z.array(stepSchema).min(1),
  /** Steps run at the end of every run, success, failure and denial alike (ticket, page). */
  finally: z.array(stepSchema).default([]),
});

export type PlaybookStep = z.infer<typeof stepSchema>;
export type Playbook = z.infer<typeof playbookSchema>;

function zodProblems(error: z.ZodError, prefix: string): ConfigProblem[] {
  return error.issues.map((i) => ({
    path: `${prefix}${i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}`.replace(
      /^\./,
      "",
    ),
    message: i.message,
  }));
}

/**
 * Validates one parsed playbook. `actions` is the set of registered action names; unknown ones,
 * duplicate step ids and expressions that do not compile are problems too.
 */
export function validatePlaybook(raw: unknown, actions: ReadonlySet<string>, source = "playbook"): Playbook {
  const parsed = playbookSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(zodProblems(parsed.error, ""), source);
  const pb = parsed.data;
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  const check = (list: PlaybookStep[], name: "steps" | "finally") =>
    list.forEach((s, i) => {
      const at = `${name}[${i}]`;
      if (seen.has(s.id)) problems.push({ path: `${at}.id`, message: `duplicate step id "${s.id}"` });
      seen.add(s.id);
      if (s.action !== "approval" && !actions.has(s.action))
        problems.push({ path: `${at}.action`, message: `unknown action "${s.action}"` });
      if (s.when)
        try {
          compile(s.when);
        } catch (error) {
          problems.push({ path: `${at}.when`, message: (error as Error).message });
        }
      for (const e of templateExpressions(s.with))
        try {
          compile(e);
        } catch (error) {
          problems.push({ path: `${at}.with`, message: (error as Error).message });
        }
    });
  check(pb.steps, "steps");
  check(pb.finally, "finally");
  if (problems.length) throw new ConfigError(problems, source);
  return pb;
}

/** Parses YAML text into a validated playbook; YAML syntax errors carry their line. */
export function parsePlaybook(text: string, actions: ReadonlySet<string>, source: string): Playbook {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    const e = error as YAMLParseError;
    const line = e.linePos?.[0];
    throw new ConfigError(
      [{ path: line ? `line ${line.line}:${line.col}` : "(yaml)", message: e.message.split("\n")[0] ?? "" }],
      source,
    );
  }
  return validatePlaybook(raw, actions, source);
}

/** Loads every `*.yaml`/`*.yml` in `dir` (not recursive); all problems of all files are reported together. */
export async function loadPlaybooks(
  dir: string,
  actions: ReadonlySet<string>,
): Promise<Map<string, Playbook>> {
  const out = new Map<string, Playbook>();
  const problems: ConfigProblem[] = [];
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  for (const f of files) {
    try {
      const pb = parsePlaybook(await readFile(join(dir, f), "utf8"), actions, f);
      if (out.has(pb.id)) problems.push({ path: `${f}.id`, message: `playbook id "${pb.id}" is used twice` });
      out.set(pb.id, pb);
    } catch (error) {
      if (error instanceof ConfigError)
        problems.push(...error.problems.map((p) => ({ ...p, path: `${f}: ${p.path}` })));
      else throw error;
    }
  }
  if (problems.length) throw new ConfigError(problems, `playbooks in ${dir}`);
  return out;
}

export { YAMLParseError };
