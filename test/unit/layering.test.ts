/**
 * Layers import only downward (issue 14). The one table of allowed directions is {@link MAY_IMPORT};
 * dependency-cruiser parses the imports of every production file (type-only imports included, since
 * `tsPreCompilationDeps` keeps them) and every import outside the table fails this test.
 *
 *   core ← connectors, mappings ← monitors ← playbooks ← worker
 *
 * - `core`: config sections, errors, logging, JSON, secrets; imports nothing of medsoc's.
 * - `connectors` (vendor clients, push receivers) and `mappings` (vendor → ECS) are siblings on
 *   `core`; a mapping may read its vendor's record shapes (`connectors/<id>/records.ts`).
 * - `monitors`: one definition per monitor binding connector, mappings and vendor facts, and the
 *   registry everything keyed by monitor derives from.
 * - `playbooks` (response engine and actions) and `integrations/tools` (SIEM package builders).
 * - `worker`: the composition root (pipeline, queues, sinks, commands, the whole config file).
 *
 * Simulators are test and demo code. Production reaches them at run time only through
 * `worker/simulation.ts` (the embedded default, `report` and `playbooks run` on the simulated
 * hospital), `medsoc simulate` (`worker/commands/simulate*.ts`) and the monitor definitions'
 * `simulator.load()`, a dynamic import of `monitors/<id>/simulator.ts` that only those call.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { cruise, type ICruiseResult, type IForbiddenRuleType } from "dependency-cruiser";

const ROOT = join(import.meta.dirname, "..", "..");

type Layer =
  | "core"
  | "connectors"
  | "mappings"
  | "monitors"
  | "playbooks"
  | "integrations"
  | "worker"
  | "simulators";

/** Layer → the layers its modules may import (its own always). */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  core: [],
  connectors: ["core"],
  mappings: ["core"],
  monitors: ["core", "connectors", "mappings"],
  playbooks: ["core", "connectors", "mappings", "monitors"],
  integrations: ["core", "mappings", "monitors"],
  worker: ["core", "connectors", "mappings", "monitors", "playbooks", "integrations"],
  // Test and demo code: anything but the composition root.
  simulators: ["core", "connectors", "mappings", "monitors", "playbooks"],
};

/** Named exceptions to {@link MAY_IMPORT}, each with its reason. */
const EXCEPTIONS: readonly { from: string; to: string; why: string }[] = [
  {
    from: "^mappings/([^/]+)/",
    to: "^connectors/$1/records\\.ts$",
    why: "a vendor's record shapes are the contract between its connector and its mapping",
  },
];

/** Upward imports tolerated for now: none. Any upward import fails. */
const KNOWN_VIOLATIONS: readonly string[] = [];

/** Production modules allowed to import `simulators/` at run time. */
const SIMULATOR_DOORS = [
  "^simulators/",
  "^monitors/[^/]+/simulator\\.ts$",
  "^worker/simulation\\.ts$",
  "^worker/commands/simulate[^/]*\\.ts$",
];

const LAYERS = Object.keys(MAY_IMPORT) as Layer[];

function rules(): IForbiddenRuleType[] {
  const layerRules: IForbiddenRuleType[] = LAYERS.map((layer) => {
    // Imports of simulators are governed by the door rule below, not by rank.
    const forbidden = LAYERS.filter(
      (l) => l !== layer && l !== "simulators" && !MAY_IMPORT[layer].includes(l),
    );
    const exceptions = EXCEPTIONS.filter((e) => new RegExp(e.from).test(`${layer}/x/`));
    return {
      name: `${layer}-imports-only-downward`,
      severity: "error",
      // The exception's capture groups ($1) refer to this path.
      from: { path: exceptions[0]?.from ?? `^${layer}/` },
      to: {
        path: `^(${forbidden.map((l) => (l === "integrations" ? "integrations/tools" : l)).join("|")})/`,
        ...(exceptions.length ? { pathNot: exceptions.map((e) => e.to) } : {}),
      },
    };
  });
  return [
    ...layerRules,
    {
      name: "simulators-only-through-their-doors",
      comment: "production code reaches simulators only through worker/simulation.ts and simulate",
      severity: "error",
      from: { pathNot: SIMULATOR_DOORS },
      to: { path: "^simulators/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "monitor-simulators-loaded-on-demand",
      comment:
        "a monitor's simulator.ts is loaded by its definition's simulator.load() (dynamic import) only",
      severity: "error",
      from: {},
      to: { path: "^monitors/[^/]+/simulator\\.ts$", dependencyTypesNot: ["dynamic-import"] },
    },
  ];
}

async function violations(): Promise<string[]> {
  const result = await cruise(
    ["core", "connectors", "mappings", "monitors", "playbooks", "integrations/tools", "worker", "simulators"],
    {
      baseDir: ROOT,
      validate: true,
      ruleSet: { forbidden: rules() },
      tsPreCompilationDeps: true,
      doNotFollow: { path: "node_modules" },
      exclude: { path: "(^|/)node_modules/|\\.d\\.ts$" },
    },
    {},
    { tsConfig: { fileName: join(ROOT, "tsconfig.json") } },
  );
  const output = result.output as ICruiseResult;
  return output.summary.violations.map((v) => `${v.from} -> ${v.to} (${v.rule.name})`);
}

test("every production import follows the layer table (no upward import, simulators only through their doors)", async () => {
  const found = await violations();
  const unexpected = found.filter((v) => !KNOWN_VIOLATIONS.some((k) => v.startsWith(`${k} `)));
  assert.deepEqual(unexpected, [], `upward imports:\n${unexpected.join("\n")}`);
});

test("the check sees imports: the cruise finds modules of every layer and reports a forbidden direction", async () => {
  const result = await cruise(["core", "monitors", "worker"], {
    baseDir: ROOT,
    tsPreCompilationDeps: true,
    doNotFollow: { path: "node_modules" },
  });
  const modules = (result.output as ICruiseResult).modules.map((m) => m.source);
  for (const layer of ["core/", "connectors/", "mappings/", "monitors/", "worker/"])
    assert.ok(
      modules.some((m) => m.startsWith(layer)),
      `no ${layer} module found (is dependency-cruiser resolving .ts imports?)`,
    );
  // A rule forbidding a direction that exists (worker/config.ts imports playbooks/config.ts) reports it.
  const probe = await cruise(["worker/config.ts"], {
    baseDir: ROOT,
    validate: true,
    tsPreCompilationDeps: true,
    doNotFollow: { path: "node_modules" },
    ruleSet: {
      forbidden: [
        { name: "probe", severity: "error", from: { path: "^worker/" }, to: { path: "^playbooks/" } },
      ],
    },
  });
  const probed = (probe.output as ICruiseResult).summary.violations.map((v) => `${v.from} -> ${v.to}`);
  assert.ok(probed.includes("worker/config.ts -> playbooks/config.ts"), probed.join("\n"));
});
