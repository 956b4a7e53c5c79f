/**
 * OIDC sign-in of approvers without a browser: the redirect chain followed by hand (medsoc through
 * `app.inject`, the local `oidc-provider` over real HTTP on 127.0.0.1) to check what a browser test
 * cannot easily show: the sign-in state is bound to the browser that started it, a code cannot be
 * used twice, the identity provider's refusal is a refusal, the return address cannot leave medsoc,
 * and a person the provider knows but maps to no role decides nothing. Integration test: needs Redis
 * on 127.0.0.1:6379.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { request } from "undici";
import { silentLogger } from "../../core/log.ts";
import { createFleet } from "../../simulators/fleet/fleet.ts";
import { type ResponseSystems, startResponseSystems } from "../../simulators/response/index.ts";
import { createApi } from "../../worker/api.ts";
import { Metrics } from "../../worker/metrics.ts";
import { registerPlaybookRoutes } from "../../worker/playbook-routes.ts";
import { startTestIdp, type TestIdp } from "../helpers/oidc-provider.ts";
import { deviceDoc, type Harness, startHarness } from "../helpers/playbooks.ts";

// medsoc is reached through inject(); its public URL only has to match the redirect URI registered
// at the identity provider (nothing listens on it).
const BASE = "http://127.0.0.1:8787";
const fleet = createFleet({ size: 3000, seed: 1 });
let sims: ResponseSystems;
let idp: TestIdp;
let h: Harness;
let app: FastifyInstance;
let approvalId: string;

before(async () => {
  sims = await startResponseSystems({ fleet });
  idp = await startTestIdp({
    redirectUri: () => `${BASE}/approvals/oidc/callback`,
    accounts: {
      "dr.house": { name: "Gregory House", email: "house@hospital.example", groups: ["CE-Approvers"] },
      visitor: { name: "Visitor", email: "visitor@hospital.example", groups: ["staff"] },
    },
  });
  h = await startHarness({
    fleet,
    sims,
    playbooks: {
      approvals: {
        publicUrl: BASE,
        linkSecret: "oidc-test-link-secret-0123456789abcdef",
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
          roleMapping: { "CE-Approvers": ["clinical_engineering"] },
          allowInsecureHttp: true,
        },
      },
    },
  });
  let f = fleet.facts(0);
  for (let i = 0; i < fleet.size; i++) {
    f = fleet.facts(i);
    if (f.deviceClass === "infusion_pump" && f.credential.kind !== "hard_coded" && f.clinicalServers.length)
      break;
  }
  h.runtime.directory.observe([deviceDoc(f, { inUse: true })]);
  app = createApi({
    metrics: new Metrics(),
    log: silentLogger,
    ready: async () => ({ ok: true, checks: {} }),
    routes: (a) => registerPlaybookRoutes(a, h.runtime, h.runtime.config),
  });
  await app.ready();
  const r = await h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: f.mac });
  const w = await h.runtime.engine.waitForRun(r.runId, (x) => x.status === "waiting_approval");
  approvalId = w.steps.approve_full?.approvalId as string;
});
after(async () => {
  await app.close();
  await h.close();
  await idp.stop();
  await sims.stop();
});

const setCookies = (res: { headers: Record<string, unknown> }) => {
  const raw = res.headers["set-cookie"];
  return (Array.isArray(raw) ? raw : raw ? [raw] : []).map((c) => String(c).split(";")[0] as string);
};
const local = (url: string) => {
  const u = new URL(url, BASE);
  return `${u.pathname}${u.search}`;
};

/**
 * Signs `login` in: medsoc's page → medsoc's login → the provider's authorize and sign-in form →
 * back to medsoc's callback URL, which is returned unvisited with the sign-in cookie.
 */
async function signIn(login: string): Promise<{ callback: string; signin: string }> {
  const page = await app.inject({ method: "GET", url: `/approvals/${approvalId}` });
  assert.equal(page.statusCode, 302);
  const start = await app.inject({ method: "GET", url: local(String(page.headers.location)) });
  assert.equal(start.statusCode, 302, start.body);
  const signin = setCookies(start).find((c) => c.startsWith("medsoc_signin=")) as string;
  assert.ok(signin);
  const jar = new Map<string, string>();
  let url = String(start.headers.location);
  assert.ok(url.startsWith(`${idp.issuer}/auth?`));
  for (let hop = 0; hop < 10; hop++) {
    if (url.startsWith(BASE)) return { callback: url, signin };
    const res = await request(url, { headers: { cookie: [...jar.values()].join("; ") } });
    for (const c of setCookies(res)) jar.set(c.split("=")[0] as string, c);
    const text = await res.body.text();
    if (res.statusCode >= 300 && res.statusCode < 400) {
      url = new URL(String(res.headers.location), url).href;
      continue;
    }
    // The provider's sign-in form.
    const action = /<form[^>]*action="([^"]+)"/.exec(text)?.[1];
    assert.ok(action, `no sign-in form at ${url}: ${res.statusCode}`);
    const post = await request(new URL(action, url).href, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: [...jar.values()].join("; ") },
      body: new URLSearchParams({ prompt: "login", login, password: "any password" }).toString(),
    });
    for (const c of setCookies(post)) jar.set(c.split("=")[0] as string, c);
    await post.body.dump();
    url = new URL(String(post.headers.location), url).href;
  }
  throw new Error("the sign-in did not come back to medsoc");
}

const callback = (url: string, cookie?: string) =>
  app.inject({ method: "GET", url: local(url), headers: cookie ? { cookie } : {} });

describe("OIDC sign-in (authorization code + PKCE) against a local provider", () => {
  test("the callback signs the person in with their mapped role; the code cannot be used twice", async () => {
    const { callback: url, signin } = await signIn("dr.house");
    assert.match(url, /[?&]code=/);
    const ok = await callback(url, signin);
    assert.equal(ok.statusCode, 302, ok.body);
    assert.equal(ok.headers.location, `${BASE}/approvals/${approvalId}`);
    const session = setCookies(ok).find((c) => c.startsWith("medsoc_approver=")) as string;
    assert.ok(session);
    const page = await app.inject({
      method: "GET",
      url: `/approvals/${approvalId}`,
      headers: { cookie: session },
    });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Gregory House \(dr\.house, signed in at the identity provider\)/);
    assert.match(page.body, /id="approve"/);
    const replay = await callback(url, signin);
    assert.equal(replay.statusCode, 401, "a code is single-use at the provider");
    assert.match(replay.body, /sign-in failed/);
  });

  test("the sign-in state is bound to the browser that started it", async () => {
    const { callback: url } = await signIn("dr.house");
    const none = await callback(url);
    assert.equal(none.statusCode, 400, "no sign-in cookie: a callback started elsewhere");
    const other = await signIn("dr.house");
    const crossed = await callback(url, other.signin);
    assert.equal(crossed.statusCode, 401, "another sign-in's state does not match this code");
    assert.equal(
      setCookies(crossed).some((c) => c.startsWith("medsoc_approver=")),
      false,
    );
  });

  test("a refusal at the provider is a refusal; the return address cannot leave medsoc", async () => {
    const start = await app.inject({
      method: "GET",
      url: `/approvals/login?return=${encodeURIComponent(`/approvals/${approvalId}`)}`,
    });
    const signin = setCookies(start).find((c) => c.startsWith("medsoc_signin=")) as string;
    const denied = await callback(`${BASE}/approvals/oidc/callback?error=access_denied&state=x`, signin);
    assert.equal(denied.statusCode, 401);
    for (const to of [
      "https://evil.example/",
      "//evil.example/approvals/x",
      "/approvals/../v1/approvals",
      "",
    ])
      assert.equal(
        (await app.inject({ method: "GET", url: `/approvals/login?return=${encodeURIComponent(to)}` }))
          .statusCode,
        400,
        to,
      );
  });

  test("a person the provider knows but maps to no role decides nothing", async () => {
    const { callback: url, signin } = await signIn("visitor");
    const ok = await callback(url, signin);
    assert.equal(ok.statusCode, 302);
    const session = setCookies(ok).find((c) => c.startsWith("medsoc_approver=")) as string;
    const page = await app.inject({
      method: "GET",
      url: `/approvals/${approvalId}`,
      headers: { cookie: session },
    });
    assert.equal(page.statusCode, 403);
    assert.match(page.body, /visitor \(roles: none\) may not decide/);
    const entries = h.runtime.audit.entries.filter((e) => e.type === "approval.signed_in");
    assert.ok(entries.some((e) => e.actor === "visitor" && /roles: none/.test(e.message)));
    assert.equal((await h.runtime.store.getApproval(approvalId))?.status, "pending");
  });
});
