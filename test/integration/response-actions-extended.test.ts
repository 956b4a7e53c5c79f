/**
 * The second set of response actions against their loopback simulators (no Redis needed): ClearPass,
 * FortiGate, Armis tags, xDome custom attributes, Forescout DEX, CyberArk PVWA. For each: plan()
 * makes no call; execute + verify read the effect back; verify fails when the system answered 2xx
 * but applied nothing; undo reverses; a repeated (run, step) sends no second write; 401 (expired
 * token/session) re-authenticates where the vendor has sessions; 429 carries Retry-After; 5xx is
 * retryable; errors and recorded calls carry no secret.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { UnauthorizedError } from "../../connectors/http.ts";
import { PermanentError, RateLimitedError, RetryableError } from "../../core/errors.ts";
import { silentLogger } from "../../core/log.ts";
import { Secret } from "../../core/secret.ts";
import { armisTagActions } from "../../playbooks/actions/armis.ts";
import { clearPassActions } from "../../playbooks/actions/clearpass.ts";
import { cyberArkActions } from "../../playbooks/actions/cyberark.ts";
import { forescoutActions } from "../../playbooks/actions/forescout.ts";
import { fortiGateActions } from "../../playbooks/actions/fortigate.ts";
import { ACTION_CATALOGUE, createActions } from "../../playbooks/actions/index.ts";
import type { ActionContext, AnyAction, RecordedCall } from "../../playbooks/actions/types.ts";
import { xdomeActions } from "../../playbooks/actions/xdome.ts";
import { type SystemsConfig, systemsSchema } from "../../playbooks/config.ts";
import { DeviceDirectory } from "../../playbooks/engine/devices.ts";
import { createFleet, type DeviceFacts } from "../../simulators/fleet/fleet.ts";
import {
  type ExtendedResponseSystems,
  pvwaAccountId,
  startExtendedResponseSystems,
} from "../../simulators/response/enforcement.ts";

const fleet = createFleet({ size: 40, seed: 7 });
let sims: ExtendedResponseSystems;
let systems: SystemsConfig;
let secrets: string[];

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

const byName = (list: AnyAction[], name: string): AnyAction => {
  const a = list.find((x) => x.name === name);
  assert.ok(a, `action ${name}`);
  return a;
};

/** No secret of any simulator in the recorded calls or the error. */
function assertRedacted(calls: RecordedCall[], error?: unknown) {
  const text = JSON.stringify(calls) + (error instanceof Error ? error.message : "");
  for (const s of secrets) assert.ok(!text.includes(s), `secret ${s.slice(0, 4)}… leaked`);
}

/** Runs `fn` expecting it to throw; returns the error. */
async function rejects(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  assert.fail("expected an error");
}

const dev = (i: number): DeviceFacts => fleet.facts(i);
const writes = (log: { method: string; path: string }[], re: RegExp) =>
  log.filter((l) => l.method !== "GET" && re.test(l.path)).length;

before(async () => {
  sims = await startExtendedResponseSystems({ fleet });
  systems = systemsSchema.parse(sims.systemsConfig({ pollIntervalMs: 20, pollTimeoutMs: 2000 }));
  secrets = [
    sims.clearpass.clientSecret,
    sims.fortigate.token,
    sims.armis.secret,
    sims.xdome.token,
    sims.forescout.dexPassword,
    sims.forescout.webPassword,
    sims.cyberark.password,
  ];
});
after(async () => {
  await sims.stop();
});

describe("registry", () => {
  test("every new action is catalogued with its system and built from the config", () => {
    const built = createActions(systems, new DeviceDirectory());
    for (const [name, system] of Object.entries({
      "clearpass.quarantine": "clearpass",
      "clearpass.release": "clearpass",
      "fortigate.quarantine": "fortigate",
      "fortigate.release": "fortigate",
      "armis.tag": "armis",
      "armis.untag": "armis",
      "xdome.mark": "xdome",
      "xdome.unmark": "xdome",
      "forescout.mark": "forescout",
      "forescout.unmark": "forescout",
      "cyberark.change": "cyberark",
      "cyberark.verify": "cyberark",
    })) {
      assert.equal(ACTION_CATALOGUE[name], system, name);
      assert.ok(built.registry.has(name), `${name} registered`);
      assert.equal(built.systems[system], true);
    }
    const none = createActions(systemsSchema.parse({}), new DeviceDirectory());
    assert.equal(none.registry.has("clearpass.quarantine"), false);
  });
  test("config: secrets are typed, defaults applied, unknown keys refused", () => {
    assert.equal(String(systems.clearpass?.clientSecret), "[redacted]");
    assert.equal(systems.fortigate?.banExpirySeconds, 86_400);
    assert.equal(systems.armis?.tags.restricted, "medsoc-restricted");
    assert.equal(systems.cyberark?.authType, "CyberArk");
    const bad = systemsSchema.safeParse({ fortigate: { baseUrl: "http://x", token: "t", vdomm: "root" } });
    assert.equal(bad.success, false);
  });
});

describe("Aruba ClearPass", () => {
  const actions = () => clearPassActions(systems.clearpass as NonNullable<SystemsConfig["clearpass"]>);
  const f = dev(1);
  const mac = f.mac.toLowerCase().replace(/:/g, "");
  test("plan makes no call and names the attributes and the CoA profile", async () => {
    const before = sims.clearpass.log.length;
    const p = await byName(actions(), "clearpass.quarantine").plan(
      { macs: [f.mac], mode: "restricted", clinicalServers: ["10.9.9.9"] },
      ctxOf("r0").ctx,
    );
    assert.equal(sims.clearpass.log.length, before);
    assert.match(p.summary, /IoMT Restricted Access/);
    assert.match(p.summary, /10\.9\.9\.9 stay reachable/);
  });
  test("execute marks + CoA, verify reads the attributes back, a re-run does not patch twice, undo clears", async () => {
    const [q] = [byName(actions(), "clearpass.quarantine")];
    const { ctx, calls } = ctxOf("cp-1");
    const i = q.input.parse({ macs: [f.mac.replace(/:/g, "-")], mode: "full" });
    const out = await q.execute(i, ctx);
    assert.equal(sims.clearpass.endpoints.get(mac)?.attributes["IoMT-Quarantine"], "true");
    assert.equal(sims.clearpass.endpoints.get(mac)?.attributes["IoMT-Quarantine-Mode"], "full");
    assert.deepEqual(sims.clearpass.sessionActions.at(-1), {
      mac,
      action: "coa",
      profiles: ["IoMT Quarantine VLAN"],
    });
    const v = await q.verify(i, out, ctx);
    assert.equal(v.ok, true, v.detail);
    const patches = writes(sims.clearpass.log, /endpoint\/mac-address/);
    await q.execute(i, ctxOf("cp-1").ctx);
    assert.equal(writes(sims.clearpass.log, /endpoint\/mac-address/), patches, "no second PATCH");
    await q.undo?.(i, out, ctx);
    assert.equal(sims.clearpass.endpoints.get(mac)?.attributes["IoMT-Quarantine"], "false");
    assert.equal(sims.clearpass.sessionActions.at(-1)?.action, "disconnect");
    assert.equal((await q.verify(i, out, ctx)).ok, false);
    assertRedacted(calls);
    assert.ok(
      calls.some((c) => c.url.endsWith("/api/oauth") && JSON.stringify(c.request).includes("[redacted]")),
    );
  });
  test("a 200 that applies nothing fails verification", async () => {
    const q = byName(actions(), "clearpass.quarantine");
    const { ctx } = ctxOf("cp-2");
    const i = q.input.parse({ macs: [dev(2).mac], mode: "restricted" });
    sims.clearpass.modes.ignorePatch = true;
    try {
      const out = await q.execute(i, ctx);
      const v = await q.verify(i, out, ctx);
      assert.equal(v.ok, false);
      assert.match(v.detail, /not quarantined/);
    } finally {
      sims.clearpass.modes.ignorePatch = false;
    }
  });
  test("an expired token is replaced once; 429 and 5xx keep their retry meaning; unknown MAC is permanent", async () => {
    const list = actions();
    const q = byName(list, "clearpass.quarantine");
    const r = byName(list, "clearpass.release");
    const { ctx, calls } = ctxOf("cp-3");
    await q.execute(q.input.parse({ macs: [dev(3).mac], mode: "full" }), ctx);
    sims.clearpass.expireTokens();
    const out = await r.execute(r.input.parse({ macs: [dev(3).mac] }), ctx);
    assert.equal((await r.verify({ macs: [dev(3).mac] }, out, ctx)).ok, true);
    assert.equal(calls.filter((c) => c.url.endsWith("/api/oauth")).length, 2);
    sims.clearpass.faults.rateLimitNext = 1;
    sims.clearpass.faults.retryAfterSeconds = 7;
    const rl = await rejects(() => r.execute({ macs: [dev(3).mac] }, ctx));
    assert.ok(rl instanceof RateLimitedError);
    assert.equal(rl.retryAfterMs, 7000);
    sims.clearpass.faults.serverErrorNext = 1;
    assert.ok((await rejects(() => r.execute({ macs: [dev(3).mac] }, ctx))) instanceof RetryableError);
    const nf = await rejects(() =>
      q.execute(q.input.parse({ macs: ["02:00:00:00:00:99"], mode: "full" }), ctx),
    );
    assert.ok(nf instanceof PermanentError);
    assert.match(nf.message, /no endpoint 020000000099/);
    assertRedacted(calls, nf);
  });
  test("an endpoint without an active session is marked anyway (the policy applies at its next authentication)", async () => {
    const list = actions();
    const q = byName(list, "clearpass.quarantine");
    const f = dev(21);
    const mac = f.mac.toLowerCase().replace(/:/g, "");
    sims.clearpass.offline.add(mac);
    try {
      const { ctx } = ctxOf("cp-5");
      const i = q.input.parse({ macs: [f.mac], mode: "full" });
      const out = await q.execute(i, ctx);
      assert.match(out.endpoints[0].coa, /no active session/);
      assert.equal((await q.verify(i, out, ctx)).ok, true);
      await q.undo?.(i, out, ctx);
      assert.equal(sims.clearpass.endpoints.get(mac)?.attributes["IoMT-Quarantine"], "false");
    } finally {
      sims.clearpass.offline.delete(mac);
    }
  });
  test("a wrong client secret is a permanent error without the secret in it", async () => {
    const cfg = systemsSchema.parse({
      clearpass: { ...(sims.systemsConfig().clearpass as object), clientSecret: "wrong-secret-value" },
    });
    const q = byName(
      clearPassActions(cfg.clearpass as NonNullable<SystemsConfig["clearpass"]>),
      "clearpass.quarantine",
    );
    const { ctx, calls } = ctxOf("cp-4");
    const e = await rejects(() => q.execute(q.input.parse({ macs: [dev(4).mac], mode: "full" }), ctx));
    assert.ok(e instanceof PermanentError);
    assert.ok(!e.message.includes("wrong-secret-value"));
    assert.ok(!JSON.stringify(calls).includes("wrong-secret-value"));
  });
});

describe("FortiGate", () => {
  const actions = () => fortiGateActions(systems.fortigate as NonNullable<SystemsConfig["fortigate"]>);
  test("plan makes no call", async () => {
    const before = sims.fortigate.log.length;
    const p = await byName(actions(), "fortigate.quarantine").plan(
      { ips: ["10.1.1.1"], mode: "full", clinicalServers: [] },
      ctxOf("f0").ctx,
    );
    assert.equal(sims.fortigate.log.length, before);
    assert.match(p.summary, /ban 10\.1\.1\.1 .* for 86400 s/);
  });
  test("full: ban with expiry, read the banned list back, a re-run does not ban twice, undo clears", async () => {
    const q = byName(actions(), "fortigate.quarantine");
    const ip = dev(5).ip;
    const { ctx, calls } = ctxOf("fg-1");
    const i = q.input.parse({ ips: [ip], mode: "full" });
    const out = await q.execute(i, ctx);
    const ban = sims.fortigate.banned.get(ip);
    assert.ok(ban && ban.expires !== undefined && ban.expires - ban.created === 86_400);
    assert.equal((await q.verify(i, out, ctx)).ok, true);
    const adds = writes(sims.fortigate.log, /add_users/);
    await q.execute(i, ctxOf("fg-1").ctx);
    assert.equal(writes(sims.fortigate.log, /add_users/), adds);
    await q.undo?.(i, out, ctx);
    assert.equal(sims.fortigate.banned.has(ip), false);
    const v = await q.verify(i, out, ctx);
    assert.equal(v.ok, false);
    assert.match(v.detail, /lacks/);
    assertRedacted(calls);
  });
  test("restricted: the device goes to the restricted group and its clinical servers to theirs; undo removes it", async () => {
    const q = byName(actions(), "fortigate.quarantine");
    const f = dev(6);
    const { ctx } = ctxOf("fg-2");
    const i = q.input.parse({ ips: [f.ip], mode: "restricted", clinicalServers: ["10.200.0.5"] });
    const out = await q.execute(i, ctx);
    assert.deepEqual(sims.fortigate.groups.get("IoMT-Restricted"), [`medsoc-dev-${f.ip}`]);
    assert.deepEqual(sims.fortigate.groups.get("IoMT-Clinical-Servers"), ["medsoc-srv-10.200.0.5"]);
    assert.equal(sims.fortigate.banned.has(f.ip), false, "restricted never bans");
    assert.equal((await q.verify(i, out, ctx)).ok, true);
    // A second device is appended, not replacing the first (PUT replaces the whole list).
    const i2 = q.input.parse({ ips: [dev(7).ip], mode: "restricted" });
    const out2 = await q.execute(i2, ctx);
    assert.equal(sims.fortigate.groups.get("IoMT-Restricted")?.length, 2);
    await q.undo?.(i, out, ctx);
    assert.deepEqual(sims.fortigate.groups.get("IoMT-Restricted"), [`medsoc-dev-${dev(7).ip}`]);
    assert.equal(sims.fortigate.addresses.has(`medsoc-dev-${f.ip}`), false);
    const r = byName(actions(), "fortigate.release");
    const ro = await r.execute({ ips: [dev(7).ip] }, ctx);
    assert.equal((await r.verify({ ips: [dev(7).ip] }, ro, ctx)).ok, true);
    assert.equal((await q.verify(i2, out2, ctx)).ok, false);
  });
  test("a 200 that bans nothing fails verification; 401 is final and redacted; 429 and 5xx are retryable", async () => {
    const q = byName(actions(), "fortigate.quarantine");
    const { ctx, calls } = ctxOf("fg-3");
    const i = q.input.parse({ ips: [dev(8).ip], mode: "full" });
    sims.fortigate.modes.ignoreBan = true;
    try {
      const out = await q.execute(i, ctx);
      assert.equal((await q.verify(i, out, ctx)).ok, false);
    } finally {
      sims.fortigate.modes.ignoreBan = false;
    }
    sims.fortigate.faults.unauthorizedNext = 1;
    const e = await rejects(() => q.execute(i, ctx));
    assert.ok(e instanceof UnauthorizedError);
    sims.fortigate.faults.rateLimitNext = 1;
    sims.fortigate.faults.retryAfterSeconds = 3;
    const rl = await rejects(() => q.execute(i, ctx));
    assert.ok(rl instanceof RateLimitedError && rl.retryAfterMs === 3000);
    sims.fortigate.faults.serverErrorNext = 1;
    assert.ok((await rejects(() => q.execute(i, ctx))) instanceof RetryableError);
    assertRedacted(calls, e);
    assert.ok(calls.length > 0);
  });
  test("a missing address group is a clear permanent error", async () => {
    const cfg = {
      ...(systems.fortigate as NonNullable<SystemsConfig["fortigate"]>),
      restrictedGroup: "Nope",
    };
    const q = byName(fortiGateActions(cfg), "fortigate.quarantine");
    const e = await rejects(() =>
      q.execute(q.input.parse({ ips: [dev(9).ip], mode: "restricted" }), ctxOf("fg-4").ctx),
    );
    assert.ok(e instanceof PermanentError);
    assert.match(e.message, /address group Nope does not exist/);
    // Full containment and release do not need the restricted group at all.
    const list = fortiGateActions(cfg);
    const ip = dev(9).ip;
    const { ctx } = ctxOf("fg-5");
    const i = byName(list, "fortigate.quarantine").input.parse({ ips: [ip], mode: "full" });
    const out = await byName(list, "fortigate.quarantine").execute(i, ctx);
    await byName(list, "fortigate.quarantine").undo?.(i, out, ctx);
    const r = byName(list, "fortigate.release");
    const ro = await r.execute({ ips: [ip] }, ctx);
    assert.equal((await r.verify({ ips: [ip] }, ro, ctx)).ok, true);
    assert.equal(sims.fortigate.banned.has(ip), false);
  });
});

describe("Armis device tags", () => {
  const actions = () => armisTagActions(systems.armis as NonNullable<SystemsConfig["armis"]>);
  test("plan makes no call", async () => {
    const before = sims.armis.log.length;
    await byName(actions(), "armis.tag").plan(
      { deviceIds: ["3"], mode: "full", clinicalServers: [] },
      ctxOf("a0").ctx,
    );
    assert.equal(sims.armis.log.length, before);
  });
  test("tag by MAC lookup, read the tags back, no second POST on a re-run, undo removes the tag", async () => {
    const t = byName(actions(), "armis.tag");
    const f = dev(10);
    const { ctx, calls } = ctxOf("ar-1");
    const i = t.input.parse({ macs: [f.mac.replace(/:/g, "-")], mode: "restricted" });
    const out = await t.execute(i, ctx);
    assert.deepEqual(out.deviceIds, [String(f.id)]);
    assert.deepEqual(sims.armis.devices.get(f.id)?.tags, ["medsoc-restricted"]);
    assert.equal((await t.verify(i, out, ctx)).ok, true);
    const posts = writes(sims.armis.log, /\/tags\/$/);
    await t.execute(i, ctxOf("ar-1").ctx);
    assert.equal(writes(sims.armis.log, /\/tags\/$/), posts);
    await t.undo?.(i, out, ctx);
    assert.deepEqual(sims.armis.devices.get(f.id)?.tags, []);
    assert.equal((await t.verify(i, out, ctx)).ok, false);
    assertRedacted(calls);
    assert.ok(calls.every((c) => !JSON.stringify(c).includes(sims.armis.secret)));
  });
  test("tag writes answered 200 that change nothing fail verification; an expired token is replaced once", async () => {
    const list = actions();
    const t = byName(list, "armis.tag");
    const u = byName(list, "armis.untag");
    const f = dev(11);
    const { ctx, calls } = ctxOf("ar-2");
    const i = t.input.parse({ deviceIds: [f.id], mode: "full" });
    sims.armis.modes.ignoreTagWrites = true;
    try {
      const out = await t.execute(i, ctx);
      assert.equal((await t.verify(i, out, ctx)).ok, false);
    } finally {
      sims.armis.modes.ignoreTagWrites = false;
    }
    await t.execute(i, ctx);
    sims.armis.expireTokens();
    const out = await u.execute({ deviceIds: [f.id] }, ctx);
    assert.equal((await u.verify({ deviceIds: [f.id] }, out, ctx)).ok, true);
    assert.equal(calls.filter((c) => c.url.endsWith("/access_token/")).length, 2);
    sims.armis.faults.rateLimitNext = 1;
    assert.ok((await rejects(() => t.execute(i, ctx))) instanceof RateLimitedError);
    sims.armis.faults.serverErrorNext = 1;
    assert.ok((await rejects(() => t.execute(i, ctx))) instanceof RetryableError);
    const nf = await rejects(() =>
      t.execute(t.input.parse({ macs: ["02:00:00:00:00:77"], mode: "full" }), ctx),
    );
    assert.ok(nf instanceof PermanentError);
    assertRedacted(calls, nf);
  });
});

describe("Claroty xDome custom attributes", () => {
  const actions = () => xdomeActions(systems.xdome as NonNullable<SystemsConfig["xdome"]>);
  test("plan makes no call", async () => {
    const before = sims.xdome.log.length;
    const p = await byName(actions(), "xdome.mark").plan(
      { uids: ["u"], mode: "full", clinicalServers: [] },
      ctxOf("x0").ctx,
    );
    assert.equal(sims.xdome.log.length, before);
    assert.match(p.summary, /medsoc_containment=quarantine/);
  });
  test("set by MAC lookup, read back through devices/, no second set on a re-run, undo clears to null", async () => {
    const m = byName(actions(), "xdome.mark");
    const f = dev(12);
    const { ctx, calls } = ctxOf("xd-1");
    const i = m.input.parse({ macs: [f.mac], mode: "restricted" });
    const out = await m.execute(i, ctx);
    assert.deepEqual(out.uids, [f.uid]);
    assert.equal(sims.xdome.devices.get(f.uid)?.custom.medsoc_containment, "restricted");
    assert.equal((await m.verify(i, out, ctx)).ok, true);
    const sets = sims.xdome.log.filter((l) => l.path.endsWith("custom-attributes/set")).length;
    await m.execute(i, ctxOf("xd-1").ctx);
    assert.equal(sims.xdome.log.filter((l) => l.path.endsWith("custom-attributes/set")).length, sets);
    await m.undo?.(i, out, ctx);
    assert.equal(sims.xdome.devices.get(f.uid)?.custom.medsoc_containment, undefined);
    const v = await m.verify(i, out, ctx);
    assert.equal(v.ok, false);
    assert.match(v.detail, /unset/);
    assertRedacted(calls);
  });
  test("a 200 that sets nothing fails verification; a missing attribute is a 422 with its message; 401 final", async () => {
    const m = byName(actions(), "xdome.mark");
    const f = dev(13);
    const { ctx, calls } = ctxOf("xd-2");
    const i = m.input.parse({ uids: [f.uid], mode: "full" });
    sims.xdome.modes.ignoreSet = true;
    try {
      const out = await m.execute(i, ctx);
      assert.equal((await m.verify(i, out, ctx)).ok, false);
    } finally {
      sims.xdome.modes.ignoreSet = false;
    }
    const other = xdomeActions({
      ...(systems.xdome as NonNullable<SystemsConfig["xdome"]>),
      attribute: "not_created",
    });
    const e = await rejects(() => byName(other, "xdome.mark").execute(i, ctx));
    assert.ok(e instanceof PermanentError);
    assert.match(e.message, /HTTP 422/);
    sims.xdome.faults.unauthorizedNext = 1;
    const u = await rejects(() => m.execute(i, ctx));
    assert.ok(u instanceof UnauthorizedError);
    sims.xdome.faults.rateLimitNext = 1;
    assert.ok((await rejects(() => m.execute(i, ctx))) instanceof RateLimitedError);
    sims.xdome.faults.malformedNext = 1;
    assert.ok((await rejects(() => m.execute(i, ctx))) instanceof RetryableError);
    assertRedacted(calls, u);
  });
});

describe("Forescout DEX", () => {
  const actions = () => forescoutActions(systems.forescout as NonNullable<SystemsConfig["forescout"]>);
  test("plan makes no call and shows the DEX transaction", async () => {
    const before = sims.forescout.log.length;
    const p = await byName(actions(), "forescout.mark").plan(
      { ips: ["10.0.0.1"], mode: "full", clinicalServers: [] },
      ctxOf("fs0").ctx,
    );
    assert.equal(sims.forescout.log.length, before);
    assert.match(
      String(p.calls[0]?.body),
      /TRANSACTION TYPE="update".*HOST_KEY NAME="ip" VALUE="10\.0\.0\.1"/,
    );
  });
  test("set the property, read it back from the Web API, no second update on a re-run, undo deletes it", async () => {
    const m = byName(actions(), "forescout.mark");
    const f = dev(14);
    const { ctx, calls } = ctxOf("fs-1");
    const i = m.input.parse({ ips: [f.ip], mode: "full" });
    const out = await m.execute(i, ctx);
    assert.equal(sims.forescout.hosts.get(f.ip)?.properties.get("iomt_quarantine")?.value, "full");
    assert.equal((await m.verify(i, out, ctx)).ok, true);
    const dex = sims.forescout.log.filter((l) => l.path === "/fsapi/niCore/Hosts").length;
    await m.execute(i, ctxOf("fs-1").ctx);
    assert.equal(sims.forescout.log.filter((l) => l.path === "/fsapi/niCore/Hosts").length, dex);
    await m.undo?.(i, out, ctx);
    assert.equal(sims.forescout.hosts.get(f.ip)?.properties.has("iomt_quarantine"), false);
    assert.equal((await m.verify(i, out, ctx)).ok, false);
    assertRedacted(calls);
  });
  test("FSAPI_OK without effect fails verification; a non-OK CODE on HTTP 200 is an error; an expired JWT is renewed", async () => {
    const list = actions();
    const m = byName(list, "forescout.mark");
    const u = byName(list, "forescout.unmark");
    const f = dev(15);
    const { ctx, calls } = ctxOf("fs-2");
    const i = m.input.parse({ ips: [f.ip], mode: "restricted" });
    sims.forescout.modes.ignoreUpdate = true;
    try {
      const out = await m.execute(i, ctx);
      assert.equal((await m.verify(i, out, ctx)).ok, false);
    } finally {
      sims.forescout.modes.ignoreUpdate = false;
    }
    const other = forescoutActions({
      ...(systems.forescout as NonNullable<SystemsConfig["forescout"]>),
      property: "undefined_prop",
    });
    const e = await rejects(() => byName(other, "forescout.mark").execute(i, ctx));
    assert.ok(e instanceof PermanentError);
    assert.match(e.message, /FSAPI_PROPERTY_NOT_FOUND/);
    await m.execute(i, ctx);
    sims.forescout.expireJwt();
    const logins = calls.filter((c) => c.url.endsWith("/api/login")).length;
    const out = await u.execute({ ips: [f.ip] }, ctx);
    assert.equal((await u.verify({ ips: [f.ip] }, out, ctx)).ok, true);
    assert.equal(calls.filter((c) => c.url.endsWith("/api/login")).length, logins + 1);
    sims.forescout.faults.rateLimitNext = 1;
    assert.ok((await rejects(() => m.execute(i, ctx))) instanceof RateLimitedError);
    sims.forescout.faults.serverErrorNext = 1;
    assert.ok((await rejects(() => m.execute(i, ctx))) instanceof RetryableError);
    const nf = await rejects(() => m.execute(m.input.parse({ ips: ["10.255.255.254"], mode: "full" }), ctx));
    assert.match(nf.message, /no host 10\.255\.255\.254/);
    assertRedacted(calls, e);
  });
});

describe("CyberArk PVWA", () => {
  const actions = () => cyberArkActions(systems.cyberark as NonNullable<SystemsConfig["cyberark"]>);
  test("plan makes no call", async () => {
    const before = sims.cyberark.log.length;
    const p = await byName(actions(), "cyberark.change").plan(
      { accountIds: ["12_1"], method: "set_next" },
      ctxOf("c0").ctx,
    );
    assert.equal(sims.cyberark.log.length, before);
    assert.ok(JSON.stringify(p).includes("[redacted]"));
  });
  test("change (found by search) waits for the CPM, verify reads it back, a re-run requests nothing, logoff always", async () => {
    const c = byName(actions(), "cyberark.change");
    const f = dev(16);
    const id = pvwaAccountId(f.id);
    const { ctx, calls } = ctxOf("ca-1", "rotate");
    const before = sims.cyberark.vaultPassword.get(id);
    const i = c.input.parse({ search: `${f.credential.username} ${f.ip}` });
    const out = await c.execute(i, ctx);
    assert.deepEqual(
      out.accounts.map((a: { id: string }) => a.id),
      [id],
    );
    assert.notEqual(sims.cyberark.vaultPassword.get(id), before);
    assert.equal(sims.cyberark.devicePassword.get(id), sims.cyberark.vaultPassword.get(id));
    assert.equal((await c.verify(i, out, ctx)).ok, true);
    const ops = sims.cyberark.operations.filter((o) => o.id === id).length;
    const again = await c.execute(i, ctxOf("ca-1", "rotate").ctx);
    assert.equal(sims.cyberark.operations.filter((o) => o.id === id).length, ops, "no second Change");
    assert.equal(again.accounts[0].reused, true);
    assert.ok(calls.some((c) => c.url.endsWith("/auth/Logoff")));
    assert.ok(
      calls
        .filter((c) => /\/Logon$/.test(c.url))
        .every((c) => JSON.stringify(c.request).includes("[redacted]")),
    );
    assertRedacted(calls);
  });
  test("SetNextPassword never records the password; Verify reports the CPM verdict", async () => {
    const list = actions();
    const c = byName(list, "cyberark.change");
    const v = byName(list, "cyberark.verify");
    const id = pvwaAccountId(dev(17).id);
    const { ctx, calls } = ctxOf("ca-2");
    const out = await c.execute(c.input.parse({ accountIds: [id], method: "set_next" }), ctx);
    assert.equal(out.accounts.length, 1);
    const pw = sims.cyberark.vaultPassword.get(id) as string;
    assert.ok(!JSON.stringify(calls).includes(pw), "new password not in the audit");
    const vo = await v.execute({ accountIds: [id] }, ctx);
    assert.equal(vo.accounts[0].verified, true);
    assert.equal((await v.verify({ accountIds: [id] }, vo, ctx)).ok, true);
    // The device drifts: the CPM's Verify says failure and the step's read-back fails.
    sims.cyberark.devicePassword.set(id, "changed-on-the-device");
    const bad = await v.execute({ accountIds: [id] }, ctx);
    assert.equal(bad.accounts[0].verified, false);
    assert.equal((await v.verify({ accountIds: [id] }, bad, ctx)).ok, false);
  });
  test("a CPM that accepts and never acts times out; a CPM failure is reported; an expired session is renewed", async () => {
    const c = byName(actions(), "cyberark.change");
    const id = pvwaAccountId(dev(18).id);
    const { ctx, calls } = ctxOf("ca-3");
    sims.cyberark.modes.cpmIgnores = true;
    try {
      const e = await rejects(() => c.execute(c.input.parse({ accountIds: [id] }), ctx));
      assert.ok(e instanceof PermanentError);
      assert.match(e.message, /did not change the password within 2000 ms/);
    } finally {
      sims.cyberark.modes.cpmIgnores = false;
    }
    const id2 = pvwaAccountId(dev(19).id);
    sims.cyberark.modes.cpmFails.add(id2);
    try {
      const e = await rejects(() => c.execute(c.input.parse({ accountIds: [id2] }), ctxOf("ca-4").ctx));
      assert.match(e.message, /CPM failed to change account/);
    } finally {
      sims.cyberark.modes.cpmFails.delete(id2);
    }
    // The CPM acts after the session expired mid-poll: one new logon, then success.
    sims.cyberark.modes.cpmDelayMs = 150;
    const five = ctxOf("ca-5");
    const p = c.execute(c.input.parse({ accountIds: [pvwaAccountId(dev(20).id)] }), five.ctx);
    setTimeout(() => sims.cyberark.expireSessions(), 60);
    const out = await p;
    sims.cyberark.modes.cpmDelayMs = 30;
    assert.equal(out.accounts.length, 1);
    assert.equal(
      five.calls.filter((x) => /\/Logon$/.test(x.url)).length,
      2,
      "one new logon after the expiry",
    );
    sims.cyberark.faults.rateLimitNext = 1;
    assert.ok(
      (await rejects(() => c.execute(c.input.parse({ accountIds: [id] }), ctx))) instanceof RateLimitedError,
    );
    const wrong = cyberArkActions({
      ...(systems.cyberark as NonNullable<SystemsConfig["cyberark"]>),
      password: new Secret("not-the-password"),
    });
    const e = await rejects(() =>
      byName(wrong, "cyberark.change").execute({ accountIds: [id], method: "change" }, ctx),
    );
    assert.ok(e instanceof UnauthorizedError);
    assert.ok(!e.message.includes("not-the-password"));
    assertRedacted(calls, e);
  });
});
