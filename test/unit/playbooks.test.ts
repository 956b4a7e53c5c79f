/** Unit tests of the playbook engine's pure parts: schema errors with paths, the expression library, the audit chain, redaction, the clinical assessment. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../../core/errors.ts";
import { Secret } from "../../core/secret.ts";
import { ACTION_CATALOGUE } from "../../playbooks/actions/index.ts";
import { assess } from "../../playbooks/actions/lookup.ts";
import { redact } from "../../playbooks/actions/types.ts";
import { AuditLog, canonical, GENESIS, verifyChain } from "../../playbooks/engine/audit.ts";
import { test as cond, evaluate, parseDuration, render } from "../../playbooks/engine/expr.ts";
import { loadRules } from "../../playbooks/engine/rules.ts";
import { loadPlaybooks, parsePlaybook } from "../../playbooks/engine/schema.ts";
import { DEFAULT_PLAYBOOK_DIR, DEFAULT_RULES_DIR } from "../../playbooks/index.ts";

const ACTIONS = new Set(Object.keys(ACTION_CATALOGUE));

describe("playbook schema", () => {
  test("the shipped playbooks and rules load", async () => {
    const pbs = await loadPlaybooks(DEFAULT_PLAYBOOK_DIR, ACTIONS);
    assert.deepEqual([...pbs.keys()].sort(), [
      "contain-eol-workstation",
      "isolate-infusion-pump",
      "release-device",
      "rotate-shared-credentials",
    ]);
    const rules = await loadRules(DEFAULT_RULES_DIR, new Set(pbs.keys()));
    assert.deepEqual(rules.map((r) => r.id).sort(), [
      "default-credential-login",
      "eol-workstation-internet",
      "pump-compromise",
    ]);
  });

  test("every problem is reported at once, each with its path", () => {
    const yaml = `
id: Bad Id
title: x
steps:
  - id: a
    action: nope.action
    retry: { attempts: 0 }
  - id: a
    action: device.assess
    when: "device.inUse = = true"
  - id: c
    action: ise.quarantine
    timeout: soon
    with: { macs: "{{ device.macs[ }}" }
`;
    let err: ConfigError | undefined;
    try {
      parsePlaybook(yaml, ACTIONS, "bad.yaml");
    } catch (e) {
      err = e as ConfigError;
    }
    assert.ok(err instanceof ConfigError);
    const paths = err.problems.map((p) => p.path);
    assert.ok(paths.includes("id"), paths.join());
    assert.ok(paths.includes("steps[0].retry.attempts"), paths.join());
    assert.ok(paths.includes("steps[2].timeout"), paths.join());
    // Second pass (after the shape is valid) reports names and expressions.
    const yaml2 = yaml
      .replace("Bad Id", "ok")
      .replace("attempts: 0", "attempts: 1")
      .replace("timeout: soon", "timeout: 5s");
    try {
      parsePlaybook(yaml2, ACTIONS, "bad.yaml");
      assert.fail("should not load");
    } catch (e) {
      const p2 = (e as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
      assert.ok(
        p2.some((p) => p.startsWith("steps[0].action: unknown action")),
        p2.join("\n"),
      );
      assert.ok(
        p2.some((p) => p.startsWith("steps[1].id: duplicate")),
        p2.join("\n"),
      );
      assert.ok(
        p2.some((p) => p.startsWith("steps[1].when: invalid expression")),
        p2.join("\n"),
      );
      assert.ok(
        p2.some((p) => p.startsWith("steps[2].with: invalid expression")),
        p2.join("\n"),
      );
    }
  });

  test("YAML syntax errors carry the line", () => {
    assert.throws(
      () => parsePlaybook("id: x\n  title: [", ACTIONS, "y.yaml"),
      (e: ConfigError) => /line \d+/.test(e.problems[0]?.path ?? ""),
    );
  });
});

describe("expressions (JSONata, no eval)", () => {
  test("conditions are true only on boolean true; missing is false", async () => {
    assert.equal(await cond("device.inUse = true", { device: { inUse: true } }), true);
    assert.equal(await cond("device.inUse = true", { device: {} }), false);
    assert.equal(await cond("device.inUse", { device: { inUse: "yes" } }), false);
  });
  test("templates keep types for whole expressions and build text otherwise", async () => {
    assert.deepEqual(
      await render(
        { macs: "{{ device.macs }}", n: "{{ 2 * 3 }}", s: "pump {{ device.name }}!" },
        { device: { macs: ["A"], name: "p1" } },
      ),
      { macs: ["A"], n: 6, s: "pump p1!" },
    );
  });
  test("no way out to JavaScript", async () => {
    for (const e of [
      "$eval('constructor.constructor')",
      "constructor.constructor('return process')()",
      "$$.constructor",
    ]) {
      const v = await evaluate(e, {}).catch(() => "error");
      assert.ok(v === undefined || v === "error", `${e} → ${String(v)}`);
    }
  });
  test("durations", () => {
    assert.equal(parseDuration("15m"), 900_000);
    assert.equal(parseDuration("1.5s"), 1500);
    assert.throws(() => parseDuration("soon"));
  });
});

describe("audit chain", () => {
  test("a chain verifies; an edit, a removal and a swap do not", async () => {
    const log = new AuditLog({ key: "unit-test-key" });
    for (let i = 0; i < 5; i++)
      await log.append({ type: "t", message: `m${i}`, detail: { i, b: { z: 1, a: 2 } } });
    const lines = log.entries.map((e) => JSON.stringify(e));
    assert.equal(log.entries[0]?.prev, GENESIS);
    assert.deepEqual(verifyChain(lines, "unit-test-key"), { ok: true, entries: 5 });
    assert.equal(verifyChain(lines, "another-key").line, 1, "another key does not verify");
    const edited = [...lines];
    edited[2] = (edited[2] as string).replace('"m2"', '"m9"');
    assert.equal(verifyChain(edited, "unit-test-key").line, 3);
    assert.equal(
      verifyChain(
        lines.filter((_, i) => i !== 2),
        "unit-test-key",
      ).ok,
      false,
    );
    assert.equal(
      verifyChain([lines[1] as string, lines[0] as string, ...lines.slice(2)], "unit-test-key").ok,
      false,
    );
  });
  test("canonical JSON does not depend on key order", () => {
    assert.equal(
      canonical({ b: 1, a: { d: 2, c: [3, { f: 1, e: 2 }] } }),
      canonical({ a: { c: [3, { e: 2, f: 1 }], d: 2 }, b: 1 }),
    );
  });
});

describe("redaction and clinical assessment", () => {
  test("redact() hides secret keys, Secret values and known secret strings", () => {
    const out = redact(
      {
        password: "p",
        nested: { routing_key: "r", token: new Secret("t"), note: "key=abcd1234 here" },
        list: [{ secret_id: "s" }],
      },
      ["abcd1234"],
    );
    assert.deepEqual(out, {
      password: "[redacted]",
      nested: { routing_key: "[redacted]", token: "[redacted]", note: "key=[redacted] here" },
      list: [{ secret_id: "[redacted]" }],
    });
  });
  test("only a device known to be idle may be fully contained", () => {
    const base = { key: "k", macs: [], ips: [], clinicalServers: [] };
    assert.equal(assess({ ...base, inUse: false }).mode, "full");
    assert.equal(assess({ ...base, inUse: true }).mode, "restricted");
    assert.equal(assess({ ...base, inUse: null }).mode, "restricted");
    assert.equal(assess({ ...base, inUse: false, utilizationRate: 0.8 }).mode, "restricted");
    assert.equal(assess({ ...base, inUse: null, consequenceOfFailure: "Life Support" }).mode, "restricted");
    assert.equal(assess(undefined).mode, "restricted");
  });
  test("a stale 'not in use' is not known idle (issue 10 finding 4)", () => {
    const base = { key: "k", macs: [], ips: [], clinicalServers: [] };
    const now = new Date("2026-12-07T12:00:00Z");
    const opts = { maxAgeMs: 30 * 60_000, now };
    const fresh = { ...base, inUse: false, inUseSeenAt: "2026-12-07T11:50:00Z" };
    assert.equal(assess(fresh, 0.5, opts).mode, "full");
    const old = { ...base, inUse: false, inUseSeenAt: "2026-12-04T11:50:00Z" };
    assert.equal(assess(old, 0.5, opts).mode, "restricted");
    assert.match(assess(old, 0.5, opts).reasons.join(" "), /stale/);
    assert.equal(assess({ ...base, inUse: false }, 0.5, opts).mode, "restricted", "no observation time");
    assert.equal(assess({ ...old, consequenceOfFailure: "Life Support" }, 0.5, opts).mayBeInUse, true);
  });
});

describe("device information from the state store (issue 4)", () => {
  test("facts give the clinical state; exposure gives the credential; identifiers fill the rest", async () => {
    const { infoFromState } = await import("../../playbooks/engine/devices.ts");
    const fact = (value: unknown) => [{ value, source: "claroty_xdome", seenAt: "2026-01-01T00:00:00Z" }];
    const state = {
      key: "AA-BB-CC-DD-EE-FF",
      identifiers: {
        macs: ["AA-BB-CC-DD-EE-FF"],
        serials: [],
        ips: ["10.0.0.9"],
        hostnames: [],
        site: "Main Campus",
        vendorIds: {},
      },
      facts: {
        "medsoc.device.class": fact("infusion_pump"),
        "medsoc.clinical.in_use": fact(false),
        "medsoc.location.ward": fact("ICU"),
      },
      conflicts: [],
      updatedAt: "2026-01-01T00:00:00Z",
      exposure: {
        vulnerabilities: {},
        alerts: {},
        alertCount: 0,
        credentialsObserved: ["default"],
        credentialFingerprints: ["df-1"],
      },
    };
    const info = infoFromState(state, { "Main Campus/infusion_pump": ["10.200.1.10"] });
    assert.equal(info.inUse, false);
    assert.equal(info.deviceClass, "infusion_pump");
    assert.deepEqual(info.macs, ["AA-BB-CC-DD-EE-FF"]);
    assert.deepEqual(info.clinicalServers, ["10.200.1.10"]);
    assert.deepEqual(info.credential, { fingerprint: "df-1", observed: "default" });
  });
});
