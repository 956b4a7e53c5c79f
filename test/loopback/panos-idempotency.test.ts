/**
 * PAN-OS User-ID idempotency against a firewall that answers like a real one (issue 10 finding 6):
 * registering a tag an IP already carries answers `status="error"` "tag … already exists, ignore",
 * unregistering one it does not carry "tag … does not exist, ignore unreg". The actions treat those
 * answers as already done and decide by reading the registered IPs back; any other error still
 * fails. Loopback simulator only (no Redis).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { PermanentError } from "../../core/errors.ts";
import { silentLogger } from "../../core/log.ts";
import { Secret } from "../../core/secret.ts";
import { panosActions } from "../../playbooks/actions/panos.ts";
import type { ActionContext, AnyAction, RecordedCall } from "../../playbooks/actions/types.ts";
import { type PanosSimulator, startPanosSimulator } from "../../simulators/response/panos.ts";

let sim: PanosSimulator;
let actions: AnyAction[];

function ctxOf(runId: string, stepId = "contain"): { ctx: ActionContext; calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  return {
    calls,
    ctx: {
      runId,
      stepId,
      idempotencyKey: `${runId}-${stepId}`,
      playbookId: "test",
      dryRun: false,
      record: (c) => calls.push(c),
      log: silentLogger,
      now: () => new Date(),
    },
  };
}
const byName = (name: string): AnyAction => {
  const a = actions.find((x) => x.name === name);
  assert.ok(a, name);
  return a;
};
const post = async (body: Record<string, string>) => {
  const r = await fetch(`${sim.url}/api/`, { method: "POST", body: new URLSearchParams(body) });
  return r.text();
};

before(async () => {
  sim = await startPanosSimulator();
  actions = panosActions({
    baseUrl: sim.url,
    username: sim.username,
    password: new Secret(sim.password),
    tags: { full: "iomt-quarantine", restricted: "iomt-restricted" },
    clinicalServerTag: "iomt-clinical-servers",
    timeoutSeconds: 3600,
  });
});
after(async () => {
  await sim.stop();
});

describe("the simulator answers as a firewall does", () => {
  test("a duplicate register and a missing unregister are status=error with the firewall's texts", async () => {
    const key = /<key>([^<]+)<\/key>/.exec(
      await post({ type: "keygen", user: sim.username, password: sim.password }),
    )?.[1] as string;
    const reg = `<uid-message><version>2.0</version><type>update</type><payload><register><entry ip="10.9.9.9"><tag><member>t1</member></tag></entry></register></payload></uid-message>`;
    assert.match(await post({ type: "user-id", key, cmd: reg }), /status="success"/);
    const dup = await post({ type: "user-id", key, cmd: reg });
    assert.match(dup, /<response status="error">/);
    assert.match(dup, /<entry ip="10\.9\.9\.9" message="tag t1 already exists, ignore"\/>/);
    const unreg = reg.replace(/register>/g, "unregister>").replace("<unregister>", "<unregister>");
    assert.match(await post({ type: "user-id", key, cmd: unreg }), /status="success"/);
    const missing = await post({ type: "user-id", key, cmd: unreg });
    assert.match(missing, /<response status="error">/);
    assert.match(missing, /message="tag t1 does not exist, ignore unreg"/);
    sim.registered.clear();
  });
});

describe("PAN-OS actions are idempotent against those errors", () => {
  test("a second pump in restricted containment (clinical servers already tagged) succeeds and verifies", async () => {
    sim.registered.clear();
    const tag = byName("panos.tag");
    const servers = ["10.200.0.5", "10.200.0.6"];
    const a = tag.input.parse({ ips: ["10.1.0.1"], mode: "restricted", clinicalServers: servers });
    const b = tag.input.parse({ ips: ["10.1.0.2"], mode: "restricted", clinicalServers: servers });
    const { ctx } = ctxOf("r1");
    const oa = await tag.execute(a, ctx);
    assert.equal((await tag.verify(a, oa, ctx)).ok, true);
    const ob = await tag.execute(b, ctxOf("r2").ctx);
    assert.equal((await tag.verify(b, ob, ctx)).ok, true);
    for (const ip of ["10.1.0.1", "10.1.0.2"]) assert.ok(sim.registered.get(ip)?.has("iomt-restricted"));
    for (const s of servers) assert.ok(sim.registered.get(s)?.has("iomt-clinical-servers"));
  });

  test("releasing a pump that only carries the restricted tag succeeds and reads back clean", async () => {
    sim.registered.clear();
    const tag = byName("panos.tag");
    const untag = byName("panos.untag");
    const { ctx } = ctxOf("r3");
    await tag.execute(tag.input.parse({ ips: ["10.1.0.3"], mode: "restricted" }), ctx);
    const o = await untag.execute({ ips: ["10.1.0.3"] }, ctx);
    assert.equal((await untag.verify({ ips: ["10.1.0.3"] }, o, ctx)).ok, true);
    assert.equal(sim.registered.get("10.1.0.3")?.size ?? 0, 0);
    // Releasing it again (nothing left at all) is still done, not an error.
    await untag.execute({ ips: ["10.1.0.3"] }, ctx);
  });

  test("a re-run of the same step (worker killed after the call) is done, and the read-back decides", async () => {
    sim.registered.clear();
    const tag = byName("panos.tag");
    const i = tag.input.parse({ ips: ["10.1.0.4"], mode: "full" });
    const { ctx } = ctxOf("r4");
    await tag.execute(i, ctx);
    const again = await tag.execute(i, ctx);
    assert.equal((await tag.verify(i, again, ctx)).ok, true);
  });

  test("a tag another run registered is not removed by this run's undo", async () => {
    sim.registered.clear();
    const tag = byName("panos.tag");
    const i = tag.input.parse({ ips: ["10.1.0.5", "10.1.0.6"], mode: "full" });
    await tag.execute(tag.input.parse({ ips: ["10.1.0.5"], mode: "full" }), ctxOf("earlier").ctx);
    const { ctx } = ctxOf("later");
    const o = await tag.execute(i, ctx);
    await tag.undo?.(i, o, ctx);
    assert.ok(sim.registered.get("10.1.0.5")?.has("iomt-quarantine"), "the earlier run's tag stays");
    assert.equal(sim.registered.get("10.1.0.6")?.has("iomt-quarantine") ?? false, false);
  });

  test("a register the firewall ignores still fails the read-back; other errors stay errors", async () => {
    sim.registered.clear();
    const tag = byName("panos.tag");
    const i = tag.input.parse({ ips: ["10.1.0.7"], mode: "full" });
    const { ctx } = ctxOf("r5");
    sim.modes.ignoreRegister = true;
    try {
      const o = await tag.execute(i, ctx);
      assert.equal((await tag.verify(i, o, ctx)).ok, false);
    } finally {
      sim.modes.ignoreRegister = false;
    }
    const bad = tag.input.parse({ ips: ["10.1.0.8"], mode: "full", timeoutSeconds: 2_592_000 });
    // A timeout the firewall refuses: not one of the two idempotency answers.
    const over = { ...bad, timeoutSeconds: 2_592_001 };
    await assert.rejects(() => tag.execute(over, ctx), PermanentError);
  });
});
