/**
 * Approvals a person makes (issue 10, finding 8; DESIGN.md safety rule 5), without OIDC: personal
 * delivery with one-time links bound to one person, the on-call page, the confirmation page, and
 * the POST that decides (Origin, session cookie, CSRF token, role, single use, expiry). The OIDC
 * sign-in in a real browser is test/e2e/approvals-browser.test.ts. Integration test: needs Redis on
 * 127.0.0.1:6379 (BullMQ step jobs).
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { silentLogger } from "../../core/log.ts";
import type { ApprovalRecord } from "../../playbooks/engine/store.ts";
import { createFleet } from "../../simulators/fleet/fleet.ts";
import { type ResponseSystems, startResponseSystems } from "../../simulators/response/index.ts";
import { createApi } from "../../worker/api.ts";
import { Metrics } from "../../worker/metrics.ts";
import { registerPlaybookRoutes } from "../../worker/playbook-routes.ts";
import { announced } from "../helpers/approvals.ts";
import { deviceDoc, type Harness, startHarness } from "../helpers/playbooks.ts";

const fleet = createFleet({ size: 3000, seed: 1 });
const ORIGIN = "http://127.0.0.1:8787";
const LINK_SECRET = "approval-link-secret-for-tests-0123456789";
let sims: ResponseSystems;
let h: Harness;
let app: FastifyInstance;
const pumps: ReturnType<typeof fleet.facts>[] = [];

before(async () => {
  sims = await startResponseSystems({ fleet });
  h = await startHarness({
    fleet,
    sims,
    playbooks: {
      approvals: {
        publicUrl: ORIGIN,
        linkSecret: LINK_SECRET,
        approvers: [
          {
            identity: "dr.who",
            name: "Dr Who",
            role: "clinical_engineering",
            slackWebhookUrl: sims.chat.personal("slack", "dr.who"),
          },
          {
            identity: "dr.house",
            role: "clinical_engineering",
            teamsWebhookUrl: sims.chat.personal("teams", "dr.house"),
          },
          { identity: "analyst", role: "soc", slackWebhookUrl: sims.chat.personal("slack", "analyst") },
          // A webhook that was deleted in Slack: 404 no_service, a permanent error.
          {
            identity: "dr.gone",
            role: "clinical_engineering",
            slackWebhookUrl: `${sims.chat.url}/services/T0/B0/gone`,
          },
        ],
      },
    },
  });
  for (let i = 0; i < fleet.size && pumps.length < 8; i++) {
    const f = fleet.facts(i);
    if (f.deviceClass === "infusion_pump" && f.credential.kind !== "hard_coded" && f.clinicalServers.length)
      pumps.push(f);
  }
  h.runtime.directory.observe(pumps.map((f) => deviceDoc(f, { inUse: true })));
  app = createApi({
    metrics: new Metrics(),
    log: silentLogger,
    ready: async () => ({ ok: true, checks: {} }),
    routes: (a) => registerPlaybookRoutes(a, h.runtime, h.runtime.config),
  });
  await app.ready();
});
after(async () => {
  await app.close();
  await h.close();
  await sims.stop();
});

const pump = (i: number) => pumps[i] as (typeof pumps)[number];

async function waitingApproval(i: number, inputs: Record<string, unknown> = {}) {
  const r = await h.runtime.engine.start({
    playbookId: "isolate-infusion-pump",
    device: pump(i).mac,
    inputs,
  });
  const w = await h.runtime.engine.waitForRun(r.runId, (x) => x.status === "waiting_approval");
  const id = w.steps.approve_full?.approvalId as string;
  assert.ok(id);
  await announced(h, sims, id);
  return { runId: r.runId, id };
}

/** The link person `who` received for approval `id`. */
function linkOf(who: string, id: string): URL {
  const all = JSON.stringify(sims.chat.direct.get(who) ?? []);
  const m = new RegExp(`https?://[^"\\s]+/approvals/${id}\\?t=[A-Za-z0-9._%-]+`).exec(all);
  assert.ok(m, `${who} received no link for ${id}`);
  return new URL(m[0]);
}

const path = (u: URL) => `${u.pathname}${u.search}`;
const cookieOf = (res: LightMyRequestResponse) => {
  const raw = res.headers["set-cookie"];
  const first = (Array.isArray(raw) ? raw[0] : raw) ?? "";
  return first.split(";")[0] as string;
};

/** Opens a link as a browser would: the link sets the session cookie and redirects to the page. */
async function open(link: URL) {
  const hop = await app.inject({ method: "GET", url: path(link) });
  assert.equal(hop.statusCode, 303, hop.body);
  const cookie = cookieOf(hop);
  assert.match(String(hop.headers["set-cookie"]), /HttpOnly; SameSite=Lax/);
  const page = await app.inject({
    method: "GET",
    url: new URL(String(hop.headers.location)).pathname,
    headers: { cookie },
  });
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
  return { cookie, page, csrf };
}

function post(id: string, o: { cookie?: string; csrf?: string; origin?: string | null; decision?: string }) {
  const form = new URLSearchParams({ decision: o.decision ?? "approve", comment: "checked at the bedside" });
  if (o.csrf) form.set("csrf", o.csrf);
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (o.cookie) headers.cookie = o.cookie;
  if (o.origin !== null) headers.origin = o.origin ?? ORIGIN;
  return app.inject({ method: "POST", url: `/approvals/${id}`, headers, payload: form.toString() });
}

const approval = async (id: string) => (await h.runtime.store.getApproval(id)) as ApprovalRecord;

describe("delivery", () => {
  test("each approver of the role gets their own link on their own channel; the shared channel none; the on-call is paged with device, clinical state, plan and what is asked", async () => {
    sims.chat.slack.length = 0;
    sims.chat.direct.clear();
    const { runId, id } = await waitingApproval(0);
    const who = linkOf("dr.who", id);
    const house = linkOf("dr.house", id);
    assert.notEqual(who.searchParams.get("t"), house.searchParams.get("t"), "one link per person");
    assert.equal(
      sims.chat.direct.get("analyst"),
      undefined,
      "a soc analyst is not asked for clinical engineering",
    );
    assert.equal(sims.chat.direct.get("dr.house")?.length, 1);
    const card = (sims.chat.direct.get("dr.house") ?? [])[0] as { type?: string } | undefined;
    assert.equal(card?.type, "message", "Teams card");
    const shared = JSON.stringify(sims.chat.slack);
    assert.match(shared, /Approval requested from clinical_engineering/);
    assert.doesNotMatch(shared, /\/approvals\//, "no link in the shared channel");
    const dm = JSON.stringify(sims.chat.direct.get("dr.who"));
    assert.match(dm, /Dr Who/);
    assert.match(dm, /IN USE/);

    const inc = sims.pagerduty.incidents.get(`approval:${id}`);
    assert.equal(inc?.status, "triggered", "the on-call is paged");
    const payload = inc?.events[0]?.payload as { custom_details?: Record<string, unknown> } | undefined;
    const details = payload?.custom_details ?? {};
    assert.match(String(details.clinical_state), /IN USE/);
    assert.equal((details.device as { key: string }).key, pump(0).mac.replace(/:/g, "-"));
    assert.match(String(details.asked), /full isolation of infusion pump/);
    const plan = details.plan as string[];
    assert.ok(
      plan.some((p) => p.includes("apply ISE ANC policy IOMT_QUARANTINE (full)")),
      plan.join("\n"),
    );
    assert.ok(
      plan.some((p) => p.includes("with iomt-quarantine on PAN-OS")),
      plan.join("\n"),
    );
    assert.ok(
      !plan.some((p) => p.startsWith("release_timer")),
      "steps whose condition is false are left out",
    );
    assert.doesNotMatch(JSON.stringify(inc?.events), /\?t=/, "the page carries no one-time link");

    // Nothing secret in the audit trail: no link token, no webhook URL.
    await h.runtime.audit.flush();
    const trail = await readFile(h.auditFile, "utf8");
    for (const secret of [
      who.searchParams.get("t") as string,
      house.searchParams.get("t") as string,
      new URL(sims.chat.slackUrl).pathname,
      LINK_SECRET,
      sims.pagerduty.routingKey,
    ])
      assert.equal(trail.includes(secret), false, "a secret reached the audit trail");
    assert.match(trail, /Approval request sent personally to dr.who, dr.house/);
    await h.runtime.engine.decide(id, { approve: false, by: "dr.who", role: "clinical_engineering" });
    await h.runtime.engine.waitForRun(runId);
    // The approval page is resolved when the run ends.
    for (let n = 0; n < 100 && sims.pagerduty.incidents.get(`approval:${id}`)?.status !== "resolved"; n++)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(sims.pagerduty.incidents.get(`approval:${id}`)?.status, "resolved");
  });

  test("a rate-limited personal webhook is retried (one message, no loss); a dead one is reported, the others still reached", async () => {
    sims.chat.direct.clear();
    sims.chat.faults.rateLimitNext = 1;
    sims.chat.faults.retryAfterSeconds = 1;
    const { runId, id } = await waitingApproval(6);
    assert.equal(sims.chat.faults.rateLimitNext, 0, "the 429 was served");
    const mine = (who: string) =>
      (sims.chat.direct.get(who) ?? []).filter((m) => JSON.stringify(m).includes(id));
    assert.equal(mine("dr.who").length, 1, "dr.who got exactly one message after the 429");
    assert.equal(mine("dr.house").length, 1);
    const calls = h.runtime.audit.entries.filter(
      (e) => e.runId === runId && e.type === "call" && /approval request to dr\.who/.test(e.message),
    );
    assert.deepEqual(
      calls.map((e) => (e.detail as { status?: number }).status),
      [429, 200],
    );
    const delivered = h.runtime.audit.entries.find(
      (e) => e.type === "approval.delivered" && (e.detail as { approvalId?: string }).approvalId === id,
    );
    assert.match(
      String(delivered?.message),
      /sent personally to dr\.who, dr\.house; failed for dr\.gone \(slack: .*HTTP 404/,
    );
  });
});

describe("the page and the POST", () => {
  test("the link only opens the page (device, clinical state, plan, expiry); GETs never decide; tampered, foreign or missing links open nothing", async () => {
    const { id } = await waitingApproval(1);
    const link = linkOf("dr.who", id);
    const { page, cookie } = await open(link);
    assert.equal(page.statusCode, 200, page.body);
    assert.match(page.body, new RegExp(pump(1).mac.replace(/:/g, "-")));
    assert.match(page.body, /id="clinical-state">IN USE/);
    assert.match(page.body, /<ol id="plan"><li>[a-z_]+: .*apply ISE ANC policy IOMT_QUARANTINE \(full\)/);
    assert.match(page.body, /id="expires"><b>Expires:<\/b> \d{4}-/);
    assert.match(page.body, /Dr Who \(dr\.who, personal one-time link\)/);
    assert.equal(page.headers["x-frame-options"], "DENY");
    assert.match(String(page.headers["content-security-policy"]), /frame-ancestors 'none'/);
    // Any number of GETs (a link-preview bot, a reload) decide nothing.
    for (let n = 0; n < 3; n++) {
      await app.inject({ method: "GET", url: path(link) });
      await app.inject({ method: "GET", url: `/approvals/${id}`, headers: { cookie } });
    }
    assert.equal((await approval(id)).status, "pending");

    const tampered = new URL(link);
    const t = tampered.searchParams.get("t") as string;
    tampered.searchParams.set("t", `${t.slice(0, 10)}${t[10] === "A" ? "B" : "A"}${t.slice(11)}`);
    assert.equal((await app.inject({ method: "GET", url: path(tampered) })).statusCode, 401);
    assert.equal((await app.inject({ method: "GET", url: `/approvals/${id}` })).statusCode, 401, "no link");
    const other = await waitingApproval(2);
    const foreign = new URL(linkOf("dr.who", other.id));
    foreign.pathname = `/approvals/${id}`;
    assert.equal(
      (await app.inject({ method: "GET", url: path(foreign) })).statusCode,
      401,
      "another approval's link",
    );
    // A session opened by one approval's link does not open another approval.
    const otherPage = await app.inject({ method: "GET", url: `/approvals/${other.id}`, headers: { cookie } });
    assert.equal(otherPage.statusCode, 401);
    assert.equal((await approval(other.id)).status, "pending");
  });

  test("cross-site, Origin-less, token-less and foreign-token POSTs decide nothing; the right POST decides once, as the named person, and the run proceeds", async () => {
    const { runId, id } = await waitingApproval(3);
    const { cookie, csrf } = await open(linkOf("dr.house", id));
    assert.ok(csrf);
    const other = await open(linkOf("dr.who", id));
    const refused: [string, Parameters<typeof post>[1], number][] = [
      ["cross-site origin", { cookie, csrf, origin: "http://localhost:9999" }, 403],
      ["no Origin or Referer", { cookie, csrf, origin: null }, 403],
      ["no CSRF token", { cookie }, 403],
      ["another session's CSRF token", { cookie, csrf: other.csrf }, 403],
      ["no session", { csrf }, 401],
    ];
    for (const [what, o, code] of refused) {
      const res = await post(id, o);
      assert.equal(res.statusCode, code, `${what}: ${res.body}`);
      assert.equal((await approval(id)).status, "pending", what);
    }
    const cross = await app.inject({
      method: "POST",
      url: `/approvals/${id}`,
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        cookie,
        origin: ORIGIN,
        "sec-fetch-site": "cross-site",
      },
      payload: new URLSearchParams({ decision: "approve", csrf }).toString(),
    });
    assert.equal(cross.statusCode, 403, "Sec-Fetch-Site: cross-site");

    const yes = await post(id, { cookie, csrf });
    assert.equal(yes.statusCode, 200, yes.body);
    assert.match(yes.body, /Recorded: dr\.house approved/);
    const a = await approval(id);
    assert.equal(a.status, "approved");
    assert.equal(a.decidedBy, "dr.house");
    assert.equal(a.comment, "checked at the bedside");
    const run = await h.runtime.engine.waitForRun(runId);
    assert.equal(run.status, "succeeded", run.error);
    assert.equal(sims.ise.anc.get(pump(3).mac), "IOMT_QUARANTINE", "the run went on to full isolation");

    const entries = h.runtime.audit.entries.filter(
      (e) => (e.detail as { approvalId?: string })?.approvalId === id,
    );
    const decided = entries.find((e) => e.type === "approval.decided");
    assert.equal(decided?.actor, "dr.house");
    const submitted = entries.find((e) => e.type === "approval.submitted");
    assert.equal(submitted?.actor, "dr.house");
    assert.match(String(submitted?.message), /personal one-time link/);
    assert.ok(entries.some((e) => e.type === "approval.rejected" && /cross-site/.test(e.message)));

    // Single use: the same link opened again shows the decided approval without a form, and even a
    // POST with a valid CSRF token of the new session cannot use the link a second time.
    const again = await open(linkOf("dr.house", id));
    assert.equal(again.csrf, undefined, "no form once decided");
    assert.match(again.page.body, /This approval is approved; it cannot be decided any more/);
    const desk = h.runtime.approvals;
    const s2 = desk.tokens?.openSession(again.cookie.split("=")[1]) as { sid: string };
    const twice = await post(id, {
      cookie: again.cookie,
      csrf: desk.tokens?.csrf(s2.sid, id),
      decision: "deny",
    });
    assert.equal(twice.statusCode, 409, twice.body);
    assert.match(twice.body, /already used/);
    // The other approver's still unused link finds it decided.
    const late = await post(id, { cookie: other.cookie, csrf: other.csrf, decision: "deny" });
    assert.equal(late.statusCode, 409, late.body);
    assert.match(late.body, /Not recorded: already approved/);
    assert.equal((await approval(id)).status, "approved");
  });

  test("a person without the approval's role cannot decide, even holding a valid link", async () => {
    const { id } = await waitingApproval(4);
    const desk = h.runtime.approvals;
    assert.ok(desk.tokens);
    // A link for the soc analyst (as if misdelivered): valid signature, wrong role.
    const t = desk.tokens.link({
      approvalId: id,
      identity: "analyst",
      role: "soc",
      exp: Date.now() + 60_000,
    });
    const hop = await app.inject({ method: "GET", url: `/approvals/${id}?t=${encodeURIComponent(t)}` });
    assert.equal(hop.statusCode, 303);
    const cookie = cookieOf(hop);
    const page = await app.inject({ method: "GET", url: `/approvals/${id}`, headers: { cookie } });
    assert.equal(page.statusCode, 403);
    assert.match(page.body, /may not decide: this approval needs clinical_engineering/);
    assert.doesNotMatch(page.body, /clinical-state/, "no device details for someone who may not decide");
    // Even with a CSRF token of their own session, the POST is refused.
    const sid = desk.tokens.openSession(cookie.split("=")[1]);
    assert.equal(typeof sid, "object");
    const csrf = desk.tokens.csrf((sid as { sid: string }).sid, id);
    const res = await post(id, { cookie, csrf });
    assert.equal(res.statusCode, 403);
    // A link for someone who is not a configured approver opens nothing.
    const stranger = desk.tokens.link({
      approvalId: id,
      identity: "mallory",
      role: "clinical_engineering",
      exp: Date.now() + 60_000,
    });
    assert.equal(
      (await app.inject({ method: "GET", url: `/approvals/${id}?t=${encodeURIComponent(stranger)}` }))
        .statusCode,
      401,
    );
    assert.equal((await approval(id)).status, "pending");
  });

  test("an expired approval cannot be decided, with the workers down and the timeout job not yet run", async () => {
    const { runId, id } = await waitingApproval(5, { approval_timeout: "1500ms" });
    const opened = await open(linkOf("dr.who", id));
    assert.ok(opened.csrf, "open while it is pending");
    await h.runtime.engine.close();
    try {
      const a = await approval(id);
      while (Date.now() <= Date.parse(a.expiresAt) + 100) await new Promise((r) => setTimeout(r, 50));
      assert.equal((await approval(id)).status, "pending", "nobody has marked it expired yet");
      const res = await post(id, { cookie: opened.cookie, csrf: opened.csrf });
      assert.equal(res.statusCode, 410, res.body);
      assert.match(res.body, /Not recorded: expired/);
      assert.doesNotMatch(res.body, /id="decide"/, "no form on an expired approval");
      const api = await app.inject({
        method: "POST",
        url: `/v1/approvals/${id}`,
        headers: { authorization: "Bearer ce-key-0123456789" },
        payload: { decision: "approve" },
      });
      assert.equal(api.statusCode, 410, "the API refuses it too");
      assert.equal((await approval(id)).status, "pending");
    } finally {
      h.runtime.engine.startWorkers();
    }
    const run = await h.runtime.engine.waitForRun(runId);
    assert.equal(run.status, "denied");
    assert.equal(sims.ise.anc.get(pump(5).mac), "IOMT_RESTRICTED", "no full isolation");
  });
});
