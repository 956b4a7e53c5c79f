/**
 * Each outside system of the response actions is declared once, in its action file
 * (`defineSystem`), and listed once in `playbooks/actions/systems.ts`: the `playbooks.systems`
 * schema, the action catalogue and the enforcement points of `contain.apply` are derived from it.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ENFORCEMENT_POINTS } from "../../playbooks/actions/contain.ts";
import { ACTION_CATALOGUE } from "../../playbooks/actions/index.ts";
import { ACTION_SYSTEMS } from "../../playbooks/actions/systems.ts";
import { systemsSchema } from "../../playbooks/config.ts";

describe("one declaration per outside system", () => {
  test("playbooks.systems has exactly the declared systems, each with its declared settings", () => {
    assert.deepEqual(
      Object.keys(systemsSchema.shape),
      ACTION_SYSTEMS.map((s) => s.id),
    );
    for (const s of ACTION_SYSTEMS) {
      const field = systemsSchema.shape[s.id as keyof typeof systemsSchema.shape];
      assert.equal(field.description, s.title, s.id);
      // The config field accepts what the system's own schema accepts, and nothing for an absent system.
      assert.equal(field.safeParse(undefined).success, true);
      assert.equal(field.unwrap(), s.config, `${s.id}: the field is the system's own schema`);
    }
  });

  test("the action catalogue is derived: every system-bound action names its system", () => {
    for (const s of ACTION_SYSTEMS) for (const a of s.actions) assert.equal(ACTION_CATALOGUE[a], s.id, a);
    const systemBound = Object.entries(ACTION_CATALOGUE).filter(([, sys]) => sys !== null);
    assert.equal(systemBound.length, ACTION_SYSTEMS.flatMap((s) => s.actions).length);
    assert.deepEqual(
      Object.entries(ACTION_CATALOGUE)
        .filter(([, sys]) => sys === null)
        .map(([a]) => a)
        .sort(),
      [
        "chat.message",
        "contain.apply",
        "contain.release",
        "credential.group",
        "device.assess",
        "run.schedule",
      ],
    );
  });

  test("enforcement points come from the declarations, network access control first", () => {
    assert.deepEqual(
      ENFORCEMENT_POINTS.map((p) => p.system),
      ["ise", "clearpass", "panos", "fortigate", "armis", "xdome", "forescout"],
    );
    for (const p of ENFORCEMENT_POINTS) {
      const s = ACTION_SYSTEMS.find((x) => x.id === p.system);
      assert.ok(s?.actions.includes(p.apply) && s.actions.includes(p.release), p.system);
    }
  });
});
