/**
 * One definition per monitor (issue 14): every list keyed by monitor is derived from the registry
 * (`monitors/index.ts`), so it names exactly the registered monitors, and every monitor folder is
 * registered.
 */
import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Command, Option } from "commander";
import {
  connectorSchemas,
  connectors,
  DEFAULT_SYSLOG_ROUTES,
  listStreams,
  monitors,
  registry,
  SYSLOG_PROFILES,
  VENDOR_NAMESPACES,
} from "../../monitors/index.ts";
import { HOSPITAL_MONITORS } from "../../simulators/hospital.ts";
import { program } from "../../worker/cli.ts";
import { VENDOR_NAMESPACES as SINK_VENDOR_NAMESPACES } from "../../worker/sinks/elasticsearch-templates/index.ts";
import { DEFAULT_CUSTOM_NAMESPACES } from "../helpers/ecs.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const ids = monitors.map((m) => m.id);

describe("the monitor registry", () => {
  it("has one entry per folder of monitors/, each named after its folder, ids unique", () => {
    const folders = readdirSync(join(ROOT, "monitors")).filter((f) =>
      statSync(join(ROOT, "monitors", f)).isDirectory(),
    );
    assert.deepEqual([...ids].sort(), [...folders].sort());
    assert.equal(new Set(ids).size, ids.length);
    for (const id of ids) {
      const files = readdirSync(join(ROOT, "monitors", id));
      assert.ok(files.includes("index.ts") && files.includes("simulator.ts"), `${id}: ${files.join(", ")}`);
    }
  });

  it("every monitor's pulled streams have a mapping, and its SIEM streams are SIEM streams", () => {
    for (const m of monitors) {
      assert.ok(m.pullStreams.length > 0, m.id);
      for (const s of m.pullStreams) assert.ok(Object.hasOwn(m.mappings, s), `${m.id}/${s} has no mapping`);
      for (const s of m.siemStreams) assert.ok(["device", "alert", "vulnerability", "event"].includes(s));
      assert.ok(m.siemStreams.includes("device"), `${m.id}: every monitor reports devices`);
    }
  });

  it("derives the connector lookup, config schemas and mapping registry", () => {
    assert.deepEqual(
      connectors.map((c) => c.source),
      ids,
    );
    assert.deepEqual(Object.keys(connectorSchemas()), ids);
    assert.deepEqual(Object.keys(registry), ids);
    assert.deepEqual([...new Set(listStreams().map((s) => s.source))], ids);
    for (const m of monitors) assert.deepEqual(connectorSchemas()[m.id]?.streams, m.pullStreams);
  });

  it("derives the simulated hospital and one `medsoc simulate <id>` per monitor (plus hospital)", () => {
    assert.deepEqual(Object.keys(HOSPITAL_MONITORS), ids);
    const simulate = program.commands.find((c) => c.name() === "simulate");
    assert.ok(simulate);
    assert.deepEqual(
      simulate.commands.map((c) => c.name()),
      [...ids, "hospital"],
    );
    for (const m of monitors) {
      const cmd: Command | undefined = simulate.commands.find((c) => c.name() === m.id);
      assert.equal(
        cmd?.options.some((o: Option) => o.long === "--type-drift"),
        m.simulator.typeDrift === true,
      );
    }
  });

  it("derives the SIEM vendor namespaces (sink template, ECS test helper)", () => {
    assert.deepEqual(VENDOR_NAMESPACES, ids);
    assert.deepEqual(SINK_VENDOR_NAMESPACES, VENDOR_NAMESPACES);
    assert.deepEqual(DEFAULT_CUSTOM_NAMESPACES, ["medsoc", ...VENDOR_NAMESPACES]);
  });

  it("derives the built-in syslog routes and profiles, each to a mapped stream of a registered monitor", () => {
    assert.ok(DEFAULT_SYSLOG_ROUTES.length > 0);
    for (const r of DEFAULT_SYSLOG_ROUTES) {
      const m = monitors.find((x) => x.id === r.source);
      assert.ok(m && Object.hasOwn(m.mappings, r.stream), `${r.vendor} → ${r.source}/${r.stream}`);
    }
    for (const id of Object.keys(SYSLOG_PROFILES)) assert.ok(ids.includes(id));
  });
});
