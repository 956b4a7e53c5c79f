/**
 * Detection rules as data (`playbooks/rules/*.yaml`): a JSONata condition over an enriched document
 * and the device it is about → a playbook and its inputs, with a de-duplication window (one run per
 * key, default the device) and a throttle (runs per rule per window). Evaluated after mapping, in
 * the pipeline, for every alert (and, when a rule asks for it, other kinds of documents). The
 * de-duplication claim is kept only when the run really starts: a throttled or refused start gives
 * it back. Every run gets the alert as inputs `alert_id`, `rule` and `reason` (a rule's own
 * `inputs` win).
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError, type ConfigProblem } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import type { AuditLog } from "./audit.ts";
import { type ClaimStore, startOnce } from "./claims.ts";
import type { DeviceDirectory } from "./devices.ts";
import type { PlaybookEngine } from "./engine.ts";
import { compile, parseDuration, render, templateExpressions, test } from "./expr.ts";
import type { RunStore } from "./store.ts";

const duration = z.union([z.number().int().min(0), z.string()]).superRefine((v, ctx) => {
  try {
    parseDuration(v);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
  }
});

export const ruleSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
  description: z.string().optional(),
  enabled: z.boolean().default(true),
  /** `event.kind` values the rule looks at. @defaultValue ["alert"] */
  kinds: z.array(z.string()).default(["alert"]),
  /** JSONata over `{doc, device}`; the rule fires only on `true`. */
  when: z.string().min(1),
  playbook: z.string().min(1),
  /** Playbook inputs; `{{ }}` templates over `{doc, device}`. */
  inputs: z.record(z.string(), z.unknown()).default({}),
  /** Key of the de-duplication window. @defaultValue "{{ device.key }}" */
  dedupKey: z.string().default("{{ device.key }}"),
  /** One run per key within this window. @defaultValue 1h */
  dedupWindow: duration.default("1h"),
  /** At most `max` runs of this rule per `per`. @defaultValue 50 per 1m */
  throttle: z.strictObject({ max: z.number().int().min(1), per: duration }).default({ max: 50, per: "1m" }),
});
export type Rule = z.infer<typeof ruleSchema>;

export function validateRule(raw: unknown, playbooks: ReadonlySet<string>, source: string): Rule {
  const parsed = ruleSchema.safeParse(raw);
  if (!parsed.success)
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ path: i.path.join(".") || "(root)", message: i.message })),
      source,
    );
  const r = parsed.data;
  const problems: ConfigProblem[] = [];
  if (!playbooks.has(r.playbook))
    problems.push({ path: "playbook", message: `unknown playbook "${r.playbook}"` });
  for (const [path, e] of [
    ["when", r.when] as const,
    ...templateExpressions(r.inputs).map((e) => ["inputs", e] as const),
    ...templateExpressions(r.dedupKey).map((e) => ["dedupKey", e] as const),
  ])
    try {
      compile(e);
    } catch (error) {
      problems.push({ path, message: (error as Error).message });
    }
  if (problems.length) throw new ConfigError(problems, source);
  return r;
}

export async function loadRules(dir: string, playbooks: ReadonlySet<string>): Promise<Rule[]> {
  const out: Rule[] = [];
  const problems: ConfigProblem[] = [];
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  } catch {
    return [];
  }
  for (const f of files) {
    try {
      const raw = parseYaml(await readFile(join(dir, f), "utf8")) as unknown;
      for (const [n, r] of (Array.isArray(raw) ? raw : [raw]).entries()) {
        try {
          out.push(validateRule(r, playbooks, `${f}[${n}]`));
        } catch (error) {
          if (error instanceof ConfigError)
            problems.push(...error.problems.map((p) => ({ ...p, path: `${f}[${n}].${p.path}` })));
          else throw error;
        }
      }
    } catch (error) {
      if (error instanceof ConfigError) continue;
      problems.push({ path: f, message: (error as Error).message });
    }
  }
  if (problems.length) throw new ConfigError(problems, `rules in ${dir}`);
  return out;
}

export interface RuleEngineOptions {
  rules: Rule[];
  engine: PlaybookEngine;
  directory: DeviceDirectory;
  store: RunStore;
  /** De-duplication claims shared by every replica. */
  claims: ClaimStore;
  audit: AuditLog;
  log?: Logger;
  /**
   * How long a document about a device nobody has described yet waits for the device's inventory
   * record (alerts often arrive before the inventory page); after it, rules see only the fields the
   * document carries. @defaultValue 120000
   */
  pendingMs?: number;
  /** Documents waiting for their device, at most. @defaultValue 10000 */
  maxPending?: number;
  /**
   * Hold every document until {@link RuleEngine.flushPending} (a one-shot backfill, `start --once`):
   * the rules then see each device as every monitor described it, not as the first page that
   * happened to land (an alert polled before the xDome inventory would see a pump's clinical state
   * as unknown). @defaultValue false
   */
  holdUntilFlush?: boolean;
}

export interface RuleStats {
  matched: number;
  started: number;
  deduplicated: number;
  throttled: number;
  refused: number;
  /** Documents that waited for their device's inventory record. */
  deferred: number;
}

/** The alert a rule fired on, as run inputs: `alert_id`, `rule`, `reason`. */
export function alertInputs(
  rule: Rule,
  doc: EcsDocument,
): { alert_id: string; rule: string; reason: string } {
  const d = doc as EcsDocument & { rule?: { name?: unknown }; armis?: { alert?: { title?: unknown } } };
  const text = (v: unknown) => (typeof v === "string" && v.trim() ? v.trim() : undefined);
  return {
    alert_id: text((doc.event as { id?: unknown }).id) ?? doc.medsoc.doc_id,
    rule: rule.id,
    reason:
      text(doc.message) ?? text(d.armis?.alert?.title) ?? text(d.rule?.name) ?? rule.description ?? rule.id,
  };
}

/** Evaluates the rules over mapped documents and starts playbook runs. */
export class RuleEngine {
  readonly stats: RuleStats = {
    matched: 0,
    started: 0,
    deduplicated: 0,
    throttled: 0,
    refused: 0,
    deferred: 0,
  };
  readonly #o: RuleEngineOptions & { log: Logger };
  readonly #kinds: Set<string>;
  /**
   * alias → documents waiting for that device, with their arrival time. Held as JSON text (a
   * third of the heap of the live object): a backfill holds up to `maxPending` of them.
   */
  readonly #pending = new Map<string, { json: string; at: number }[]>();
  #pendingCount = 0;

  constructor(options: RuleEngineOptions) {
    this.#o = { log: silentLogger, ...options };
    this.#kinds = new Set(options.rules.filter((r) => r.enabled).flatMap((r) => r.kinds));
  }

  /** Indexes device documents, then evaluates every rule over the rest. Never throws: errors are logged. */
  async onDocuments(docs: readonly EcsDocument[]): Promise<void> {
    const { directory, log } = this.#o;
    directory.observe(docs);
    const now = Date.now();
    // Documents that waited for a device now described (or waited long enough).
    if (this.#pending.size && !this.#o.holdUntilFlush) {
      const ready: { alias: string; doc: EcsDocument }[] = [];
      const pendingMs = this.#o.pendingMs ?? 120_000;
      for (const [alias, list] of this.#pending) {
        const expired = list[0] && now - list[0].at > pendingMs;
        if (expired || (await directory.get(alias))) {
          for (const p of list) ready.push({ alias, doc: JSON.parse(p.json) as EcsDocument });
          this.#pendingCount -= list.length;
          this.#pending.delete(alias);
        }
      }
      for (const r of ready) await this.#evaluateFor(r.doc, r.alias, true);
    }
    for (const doc of docs) {
      if (!this.#kinds.has(doc.event.kind)) continue;
      for (const alias of directory.aliasesOf(doc)) {
        try {
          await this.#evaluateFor(doc, alias, false);
        } catch (error) {
          log.warn({ err: error, doc: doc.medsoc.doc_id }, "Evaluating rules failed.");
        }
      }
    }
  }

  async #evaluateFor(doc: EcsDocument, alias: string, final: boolean): Promise<void> {
    const { directory, rules, log } = this.#o;
    if (this.#o.holdUntilFlush && !final && this.#pendingCount < (this.#o.maxPending ?? 10_000)) {
      this.#hold(alias, doc);
      return;
    }
    const { device, known } = await directory.deviceFor(alias, doc);
    if (!known && !final) {
      if (this.#pendingCount < (this.#o.maxPending ?? 10_000)) {
        this.#hold(alias, doc);
        return;
      }
    }
    for (const rule of rules) {
      if (!rule.enabled || !rule.kinds.includes(doc.event.kind)) continue;
      try {
        await this.#evaluate(rule, doc, device);
      } catch (error) {
        log.warn({ err: error, rule: rule.id, doc: doc.medsoc.doc_id }, "Evaluating a rule failed.");
      }
    }
  }

  #hold(alias: string, doc: EcsDocument): void {
    const list = this.#pending.get(alias) ?? [];
    list.push({ json: JSON.stringify(doc), at: Date.now() });
    this.#pending.set(alias, list);
    this.#pendingCount++;
    this.stats.deferred++;
  }

  /** Evaluates every waiting document now with what is known (end of `start --once`). */
  async flushPending(): Promise<void> {
    const all = [...this.#pending.entries()];
    this.#pending.clear();
    this.#pendingCount = 0;
    for (const [alias, list] of all)
      for (const p of list) await this.#evaluateFor(JSON.parse(p.json) as EcsDocument, alias, true);
  }

  async #evaluate(
    rule: Rule,
    doc: EcsDocument,
    device: Awaited<ReturnType<DeviceDirectory["devicesOf"]>>[number] | undefined,
  ): Promise<void> {
    const scope = { doc, device: device ?? {} };
    if (!(await test(rule.when, scope))) return;
    this.stats.matched++;
    const { store, engine, audit, claims } = this.#o;
    const key = String((await render(rule.dedupKey, scope)) ?? "");
    const r = await startOnce(claims, `rule-${rule.id}-${key}`, parseDuration(rule.dedupWindow), async () => {
      const perMs = parseDuration(rule.throttle.per);
      const n = await store.incrWindow(`rule-${rule.id}-${Math.floor(Date.now() / perMs)}`, perMs);
      if (n > rule.throttle.max) {
        this.stats.throttled++;
        await audit.append({
          type: "rule.throttled",
          playbookId: rule.playbook,
          deviceKey: device?.key,
          actor: `rule:${rule.id}`,
          outcome: "failure",
          message: `Rule ${rule.id} matched but is throttled (${rule.throttle.max} per ${rule.throttle.per}).`,
          detail: { doc: doc.medsoc.doc_id },
        });
        return undefined;
      }
      const rendered = (await render(rule.inputs, scope)) as Record<string, unknown>;
      const inputs: Record<string, unknown> = { ...alertInputs(rule, doc) };
      for (const [k, v] of Object.entries(rendered ?? {})) if (v !== undefined && v !== "") inputs[k] = v;
      return engine.start({
        playbookId: rule.playbook,
        device,
        inputs,
        trigger: {
          kind: "rule",
          id: rule.id,
          detail: { doc: doc.medsoc.doc_id, event: (doc.event as { id?: string }).id },
        },
      });
    });
    if (r === "duplicate") {
      this.stats.deduplicated++;
      return;
    }
    if (!r) return;
    if (r.status === "rejected") this.stats.refused++;
    else this.stats.started++;
  }
}
