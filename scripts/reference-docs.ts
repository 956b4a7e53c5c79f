/**
 * Generates the configuration and command-line reference pages (`docs/configuration.md`,
 * `docs/cli.md`) from the code that defines them (and, through `monitor-pages.ts`, the files derived
 * from the monitor registry): the zod schemas (types, defaults, limits) with the
 * JSDoc comments written on their fields, and the commander program (commands, arguments, options).
 * `npm run docs` writes them; `test/unit/reference-docs.test.ts` fails when a page is stale.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command, Option } from "commander";
import ts from "typescript";
import { z } from "zod";
import { connectorSchemas } from "../monitors/index.ts";
import { configSchema } from "../worker/config.ts";
import { sinkSchemas } from "../worker/sinks/index.ts";
import { MONITOR_PAGES } from "./monitor-pages.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SCHEMA_DIRS = ["core", "connectors", "playbooks", "worker"];

interface FieldDoc {
  text: string;
  defaultText?: string;
}

/** JSDoc of the properties of every `z.object`/`z.strictObject` literal, keyed by the literal's sorted keys. */
function collectFieldDocs(): Map<string, Map<string, FieldDoc>> {
  const out = new Map<string, Map<string, FieldDoc>>();
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) files.push(p);
    }
  };
  for (const d of SCHEMA_DIRS) walk(join(ROOT, d));
  for (const file of files.sort()) {
    const text = readFileSync(file, "utf8");
    if (!text.includes("Object(")) continue;
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node) => {
      if (
        ts.isCallExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        /^(strictObject|object|looseObject)$/.test(node.expression.name.text) &&
        node.arguments[0] &&
        ts.isObjectLiteralExpression(node.arguments[0])
      ) {
        const docs = new Map<string, FieldDoc>();
        const keys: string[] = [];
        for (const prop of node.arguments[0].properties) {
          if (!prop.name) continue;
          const key =
            ts.isIdentifier(prop.name) || ts.isStringLiteral(prop.name) ? prop.name.text : undefined;
          if (key === undefined) continue;
          keys.push(key);
          const doc = jsDocOf(text, prop);
          if (doc) docs.set(key, doc);
        }
        const sig = [...keys].sort().join(",");
        const known = out.get(sig);
        if (!known || known.size < docs.size) out.set(sig, docs);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out;
}

function jsDocOf(text: string, node: ts.Node): FieldDoc | undefined {
  const ranges = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  const last = ranges.filter((r) => text.startsWith("/**", r.pos)).pop();
  if (!last) return undefined;
  const raw = text
    .slice(last.pos + 3, last.end - 2)
    .split("\n")
    .map((l) => l.replace(/^\s*\*\s?/, "").trim())
    .join(" ")
    .replace(/\s+/g, " ")
    .trim();
  const m = /@defaultValue\s+(.*)$/.exec(raw);
  const body = (m ? raw.slice(0, m.index) : raw).trim();
  return { text: body, defaultText: m?.[1]?.trim() };
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  required?: string[];
};

interface Row {
  path: string;
  type: string;
  default: string;
  description: string;
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(" \\| ");
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  const alts = s.anyOf ?? s.oneOf;
  if (alts) {
    const types = [...new Set(alts.map(typeOf).filter((t) => t !== "any"))];
    return types.length ? types.join(" \\| ") : "any";
  }
  if (s.type === "array") return `${s.items ? typeOf(s.items) : "any"}[]`;
  if (s.type === "object" && !s.properties && s.additionalProperties && s.additionalProperties !== true)
    return `map of ${typeOf(s.additionalProperties)}`;
  if (Array.isArray(s.type)) return s.type.join(" \\| ");
  let t = s.type ?? "any";
  if (t === "integer") t = "int";
  const limits: string[] = [];
  if (s.format) limits.push(s.format);
  if (s.minimum !== undefined && s.minimum > Number.MIN_SAFE_INTEGER) limits.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER) limits.push(`≤ ${s.maximum}`);
  return limits.length ? `${t} (${limits.join(", ")})` : t;
}

function rows(
  schema: JsonSchema,
  docs: Map<string, Map<string, FieldDoc>>,
  prefix: string,
  out: Row[],
): void {
  const alts = schema.anyOf ?? schema.oneOf;
  if (alts) {
    // An optional object (`x | null`) or a union of object shapes: document each object shape.
    for (const a of alts) if (a.properties || a.type === "array") rows(a, docs, prefix, out);
    return;
  }
  if (schema.type === "array" && schema.items) {
    rows(schema.items, docs, `${prefix}[]`, out);
    return;
  }
  if (
    schema.type === "object" &&
    !schema.properties &&
    schema.additionalProperties &&
    schema.additionalProperties !== true
  ) {
    rows(schema.additionalProperties, docs, `${prefix}.<name>`, out);
    return;
  }
  if (!schema.properties) return;
  const keys = Object.keys(schema.properties);
  const fieldDocs = docs.get([...keys].sort().join(",")) ?? new Map<string, FieldDoc>();
  for (const key of keys) {
    const child = schema.properties[key] as JsonSchema;
    const path = prefix ? `${prefix}.${key}` : key;
    const doc = fieldDocs.get(key);
    const required = schema.required?.includes(key) && child.default === undefined;
    const dflt =
      child.default !== undefined && !(typeof child.default === "object" && isEmpty(child.default))
        ? `\`${JSON.stringify(child.default)}\``
        : (doc?.defaultText ?? (required ? "required" : ""));
    out.push({
      path,
      type: typeOf(child),
      default: dflt,
      description: (doc?.text || child.description || "").replace(/\|/g, "\\|"),
    });
    rows(child, docs, path, out);
  }
}

function isEmpty(v: unknown): boolean {
  return (
    (Array.isArray(v) && v.length === 0) || (!!v && typeof v === "object" && Object.keys(v).length === 0)
  );
}

function table(schema: z.ZodType, docs: Map<string, Map<string, FieldDoc>>, prefix = ""): string {
  const json = z.toJSONSchema(schema, {
    io: "input",
    unrepresentable: "any",
    reused: "inline",
    cycles: "ref",
  }) as JsonSchema;
  const out: Row[] = [];
  rows(json, docs, prefix, out);
  const lines = ["| key | type | default | what it does |", "|---|---|---|---|"];
  for (const r of out)
    lines.push(
      `| \`${r.path}\` | ${r.type.replace(/\n/g, " ")} | ${r.default.replace(/\|/g, "\\|")} | ${r.description} |`,
    );
  return lines.join("\n");
}

/** The text of docs/configuration.md. */
export function configReference(): string {
  const docs = collectFieldDocs();
  const parts = [
    "# Configuration reference",
    "",
    "<!-- Generated by `npm run docs` from the zod schemas (scripts/reference-docs.ts); do not edit by hand. -->",
    "",
    "`medsoc start --config medsoc.yaml` reads one YAML file (see `medsoc.example.yaml`). Unknown keys are",
    "rejected and every problem is reported at once with its path. A secret is written as `$" +
      "{ENV_VAR}` and",
    "redacts itself in logs, errors and documents. Without `--config` the embedded default runs (memory",
    "queues, the simulated hospital, NDJSON files in `./out`).",
    "",
    "## The file",
    "",
    table(configSchema, docs),
    "",
    "## Sources (`sources[].config`, by `sources[].type`)",
    "",
  ];
  for (const [source, { schema, streams }] of Object.entries(connectorSchemas()).sort(([a], [b]) =>
    a.localeCompare(b),
  ))
    parts.push(
      `### \`${source}\``,
      "",
      `Streams: ${streams.map((s) => `\`${s}\``).join(", ")}.`,
      "",
      table(schema, docs),
      "",
    );
  parts.push("## Sinks (`sinks.<name>`)", "");
  for (const [name, schema] of Object.entries(sinkSchemas()))
    parts.push(`### \`sinks.${name}\``, "", table(schema, docs), "");
  return `${parts.join("\n").trimEnd()}\n`;
}

/** A default that is a path inside the checkout is shown relative to it (the page must not depend on where the repo lives). */
function shownDefault(v: unknown): string {
  return typeof v === "string" && (v === ROOT || v.startsWith(`${ROOT}/`))
    ? JSON.stringify(relative(ROOT, v) || ".")
    : JSON.stringify(v);
}

function optionLine(o: Option): string {
  const dflt = o.defaultValue !== undefined ? ` (default: \`${shownDefault(o.defaultValue)}\`)` : "";
  const choices = o.argChoices ? ` (one of ${o.argChoices.map((c) => `\`${c}\``).join(", ")})` : "";
  return `| \`${o.flags}\` | ${(o.description ?? "").replace(/\|/g, "\\|")}${choices}${dflt} |`;
}

function commandSection(cmd: Command, path: string[], out: string[]): void {
  const name = [...path, cmd.name()].join(" ");
  const args = cmd.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`)).join(" ");
  if (path.length) {
    out.push(`## \`${name}${args ? ` ${args}` : ""}\``, "", cmd.description() || "", "");
    for (const a of cmd.registeredArguments)
      if (a.description) out.push(`- \`${a.name()}\`: ${a.description}`);
    if (cmd.registeredArguments.some((a) => a.description)) out.push("");
    const options = cmd.options.filter((o) => !o.hidden);
    if (options.length) out.push("| option | what it does |", "|---|---|", ...options.map(optionLine), "");
  }
  for (const sub of cmd.commands) commandSection(sub as Command, [...path, cmd.name()], out);
}

/** The text of docs/cli.md. */
export async function cliReference(): Promise<string> {
  const { program } = await import("../worker/cli.ts");
  const out = [
    "# Command line reference",
    "",
    "<!-- Generated by `npm run docs` from the commander program (worker/cli.ts); do not edit by hand. -->",
    "",
    `\`medsoc\` (or \`npx medsoc\` in a checkout): ${program.description()}. Exit codes: 0 done, 1 runtime`,
    "failure, 2 bad arguments or an invalid configuration (every problem printed with its path).",
    "",
  ];
  commandSection(program, [], out);
  return `${out.join("\n").trimEnd()}\n`;
}

export const REFERENCE_PAGES = {
  "docs/configuration.md": configReference,
  "docs/cli.md": cliReference,
  // vendor.yml files and the monitor tables of README.md and docs/connectors.md.
  ...MONITOR_PAGES,
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [file, make] of Object.entries(REFERENCE_PAGES)) {
    writeFileSync(join(ROOT, file), await make());
    process.stdout.write(`wrote ${relative(process.cwd(), join(ROOT, file))}\n`);
  }
  // The Elastic package's docs/README.md renders the fields files (vendor.yml among them).
  const { writeElasticDocs } = await import("../worker/commands/package.ts");
  const elasticDocs = writeElasticDocs();
  // Laid out as the committed file is (biome formats Markdown tables); the package test ignores layout.
  execFileSync(join(ROOT, "node_modules", ".bin", "biome"), ["format", "--write", elasticDocs], {
    stdio: "ignore",
  });
  process.stdout.write(`wrote ${relative(process.cwd(), elasticDocs)}\n`);
}
