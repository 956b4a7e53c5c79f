/**
 * The approval page in a real browser (Debian `chromium`, driven by `playwright-core`), with the
 * approver signing in at a local OpenID Connect provider (`oidc-provider`, authorization code +
 * PKCE) and the role coming from the provider's `groups` claim. Proves: the link opens the page
 * (device, clinical state, plan, expiry) after sign-in and clicking Approve lets the run proceed; a
 * plain GET and a cross-site form POST decide nothing; an expired approval cannot be decided; a
 * signed-in person without the role cannot decide. Needs /usr/bin/chromium (scripts/ensure-chromium.sh)
 * and Redis on 127.0.0.1:6379. Everything listens on 127.0.0.1, port 0.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { request } from "undici";
import { silentLogger } from "../../core/log.ts";
import type { ApprovalRecord } from "../../playbooks/engine/store.ts";
import { createFleet } from "../../simulators/fleet/fleet.ts";
import { type ResponseSystems, startResponseSystems } from "../../simulators/response/index.ts";
import { createApi } from "../../worker/api.ts";
import { Metrics } from "../../worker/metrics.ts";
import { registerPlaybookRoutes } from "../../worker/playbook-routes.ts";
import { announced } from "../helpers/approvals.ts";
import { startTestIdp, type TestIdp } from "../helpers/oidc-provider.ts";
import { deviceDoc, type Harness, startHarness } from "../helpers/playbooks.ts";

const CHROMIUM = process.env.MEDSOC_CHROMIUM ?? "/usr/bin/chromium";
// `npm test` on a fresh machine without Chromium skips this file and says how to install it; CI
// (.ci/run installs it first and sets MEDSOC_REQUIRE_CHROMIUM=1) fails instead of skipping.
const missing = !existsSync(CHROMIUM);
if (missing && process.env.MEDSOC_REQUIRE_CHROMIUM === "1")
  throw new Error(`${CHROMIUM} is missing: run scripts/ensure-chromium.sh`);
const skip = missing ? `${CHROMIUM} is missing: run bash scripts/ensure-chromium.sh` : false;
const fleet = createFleet({ size: 3000, seed: 1 });

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
async function listen(handler: () => Handler): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => handler()(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}
const stop = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

let sims: ResponseSystems;
let h: Harness;
let idp: TestIdp;
let app: FastifyInstance;
let medsoc: Server;
let base: string;
let attacker: Server;
let attackerPort: number;
let attackerHtml = "";
let context: BrowserContext;
let userDataDir: string;
const pumps: ReturnType<typeof fleet.facts>[] = [];

before(async () => {
  if (skip) return;
  sims = await startResponseSystems({ fleet });
  // medsoc's API listens first: its address is the public URL, the redirect URI and the Origin.
  let handle: Handler = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const m = await listen(() => handle);
  medsoc = m.server;
  base = `http://127.0.0.1:${m.port}`;
  idp = await startTestIdp({
    redirectUri: () => `${base}/approvals/oidc/callback`,
    accounts: {
      "dr.house": {
        name: "Gregory House",
        email: "house@hospital.example",
        groups: ["CE-Approvers", "staff"],
      },
      analyst: { name: "Soc Analyst", email: "analyst@hospital.example", groups: ["SOC", "staff"] },
    },
  });
  h = await startHarness({
    fleet,
    sims,
    playbooks: {
      approvals: {
        publicUrl: base,
        linkSecret: "browser-test-link-secret-0123456789abcdef",
        approvers: [
          {
            identity: "dr.house",
            role: "clinical_engineering",
            slackWebhookUrl: sims.chat.personal("slack", "dr.house"),
          },
        ],
        oidc: {
          issuer: idp.issuer,
          clientId: idp.clientId,
          clientSecret: idp.clientSecret,
          scopes: ["openid", "profile", "email", "groups"],
          roleMapping: { "CE-Approvers": ["clinical_engineering"], SOC: ["soc"] },
          allowInsecureHttp: true,
        },
      },
    },
  });
  for (let i = 0; i < fleet.size && pumps.length < 6; i++) {
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
  handle = (req, res) => app.server.emit("request", req, res);

  // A different site (localhost is not 127.0.0.1) serving a page that posts to medsoc.
  const a = await listen(() => (_req, res) => {
    res.setHeader("content-type", "text/html");
    res.end(attackerHtml);
  });
  attacker = a.server;
  attackerPort = a.port;

  userDataDir = await mkdtemp(join(tmpdir(), "medsoc-chromium-"));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  if (skip) return;
  await context?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  await app?.close();
  if (medsoc) await stop(medsoc);
  if (attacker) await stop(attacker);
  await idp?.stop();
  await h?.close();
  await sims?.stop();
});

const pump = (i: number) => pumps[i] as (typeof pumps)[number];
const approval = async (id: string) => (await h.runtime.store.getApproval(id)) as ApprovalRecord;

async function waitingApproval(i: number, inputs: Record<string, unknown> = {}) {
  const r = await h.runtime.engine.start({
    playbookId: "isolate-infusion-pump",
    device: pump(i).mac,
    inputs,
  });
  const w = await h.runtime.engine.waitForRun(r.runId, (x) => x.status === "waiting_approval");
  const id = w.steps.approve_full?.approvalId as string;
  // The link dr.house received personally (announced after the run is saved as waiting).
  await announced(h, sims, id);
  const dm = JSON.stringify(sims.chat.direct.get("dr.house") ?? []);
  const link = new RegExp(`https?://[^"\\s]+/approvals/${id}`).exec(dm)?.[0];
  assert.ok(link, "dr.house received a link");
  return { runId: r.runId, id, link };
}

const text = async (page: Page, selector: string) => (await page.textContent(selector)) ?? "";

/** Signs in at the identity provider's form when the browser is sent there. */
async function signInIfAsked(page: Page, login: string): Promise<void> {
  if (!page.url().startsWith(idp.issuer)) return;
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', "any password");
  await Promise.all([page.waitForURL(`${base}/approvals/**`), page.click('button[type="submit"]')]);
}

describe("approval page in Chromium with OIDC sign-in", { skip }, () => {
  test("the link opens the page after sign-in; GETs decide nothing; clicking Approve lets the run proceed, as the signed-in person", async () => {
    const { runId, id, link } = await waitingApproval(0);
    assert.doesNotMatch(link, /\?t=/, "with OIDC the link carries no token: the person signs in");

    // A link-preview bot (no cookies) fetching the link is sent to sign in; nothing is decided.
    const bot = await request(link, {
      method: "GET",
      headers: { "user-agent": "Slackbot-LinkExpanding 1.0" },
    });
    await bot.body.dump();
    assert.equal(bot.statusCode, 302);
    assert.match(String(bot.headers.location), /\/approvals\/login\?return=/);

    const page = await context.newPage();
    const authorize: string[] = [];
    page.on("request", (r) => {
      if (r.url().startsWith(`${idp.issuer}/auth`)) authorize.push(r.url());
    });
    await page.goto(link);
    assert.ok(page.url().startsWith(idp.issuer), `sent to the identity provider, at ${page.url()}`);
    const auth = new URL(authorize[0] ?? "http://none/");
    assert.equal(auth.searchParams.get("code_challenge_method"), "S256", "PKCE");
    assert.equal(auth.searchParams.get("response_type"), "code");
    assert.equal(auth.searchParams.get("redirect_uri"), `${base}/approvals/oidc/callback`);
    assert.ok(auth.searchParams.get("state") && auth.searchParams.get("nonce"));
    await signInIfAsked(page, "dr.house");
    assert.equal(new URL(page.url()).pathname, `/approvals/${id}`);
    const mac = pump(0).mac.replace(/:/g, "-");
    assert.match(await text(page, "#device"), new RegExp(mac));
    assert.match(await text(page, "#clinical-state"), /IN USE/);
    const plan = await text(page, "#plan");
    assert.match(plan, /apply ISE ANC policy IOMT_QUARANTINE \(full\)/);
    assert.match(plan, /tag .* with iomt-quarantine on PAN-OS/);
    assert.match(await text(page, "#expires"), /Expires: \d{4}-\d\d-\d\dT/);
    assert.match(await text(page, "body"), /Gregory House \(dr\.house, signed in at the identity provider\)/);
    // Reloading (more GETs) decides nothing.
    await page.reload();
    await page.reload();
    assert.equal((await approval(id)).status, "pending");

    await page.fill("#comment", "pump checked at the bedside, infusion paused");
    await Promise.all([page.waitForURL(`${base}/approvals/${id}`), page.click("#approve")]);
    assert.match(await text(page, "#message"), /Recorded: dr\.house approved/);
    const a = await approval(id);
    assert.equal(a.status, "approved");
    assert.equal(a.decidedBy, "dr.house");
    const run = await h.runtime.engine.waitForRun(runId);
    assert.equal(run.status, "succeeded", run.error);
    assert.equal(sims.ise.anc.get(pump(0).mac), "IOMT_QUARANTINE", "the run went on to full isolation");
    const audit = h.runtime.audit.entries;
    const signedIn = audit.find((e) => e.type === "approval.signed_in" && e.actor === "dr.house");
    assert.ok(signedIn, "the sign-in is audited");
    assert.match(signedIn.message, new RegExp(`signed in at ${idp.issuer}.*roles: clinical_engineering`));
    const decided = audit.find(
      (e) => e.type === "approval.decided" && (e.detail as { approvalId?: string })?.approvalId === id,
    );
    assert.equal(decided?.actor, "dr.house");
    await page.close();
  });

  test("a cross-site form POST from another site decides nothing", async () => {
    const { id } = await waitingApproval(1);
    // dr.house is signed in (the previous test) and opens the page once, so a session exists.
    const page = await context.newPage();
    await page.goto(`${base}/approvals/${id}`);
    await signInIfAsked(page, "dr.house");
    const csrf = await page.getAttribute('input[name="csrf"]', "value");
    assert.ok(csrf);
    // Even knowing the CSRF token, a form on another site that posts to medsoc is refused.
    attackerHtml = `<!doctype html><form id="f" method="post" action="${base}/approvals/${id}">
<input name="decision" value="approve"><input name="csrf" value="${csrf}"></form>
<script>document.getElementById("f").submit()</script>`;
    const response = page.waitForResponse(
      (r) => r.url() === `${base}/approvals/${id}` && r.request().method() === "POST",
    );
    await page.goto(`http://localhost:${attackerPort}/`);
    const res = await response;
    assert.equal(res.status(), 403);
    assert.match(await res.text(), /cross-site decision refused/);
    assert.equal((await approval(id)).status, "pending");
    await page.close();
  });

  test("an expired approval cannot be decided from the open page", async () => {
    const { runId, id } = await waitingApproval(2, { approval_timeout: "8s" });
    const page = await context.newPage();
    await page.goto(`${base}/approvals/${id}`);
    await signInIfAsked(page, "dr.house");
    assert.ok(await page.isVisible("#approve"), "the form is there while it is pending");
    await h.runtime.engine.close(); // the timeout job cannot mark it expired
    try {
      const a = await approval(id);
      while (Date.now() <= Date.parse(a.expiresAt) + 100) await new Promise((r) => setTimeout(r, 100));
      const response = page.waitForResponse((r) => r.request().method() === "POST");
      await page.click("#approve");
      const res = await response;
      assert.equal(res.status(), 410);
      await page.waitForSelector("#message");
      assert.match(await text(page, "#message"), /Not recorded: expired/);
      assert.equal(await page.isVisible("#approve"), false);
      assert.equal((await approval(id)).status, "pending");
    } finally {
      h.runtime.engine.startWorkers();
    }
    assert.equal((await h.runtime.engine.waitForRun(runId)).status, "denied");
    assert.equal(sims.ise.anc.get(pump(2).mac), "IOMT_RESTRICTED", "no full isolation");
    await page.close();
  });

  test("a signed-in person without the approval's role cannot decide", async () => {
    const { id } = await waitingApproval(3);
    await context.clearCookies(); // sign out of medsoc and of the identity provider
    const page = await context.newPage();
    const res = await page.goto(`${base}/approvals/${id}`);
    assert.ok(res);
    await signInIfAsked(page, "analyst");
    assert.match(
      await text(page, "body"),
      /analyst \(roles: soc\) may not decide: this approval needs clinical_engineering/,
    );
    assert.equal(await page.isVisible("#approve"), false);
    assert.equal(await page.isVisible("#clinical-state"), false);
    // A POST in the analyst's session, from medsoc's own origin, with a CSRF token of that session.
    const cookie = (await context.cookies(`${base}/approvals/${id}`)).find(
      (c) => c.name === "medsoc_approver",
    );
    assert.ok(cookie, "the analyst has a session");
    const s = h.runtime.approvals.tokens?.openSession(cookie.value);
    assert.equal(typeof s, "object");
    const csrf = h.runtime.approvals.tokens?.csrf((s as { sid: string }).sid, id) as string;
    const post = await context.request.post(`${base}/approvals/${id}`, {
      headers: { origin: base },
      form: { decision: "approve", csrf },
    });
    assert.equal(post.status(), 403);
    assert.equal((await approval(id)).status, "pending");
    await page.close();
  });
});
