/**
 * Approval routes of the HTTP API (DESIGN.md safety rule 5; docs/approvals.md).
 *
 * Machine API (an API key names the person and their roles):
 * - `GET /v1/approvals[?status=pending]` and `POST /v1/approvals/{id}` `{"decision","comment"}`
 *   with `Authorization: Bearer <key>` (not sent by browsers on their own, so not forgeable cross-site).
 *
 * People (server-rendered pages, no script):
 * - `GET /approvals/{id}` opens the confirmation page: device, clinical state, plan, expiry. It
 *   never decides (a link-preview bot that fetches it changes nothing). Without a session it sends
 *   the browser to sign in (OIDC) or, with a one-time link (`?t=`), checks the link, starts a session
 *   bound to that person and that approval, and redirects to the clean address.
 * - `POST /approvals/{id}` decides: the Origin must be `approvals.publicUrl`'s, the session cookie
 *   (HttpOnly, SameSite=Lax) must be valid, the CSRF token must be the one of this session and this
 *   approval, the person must hold the approval's role, a one-time link decides once, and an expired
 *   approval cannot be decided (engine.decide()).
 * - `GET /approvals/login?return=/approvals/{id}` and `GET /approvals/oidc/callback`: OIDC sign-in
 *   (authorization code + PKCE, state and nonce kept in a signed short-lived cookie).
 *
 * Every refusal, sign-in and decision lands in the audit trail with the person's identity.
 */
import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { SessionClaims } from "../playbooks/approvals/tokens.ts";
import type { PlaybooksConfig } from "../playbooks/config.ts";
import type { PlaybookRuntime } from "../playbooks/index.ts";
import { approvalPage, messagePage, sendPage } from "./approval-page.ts";

const SESSION_COOKIE = "medsoc_approver";
const SIGNIN_COOKIE = "medsoc_signin";
const SIGNIN_TTL_MS = 10 * 60_000;
const ID = /^[A-Za-z0-9-]{1,64}$/;

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** The cookies of a request (our values are base64url tokens; nothing here needs decoding). */
function cookies(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header(req, "cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

export function registerApprovalRoutes(
  app: FastifyInstance,
  runtime: PlaybookRuntime,
  config: PlaybooksConfig,
): void {
  const { engine, audit, store } = runtime;
  const desk = runtime.approvals;

  // --- Machine API (API keys) ---
  const caller = (req: FastifyRequest) => {
    const auth = header(req, "authorization");
    if (!auth?.startsWith("Bearer ")) return undefined;
    const token = auth.slice(7);
    return config.apiKeys.find((k) => same(token, k.key.reveal()));
  };
  const refusalCode = (reason: string | undefined) =>
    reason?.startsWith("role") ? 403 : reason?.startsWith("expired") ? 410 : 409;

  app.get("/v1/approvals", async (req, reply) => {
    const who = caller(req);
    if (!who) return reply.code(401).send({ error: "unauthorized" });
    const status = (req.query as { status?: string }).status;
    const list = (await store.listApprovals()).filter((a) => !status || a.status === status);
    return reply.send({ approvals: list });
  });
  // Authentication before the body is read (docs/input-limits.md): a request without a valid key
  // is refused as soon as its headers arrive, and its connection closed.
  const keyBeforeBody = async (req: FastifyRequest, reply: FastifyReply) => {
    if (caller(req)) return;
    await audit.append({
      type: "approval.rejected",
      actor: "api",
      outcome: "failure",
      message: "Approval decision without a valid API key refused before its body was read.",
      detail: { approvalId: (req.params as { id?: string }).id },
    });
    reply.header("connection", "close");
    return reply.code(401).send({ error: "unauthorized" });
  };
  app.post<{ Params: { id: string }; Body: { decision?: string; comment?: string; role?: string } }>(
    "/v1/approvals/:id",
    { onRequest: keyBeforeBody },
    async (req, reply) => {
      const who = caller(req);
      if (!who) {
        await audit.append({
          type: "approval.rejected",
          actor: "api",
          outcome: "failure",
          message: "Approval decision without a valid API key refused.",
          detail: { approvalId: req.params.id },
        });
        return reply.code(401).send({ error: "unauthorized" });
      }
      const d = req.body?.decision;
      if (d !== "approve" && d !== "deny")
        return reply.code(400).send({ error: "decision must be approve or deny" });
      const a = await store.getApproval(req.params.id);
      if (!a) return reply.code(404).send({ error: "no such approval" });
      const role =
        req.body?.role && who.roles.includes(req.body.role)
          ? req.body.role
          : who.roles.includes(a.role)
            ? a.role
            : (who.roles[0] as string);
      const r = await engine.decide(a.id, {
        approve: d === "approve",
        by: who.identity,
        role,
        comment: req.body?.comment,
      });
      if (!r.ok) return reply.code(refusalCode(r.reason)).send({ error: r.reason, approval: r.approval });
      return reply.send({ approval: r.approval });
    },
  );

  // --- Pages for people ---
  const base = new URL(desk.base);
  const cookiePath = `${base.pathname.replace(/\/+$/, "")}/approvals`;
  const secure = base.protocol === "https:";
  const setCookie = (reply: FastifyReply, name: string, value: string, maxAgeMs: number) =>
    reply.header(
      "set-cookie",
      `${name}=${value}; Path=${cookiePath}; HttpOnly; SameSite=Lax; Max-Age=${Math.max(0, Math.floor(maxAgeMs / 1000))}${secure ? "; Secure" : ""}`,
    );
  const pagePath = (id: string) => `${cookiePath}/${encodeURIComponent(id)}`;

  const refuse = async (
    reply: FastifyReply,
    req: FastifyRequest,
    status: number,
    reason: string,
    who: { actor?: string; approvalId?: string } = {},
  ) => {
    await audit.append({
      type: "approval.rejected",
      actor: who.actor ?? "web",
      outcome: "failure",
      message: `Approval page refused (${status}): ${reason}.`,
      detail: { approvalId: who.approvalId, ip: req.ip, method: req.method, route: req.routeOptions.url },
    });
    return sendPage(reply, status, messagePage("Not allowed", `${reason}.`));
  };

  /** A POST comes from our own page: Origin (or Referer) is `publicUrl`'s origin, never cross-site. */
  const sameOrigin = (req: FastifyRequest): boolean => {
    if (header(req, "sec-fetch-site") === "cross-site") return false;
    const origin = header(req, "origin");
    if (origin) return origin === base.origin;
    const referer = header(req, "referer");
    if (!referer) return false;
    try {
      return new URL(referer).origin === base.origin;
    } catch {
      return false;
    }
  };

  const sessionOf = (req: FastifyRequest): SessionClaims | undefined => {
    const s = desk.tokens?.openSession(cookies(req)[SESSION_COOKIE]);
    return s && typeof s !== "string" ? s : undefined;
  };

  const mayDecide = (s: SessionClaims, role: string) => s.roles.includes(role) || s.roles.includes("admin");

  app.register(async (sub) => {
    sub.addContentTypeParser(
      "application/x-www-form-urlencoded",
      { parseAs: "string", bodyLimit: 16_384 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );

    sub.get<{ Querystring: { return?: string } }>("/approvals/login", async (req, reply) => {
      if (!desk.oidc || !desk.tokens)
        return sendPage(reply, 404, messagePage("Not configured", "Sign-in is not configured here."));
      // Only our own approval pages are a place to return to (no open redirect).
      const returnTo = req.query.return ?? "";
      const id = returnTo.startsWith(`${cookiePath}/`) ? returnTo.slice(cookiePath.length + 1) : "";
      if (!ID.test(id)) return sendPage(reply, 400, messagePage("Bad request", "Unknown page to return to."));
      let started: Awaited<ReturnType<NonNullable<typeof desk.oidc>["start"]>>;
      try {
        started = await desk.oidc.start(pagePath(id), SIGNIN_TTL_MS);
      } catch (error) {
        req.log.warn({ err: (error as Error).message }, "Starting an approver sign-in failed.");
        await audit.append({
          type: "approval.signin_failed",
          actor: "web",
          outcome: "failure",
          message: `Approver sign-in could not start: ${(error as Error).message}`,
        });
        return sendPage(
          reply,
          502,
          messagePage("Sign-in unavailable", "The identity provider could not be reached; try again."),
        );
      }
      setCookie(reply, SIGNIN_COOKIE, desk.tokens.oidcState(started.state), SIGNIN_TTL_MS);
      return reply.redirect(started.url.href, 302);
    });

    sub.get<{ Querystring: Record<string, string> }>("/approvals/oidc/callback", async (req, reply) => {
      if (!desk.oidc || !desk.tokens)
        return sendPage(reply, 404, messagePage("Not configured", "Sign-in is not configured here."));
      const st = desk.tokens.openOidcState(cookies(req)[SIGNIN_COOKIE]);
      if (typeof st === "string")
        return refuse(reply, req, 400, `sign-in state ${st}: open the approval link again`);
      if (req.query.error)
        return refuse(reply, req, 401, `the identity provider refused the sign-in (${req.query.error})`);
      const raw = req.raw.url ?? "";
      const query = raw.includes("?") ? raw.slice(raw.indexOf("?")) : "";
      let person: Awaited<ReturnType<NonNullable<typeof desk.oidc>["finish"]>>;
      try {
        person = await desk.oidc.finish(query, st);
      } catch (error) {
        return refuse(reply, req, 401, `sign-in failed: ${(error as Error).message}`);
      }
      const exp = Date.now() + config.approvals.sessionMinutes * 60_000;
      const session = desk.tokens.session({
        identity: person.identity,
        name: person.name,
        roles: person.roles,
        method: "oidc",
        iss: person.iss,
        sub: person.sub,
        exp,
      });
      await audit.append({
        type: "approval.signed_in",
        actor: person.identity,
        outcome: "success",
        message: `${person.identity} signed in at ${person.iss} (roles: ${person.roles.join(", ") || "none"}).`,
        detail: { sub: person.sub, groups: person.groups, roles: person.roles, ip: req.ip },
      });
      reply.header("set-cookie", [
        `${SIGNIN_COOKIE}=; Path=${cookiePath}; HttpOnly; SameSite=Lax; Max-Age=0${secure ? "; Secure" : ""}`,
        `${SESSION_COOKIE}=${session}; Path=${cookiePath}; HttpOnly; SameSite=Lax; Max-Age=${config.approvals.sessionMinutes * 60}${secure ? "; Secure" : ""}`,
      ]);
      return reply.redirect(`${base.origin}${st.returnTo}`, 302);
    });

    const show = async (
      req: FastifyRequest,
      reply: FastifyReply,
      id: string,
      s: SessionClaims,
      status = 200,
      notice?: { text: string; error: boolean },
    ) => {
      const a = await store.getApproval(id);
      if (!a) return sendPage(reply, 404, messagePage("Not found", "There is no such approval."));
      if (!mayDecide(s, a.role))
        return refuse(
          reply,
          req,
          403,
          `${s.identity} (roles: ${s.roles.join(", ") || "none"}) may not decide: this approval needs ${a.role}`,
          { actor: s.identity, approvalId: id },
        );
      const view = await desk.describe(a, await store.getRun(a.runId));
      const now = Date.now();
      const open = a.status === "pending" && now < Date.parse(a.expiresAt);
      const closed =
        a.status !== "pending"
          ? `This approval is ${a.status}; it cannot be decided any more.`
          : "This approval has expired; it cannot be decided any more (no answer means no).";
      return sendPage(
        reply,
        status,
        approvalPage(view, {
          viewer: { identity: s.identity, name: s.name, method: s.method },
          form: open && desk.tokens ? { action: pagePath(id), csrf: desk.tokens.csrf(s.sid, id) } : undefined,
          closed: open ? undefined : closed,
          notice,
          nowMs: now,
        }),
      );
    };

    sub.get<{ Params: { id: string }; Querystring: { t?: string } }>("/approvals/:id", async (req, reply) => {
      const { id } = req.params;
      if (!desk.tokens)
        return sendPage(
          reply,
          404,
          messagePage("Not configured", "Approval pages need playbooks.approvals.linkSecret."),
        );
      if (!ID.test(id)) return sendPage(reply, 404, messagePage("Not found", "There is no such approval."));
      if (req.query.t !== undefined && !desk.oidc) {
        const claims = desk.tokens.openLink(req.query.t);
        if (typeof claims === "string") return refuse(reply, req, 401, `link ${claims}`, { approvalId: id });
        if (claims.approvalId !== id)
          return refuse(reply, req, 401, "the link is for another approval", { approvalId: id });
        const approver = config.approvals.approvers.find(
          (x) => x.identity === claims.identity && x.role === claims.role,
        );
        if (!approver)
          return refuse(reply, req, 401, `${claims.identity} is no longer an approver for ${claims.role}`, {
            approvalId: id,
          });
        // The link must be opened before it expires; the session then lives its own (short) time.
        const exp = Date.now() + config.approvals.sessionMinutes * 60_000;
        const session = desk.tokens.session({
          identity: claims.identity,
          name: approver.name,
          roles: [claims.role],
          method: "link",
          approvalId: id,
          jti: claims.jti,
          exp,
        });
        await audit.append({
          type: "approval.link_opened",
          actor: claims.identity,
          outcome: "success",
          message: `${claims.identity} opened their approval link (nothing is decided by opening it).`,
          detail: { approvalId: id, ip: req.ip },
        });
        setCookie(reply, SESSION_COOKIE, session, exp - Date.now());
        return reply.redirect(`${base.origin}${pagePath(id)}`, 303);
      }
      const s = sessionOf(req);
      if (!s || (s.method === "link" && s.approvalId !== id)) {
        if (desk.oidc)
          return reply.redirect(
            `${base.origin}${cookiePath}/login?return=${encodeURIComponent(pagePath(id))}`,
            302,
          );
        return sendPage(
          reply,
          401,
          messagePage(
            "Open your personal link",
            "This page opens from the personal approval link you were sent; it cannot be opened without it.",
          ),
        );
      }
      return show(req, reply, id, s);
    });

    // Origin and session are checked when the headers arrive, before the form body is read; the
    // handler checks them again with the CSRF token from the body.
    const sessionBeforeBody = async (req: FastifyRequest, reply: FastifyReply) => {
      const id = (req.params as { id?: string }).id;
      if (!desk?.tokens || !sameOrigin(req) || !sessionOf(req)) {
        reply.header("connection", "close");
        if (!desk?.tokens)
          return sendPage(reply, 404, messagePage("Not configured", "Approval pages are not configured."));
        return sameOrigin(req)
          ? refuse(reply, req, 401, "not signed in (or the session expired)", { approvalId: id })
          : refuse(
              reply,
              req,
              403,
              `cross-site decision refused (origin ${header(req, "origin") ?? header(req, "referer") ?? "none"})`,
              { approvalId: id },
            );
      }
    };
    sub.post<{ Params: { id: string }; Body: Record<string, string> | undefined }>(
      "/approvals/:id",
      { onRequest: sessionBeforeBody },
      async (req, reply) => {
        const { id } = req.params;
        if (!desk.tokens)
          return sendPage(reply, 404, messagePage("Not configured", "Approval pages are not configured."));
        if (!sameOrigin(req))
          return refuse(
            reply,
            req,
            403,
            `cross-site decision refused (origin ${header(req, "origin") ?? header(req, "referer") ?? "none"})`,
            { approvalId: id },
          );
        const s = sessionOf(req);
        if (!s) return refuse(reply, req, 401, "not signed in (or the session expired)", { approvalId: id });
        if (s.method === "link" && s.approvalId !== id)
          return refuse(reply, req, 403, "the link session is for another approval", {
            actor: s.identity,
            approvalId: id,
          });
        const body = req.body && typeof req.body === "object" ? req.body : {};
        if (!desk.tokens.checkCsrf(s.sid, id, body.csrf))
          return refuse(reply, req, 403, "missing or wrong CSRF token", {
            actor: s.identity,
            approvalId: id,
          });
        const decision = body.decision;
        if (decision !== "approve" && decision !== "deny")
          return sendPage(reply, 400, messagePage("Bad request", "The decision must be approve or deny."));
        const a = await store.getApproval(id);
        if (!a) return sendPage(reply, 404, messagePage("Not found", "There is no such approval."));
        if (!mayDecide(s, a.role))
          return refuse(
            reply,
            req,
            403,
            `${s.identity} (roles: ${s.roles.join(", ") || "none"}) may not decide: this approval needs ${a.role}`,
            { actor: s.identity, approvalId: id },
          );
        if (s.method === "link" && s.jti) {
          const ttl = Math.max(Date.parse(a.expiresAt) - Date.now(), 0) + 24 * 3_600_000;
          if (!(await store.claimOnce(`approval-link-${s.jti}`, ttl)))
            return refuse(reply, req, 409, "this one-time link was already used", {
              actor: s.identity,
              approvalId: id,
            });
        }
        const comment = typeof body.comment === "string" ? body.comment.slice(0, 500) : undefined;
        await audit.append({
          type: "approval.submitted",
          runId: a.runId,
          playbookId: a.playbookId,
          stepId: a.stepId,
          deviceKey: a.deviceKey,
          actor: s.identity,
          outcome: "success",
          message: `${s.identity} submitted "${decision}" on the approval page (${s.method === "oidc" ? `signed in at ${s.iss}` : "personal one-time link"}).`,
          detail: { approvalId: id, method: s.method, iss: s.iss, sub: s.sub, roles: s.roles, ip: req.ip },
        });
        const r = await engine.decide(id, {
          approve: decision === "approve",
          by: s.identity,
          role: s.roles.includes(a.role) ? a.role : "admin",
          comment: comment || undefined,
        });
        if (!r.ok)
          return show(req, reply, id, s, refusalCode(r.reason), {
            text: `Not recorded: ${r.reason}.`,
            error: true,
          });
        return show(req, reply, id, s, 200, {
          text: `Recorded: ${s.identity} ${decision === "approve" ? "approved" : "denied"}.`,
          error: false,
        });
      },
    );
  });
}
