/**
 * Approvals without I/O: the `playbooks.approvals` config (clear errors, secrets that redact
 * themselves), the signed tokens (links, sessions, CSRF), the OIDC claim mapping and the clinical
 * state sentence. Unit test: needs nothing.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import { validateConfig } from "../../core/config.ts";
import { ConfigError } from "../../core/errors.ts";
import { Secret } from "../../core/secret.ts";
import { ACTION_CATALOGUE, createActions } from "../../playbooks/actions/index.ts";
import { clinicalStateOf, describeApproval } from "../../playbooks/approvals/describe.ts";
import { mapClaims, type OidcSettings } from "../../playbooks/approvals/oidc.ts";
import { ApprovalTokens } from "../../playbooks/approvals/tokens.ts";
import { playbooksConfigSchema, systemsSchema } from "../../playbooks/config.ts";
import { DeviceDirectory } from "../../playbooks/engine/devices.ts";
import { loadPlaybooks } from "../../playbooks/engine/schema.ts";
import type { ApprovalRecord, RunState } from "../../playbooks/engine/store.ts";
import { DEFAULT_PLAYBOOK_DIR } from "../../playbooks/index.ts";
import { createFleet } from "../../simulators/fleet/fleet.ts";
import { componentSchemas } from "../../worker/run.ts";
import { deviceDoc } from "../helpers/playbooks.ts";

const SECRET = "approvals-unit-test-secret-0123456789abcdef";
const HOOK = "https://hooks.slack.com/services/T000/B000/personal-secret-path";

function problems(raw: unknown): { path: string; message: string }[] {
  try {
    validateConfig({ playbooks: raw }, componentSchemas(), {}, "test.yaml");
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  return [];
}

describe("approvals config", () => {
  test("every problem at once, with its path and what to do", () => {
    const p = problems({
      enabled: true,
      approvals: {
        linkSecret: "short",
        approvers: [{ identity: "dr.who", role: "clinical_engineering" }],
        oidc: { issuer: "http://idp.hospital.example", clientId: "medsoc" },
      },
    });
    const at = (path: string) => p.filter((x) => x.path === path).map((x) => x.message);
    assert.match(at("playbooks.approvals.linkSecret").join(), /at least 32 characters/);
    assert.match(at("playbooks.approvals.approvers[0]").join(), /slackWebhookUrl or teamsWebhookUrl/);
    assert.match(at("playbooks.approvals.oidc.roleMapping").join(), /required: group\/role claim value/);
    assert.equal(p.length, 3, JSON.stringify(p));
  });

  test("approvers or OIDC need a link secret; an http issuer needs allowInsecureHttp", () => {
    const missing = playbooksConfigSchema.safeParse({
      approvals: { approvers: [{ identity: "a", role: "soc", slackWebhookUrl: HOOK }] },
    });
    assert.equal(missing.success, false);
    assert.deepEqual(missing.error?.issues[0]?.path, ["approvals", "linkSecret"]);
    assert.match(String(missing.error?.issues[0]?.message), /signs links, sessions and CSRF tokens/);
    const http = playbooksConfigSchema.safeParse({
      approvals: {
        linkSecret: SECRET,
        oidc: { issuer: "http://idp.example", clientId: "m", roleMapping: { CE: ["clinical_engineering"] } },
      },
    });
    assert.equal(http.success, false);
    assert.deepEqual(http.error?.issues[0]?.path, ["approvals", "oidc", "issuer"]);
    const lab = playbooksConfigSchema.parse({
      approvals: {
        linkSecret: SECRET,
        oidc: {
          issuer: "http://idp.example",
          clientId: "m",
          clientSecret: "oidc-client-secret-value",
          roleMapping: { CE: ["clinical_engineering"] },
          allowInsecureHttp: true,
        },
      },
    });
    assert.equal(lab.approvals.oidc?.identityClaim, "preferred_username");
    assert.equal(lab.approvals.oidc?.rolesClaim, "groups");
    assert.equal(lab.approvals.sessionMinutes, 15);
  });

  test("the link secret, client secret and personal webhooks redact themselves", () => {
    const c = playbooksConfigSchema.parse({
      approvals: {
        linkSecret: SECRET,
        approvers: [{ identity: "dr.who", role: "clinical_engineering", slackWebhookUrl: HOOK }],
        oidc: {
          issuer: "https://idp.example",
          clientId: "m",
          clientSecret: "oidc-client-secret-value",
          roleMapping: { CE: ["clinical_engineering"] },
        },
      },
    });
    assert.ok(c.approvals.linkSecret instanceof Secret);
    for (const printed of [JSON.stringify(c), inspect(c, { depth: 10 }), `${c.approvals.linkSecret}`])
      for (const s of [SECRET, HOOK, "oidc-client-secret-value"]) assert.equal(printed.includes(s), false);
  });
});

describe("approval tokens", () => {
  const tokens = new ApprovalTokens(new Secret(SECRET));
  const now = Date.now();

  test("a link names one approval and one person, expires, and does not survive tampering", () => {
    const t = tokens.link({
      approvalId: "a1",
      identity: "dr.who",
      role: "clinical_engineering",
      exp: now + 1000,
    });
    const c = tokens.openLink(t, now);
    assert.equal(typeof c, "object");
    assert.equal((c as { identity: string }).identity, "dr.who");
    assert.ok((c as { jti: string }).jti.length >= 16);
    assert.equal(tokens.openLink(t, now + 1000), "expired");
    const [body, sig] = t.split(".") as [string, string];
    const forged = Buffer.from(
      Buffer.from(body, "base64url").toString().replace("dr.who", "mallory"),
    ).toString("base64url");
    assert.equal(tokens.openLink(`${forged}.${sig}`, now), "bad signature");
    assert.equal(tokens.openLink(undefined, now), "missing");
    assert.equal(tokens.openLink("nodot", now), "malformed");
    // Another key does not verify it; two links to the same person differ (single use by jti).
    assert.equal(new ApprovalTokens(new Secret(`${SECRET}x`)).openLink(t, now), "bad signature");
    const t2 = tokens.link({
      approvalId: "a1",
      identity: "dr.who",
      role: "clinical_engineering",
      exp: now + 1000,
    });
    assert.notEqual((tokens.openLink(t2, now) as { jti: string }).jti, (c as { jti: string }).jti);
  });

  test("purposes do not mix: a link is not a session and a session is not a link", () => {
    const link = tokens.link({ approvalId: "a1", identity: "x", role: "admin", exp: now + 1000 });
    assert.equal(tokens.openSession(link, now), "bad signature");
    const session = tokens.session({ identity: "x", roles: ["admin"], method: "oidc", exp: now + 1000 });
    assert.equal(tokens.openLink(session, now), "bad signature");
    assert.equal(tokens.openOidcState(session, now), "bad signature");
  });

  test("a CSRF token belongs to one session and one approval", () => {
    const csrf = tokens.csrf("sid-1", "a1");
    assert.equal(tokens.checkCsrf("sid-1", "a1", csrf), true);
    assert.equal(tokens.checkCsrf("sid-2", "a1", csrf), false);
    assert.equal(tokens.checkCsrf("sid-1", "a2", csrf), false);
    assert.equal(tokens.checkCsrf("sid-1", "a1", undefined), false);
    assert.equal(tokens.checkCsrf("sid-1", "a1", ""), false);
  });
});

describe("OIDC claims → person and roles", () => {
  const s: OidcSettings = {
    issuer: "https://idp.example",
    clientId: "m",
    scopes: ["openid"],
    identityClaim: "preferred_username",
    rolesClaim: "groups",
    roleMapping: { "CE-Approvers": ["clinical_engineering"], SOC: ["soc"], Admins: ["admin", "soc"] },
    allowInsecureHttp: false,
  };
  test("roles only from mapped group values; a string claim counts as one group", () => {
    const a = mapClaims(
      s,
      { sub: "1", preferred_username: "house", groups: ["CE-Approvers", "staff", 7] },
      "iss",
    );
    assert.deepEqual(a.roles, ["clinical_engineering"]);
    assert.equal(a.identity, "house");
    assert.deepEqual(mapClaims(s, { sub: "2", preferred_username: "x", groups: "SOC" }, "iss").roles, [
      "soc",
    ]);
    assert.deepEqual(
      mapClaims(s, { sub: "3", preferred_username: "y", groups: ["Admins", "SOC"] }, "iss").roles,
      ["admin", "soc"],
    );
    assert.deepEqual(mapClaims(s, { sub: "4", preferred_username: "z" }, "iss").roles, []);
  });
  test("no identity claim: the sign-in is refused, never guessed from another claim", () => {
    assert.throws(
      () => mapClaims(s, { sub: "1", email: "a@b", groups: ["CE-Approvers"] }, "iss"),
      /no "preferred_username" claim/,
    );
  });
});

test("clinical state sentence: unknown is never shown as idle", () => {
  const d = { key: "k", macs: [], ips: [], clinicalServers: [] };
  assert.match(clinicalStateOf({ ...d, inUse: null }), /^UNKNOWN/);
  assert.match(clinicalStateOf({ ...d, inUse: true, batteryLevel: 40 }), /^IN USE.*battery 40%/);
  assert.match(clinicalStateOf({ ...d, inUse: false }), /^idle/);
  assert.match(clinicalStateOf(undefined), /^unknown/);
});

test("clinical state sentence says when the in-use observation was made", () => {
  const d = {
    key: "k",
    macs: [],
    ips: [],
    clinicalServers: [],
    inUse: false,
    inUseSeenAt: "2026-01-01T10:00:00Z",
  };
  assert.match(
    clinicalStateOf(d, Date.parse("2026-01-01T10:42:00Z")),
    /observed 2026-01-01T10:00:00Z \(42 min ago\)/,
  );
});

describe("what the approver is shown", () => {
  const fleet = createFleet({ size: 400, seed: 1 });
  const pumps = [...Array(fleet.size).keys()]
    .map((i) => fleet.facts(i))
    .filter((f) => f.deviceClass === "infusion_pump")
    .slice(0, 3);

  async function view(systems: Record<string, unknown>, approval: Partial<ApprovalRecord> = {}) {
    const directory = new DeviceDirectory({});
    directory.observe(pumps.map((f) => deviceDoc(f, { inUse: true })));
    const device = await directory.get((pumps[0] as (typeof pumps)[number]).mac);
    assert.ok(device);
    const built = createActions(systemsSchema.parse(systems), directory);
    const playbooks = await loadPlaybooks(DEFAULT_PLAYBOOK_DIR, new Set(Object.keys(ACTION_CATALOGUE)));
    const now = new Date().toISOString();
    const run: RunState = {
      id: "run-1",
      playbookId: "isolate-infusion-pump",
      deviceKey: device.key,
      device,
      inputs: { auto_release_hours: 0, approval_timeout: "30m", reason: "test" },
      trigger: { kind: "manual" },
      dryRun: false,
      status: "waiting_approval",
      phase: "main",
      index: 3,
      steps: {
        assess: { status: "completed", attempts: 1, output: { mode: "restricted", reasons: ["in use"] } },
        approve_full: { status: "waiting", attempts: 0, approvalId: "ap-1" },
      },
      compensations: [],
      createdAt: now,
      updatedAt: now,
    };
    const a: ApprovalRecord = {
      id: "ap-1",
      runId: run.id,
      stepId: "approve_full",
      playbookId: run.playbookId,
      deviceKey: device.key,
      role: "clinical_engineering",
      reason: "full isolation",
      status: "pending",
      createdAt: now,
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      ...approval,
    };
    return describeApproval(
      { playbooks, actions: built.registry, directory, systems: built.systems },
      a,
      run,
    );
  }

  const ise = { baseUrl: "https://ise.example:9060", username: "u", password: "p" };
  const panos = { baseUrl: "https://fw.example", username: "u", password: "p" };

  test("the plan is what the run will do if approved: each applicable step's dry-run sentence", async () => {
    const v = await view({ ise, panos });
    const mac = (pumps[0] as (typeof pumps)[number]).mac.replace(/:/g, "-");
    // One step (the playbook's full containment) whose sentence names every enforcement point.
    assert.deepEqual(
      v.plan.map((p) => p.split(":")[0]),
      ["isolate"],
      v.plan.join("\n"),
    );
    assert.match(
      v.plan[0] as string,
      new RegExp(`apply ISE ANC policy IOMT_QUARANTINE \\(full\\) to ${mac.replace(/-/g, ":")}`),
    );
    assert.match(v.plan[0] as string, /iomt-quarantine on PAN-OS/);
    assert.match(v.clinicalState, /^IN USE/);
    assert.ok(v.deviceFacts.some(([k, x]) => k === "MAC addresses" && x.includes(mac)));
    assert.ok(
      !v.plan.some((p) => p.startsWith("release_timer")),
      "a step whose condition is false is left out",
    );
    // Without PAN-OS configured, the plan does not promise it.
    const onlyIse = await view({ ise });
    assert.match(onlyIse.plan[0] as string, /ISE ANC/);
    assert.doesNotMatch(onlyIse.plan.join(), /PAN-OS/);
  });

  test("an approval covering several devices lists each with its clinical state", async () => {
    const keys = pumps.map((f) => f.mac.replace(/:/g, "-"));
    const v = await view({ ise }, { devices: keys } as Partial<ApprovalRecord>);
    assert.equal(v.covered.length, 3);
    assert.ok(v.covered.every((c) => /^IN USE/.test(c.clinicalState)));
    assert.equal((await view({ ise })).covered.length, 0, "one device: no list");
  });
});
