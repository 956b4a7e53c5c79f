/**
 * FortiGate restricted-group membership under concurrency (issue 10 finding 11, FortiGate part):
 * two runs restricting two devices at the same moment must both end up in the group. GET-append-PUT
 * loses one (PUT replaces the member list); one child-table POST per member does not. Also: a
 * member or ban that was there before is left alone by undo. Loopback simulator only (no Redis).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { silentLogger } from "../../core/log.ts";
import { Secret } from "../../core/secret.ts";
import { fortiGateActions } from "../../playbooks/actions/fortigate.ts";
import type { ActionContext, AnyAction } from "../../playbooks/actions/types.ts";
import { type FortiGateSimulator, startFortiGateSimulator } from "../../simulators/response/fortigate.ts";

let sim: FortiGateSimulator;
let actions: AnyAction[];

const ctxOf = (runId: string): ActionContext => ({
  runId,
  stepId: "contain",
  idempotencyKey: `${runId}-contain`,
  playbookId: "test",
  dryRun: false,
  record: () => undefined,
  log: silentLogger,
  now: () => new Date(),
});
const byName = (name: string): AnyAction => actions.find((a) => a.name === name) as AnyAction;

before(async () => {
  sim = await startFortiGateSimulator();
  actions = fortiGateActions({
    baseUrl: sim.url,
    token: new Secret(sim.token),
    vdom: "root",
    banExpirySeconds: 3600,
    restrictedGroup: "IoMT-Restricted",
    clinicalServerGroup: "IoMT-Clinical-Servers",
    addressPrefix: "medsoc-",
  });
});
after(async () => {
  await sim.stop();
});

describe("FortiGate membership", () => {
  test("two concurrent restricted containments both land in the group (no lost member)", async () => {
    const q = byName("fortigate.quarantine");
    // Every group write waits a little, so both runs have read the group before either writes:
    // the interleaving that loses a member with read-append-write.
    sim.faults.slow = { match: /^(PUT|POST) \/api\/v2\/cmdb\/firewall\/addrgrp\//, delayMs: 150 };
    try {
      const a = q.input.parse({ ips: ["10.5.0.1"], mode: "restricted", clinicalServers: ["10.200.0.5"] });
      const b = q.input.parse({ ips: ["10.5.0.2"], mode: "restricted", clinicalServers: ["10.200.0.5"] });
      const [oa, ob] = await Promise.all([q.execute(a, ctxOf("ra")), q.execute(b, ctxOf("rb"))]);
      assert.deepEqual([...(sim.groups.get("IoMT-Restricted") ?? [])].sort(), [
        "medsoc-dev-10.5.0.1",
        "medsoc-dev-10.5.0.2",
      ]);
      assert.deepEqual(sim.groups.get("IoMT-Clinical-Servers"), ["medsoc-srv-10.200.0.5"]);
      assert.equal((await q.verify(a, oa, ctxOf("ra"))).ok, true);
      assert.equal((await q.verify(b, ob, ctxOf("rb"))).ok, true);
      // Undo of one leaves the other.
      await q.undo?.(a, oa, ctxOf("ra"));
      assert.deepEqual(sim.groups.get("IoMT-Restricted"), ["medsoc-dev-10.5.0.2"]);
    } finally {
      sim.faults.slow = undefined;
    }
  });

  test("a device already restricted or banned by someone else is not released by this run's undo", async () => {
    const q = byName("fortigate.quarantine");
    const first = q.input.parse({ ips: ["10.5.0.3"], mode: "restricted" });
    await q.execute(first, ctxOf("earlier"));
    const again = q.input.parse({ ips: ["10.5.0.3"], mode: "restricted" });
    const o = await q.execute(again, ctxOf("later"));
    await q.undo?.(again, o, ctxOf("later"));
    assert.ok(sim.groups.get("IoMT-Restricted")?.includes("medsoc-dev-10.5.0.3"));
    const full = q.input.parse({ ips: ["10.5.0.4"], mode: "full" });
    await q.execute(full, ctxOf("earlier-ban"));
    const of = await q.execute(full, ctxOf("later-ban"));
    await q.undo?.(full, of, ctxOf("later-ban"));
    assert.ok(sim.banned.has("10.5.0.4"), "the earlier ban stays");
    // The release playbook's action removes everything regardless of who put it there.
    const r = byName("fortigate.release");
    const ro = await r.execute({ ips: ["10.5.0.3", "10.5.0.4"] }, ctxOf("release"));
    assert.equal((await r.verify({ ips: ["10.5.0.3", "10.5.0.4"] }, ro, ctxOf("release"))).ok, true);
  });
});
