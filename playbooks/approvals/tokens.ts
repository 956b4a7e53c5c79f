/**
 * Signed tokens of the approval flow, all keyed by `approvals.linkSecret` with one derived key per
 * purpose (a token of one kind never verifies as another): one-time links bound to one person and
 * one approval, approver sessions, OIDC sign-in state, and CSRF tokens bound to a session and an
 * approval. A token is `base64url(JSON claims).base64url(HMAC-SHA256)`; claims carry their expiry.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Secret } from "../../core/secret.ts";

type Purpose = "link" | "session" | "oidc-state" | "csrf";

/** A one-time link: who it was sent to, for which approval, until when; `jti` makes it single-use. */
export interface LinkClaims {
  approvalId: string;
  identity: string;
  role: string;
  jti: string;
  /** Expiry, epoch ms. */
  exp: number;
}

/** A signed-in approver. */
export interface SessionClaims {
  sid: string;
  identity: string;
  name?: string;
  roles: string[];
  /** How the person was authenticated. */
  method: "oidc" | "link";
  /** OIDC issuer and subject. */
  iss?: string;
  sub?: string;
  /** A link session opens only the approval its link named, and decides once (`jti`). */
  approvalId?: string;
  jti?: string;
  /** Expiry, epoch ms. */
  exp: number;
}

/** What the browser carries between the redirect to the identity provider and the callback. */
export interface OidcStateClaims {
  state: string;
  nonce: string;
  verifier: string;
  /** Where to go after sign-in: `/approvals/<id>` only. */
  returnTo: string;
  exp: number;
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64url");

export class ApprovalTokens {
  readonly #keys: Record<Purpose, Buffer>;

  constructor(secret: Secret) {
    const derive = (p: Purpose) =>
      createHmac("sha256", secret.reveal()).update(`medsoc approvals ${p}`).digest();
    this.#keys = {
      link: derive("link"),
      session: derive("session"),
      "oidc-state": derive("oidc-state"),
      csrf: derive("csrf"),
    };
  }

  #mac(p: Purpose, data: string): Buffer {
    return createHmac("sha256", this.#keys[p]).update(data).digest();
  }

  #sign(p: Purpose, claims: object): string {
    const body = b64(JSON.stringify(claims));
    return `${body}.${b64(this.#mac(p, body))}`;
  }

  /** The claims when the signature holds and the token has not expired; otherwise why not. */
  #open<T extends { exp: number }>(p: Purpose, token: string | undefined, nowMs: number): T | string {
    if (!token) return "missing";
    const dot = token.indexOf(".");
    if (dot <= 0 || token.length > 4096) return "malformed";
    const body = token.slice(0, dot);
    const got = Buffer.from(token.slice(dot + 1), "base64url");
    const want = this.#mac(p, body);
    if (got.length !== want.length || !timingSafeEqual(got, want)) return "bad signature";
    let claims: T;
    try {
      claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as T;
    } catch {
      return "malformed";
    }
    if (typeof claims?.exp !== "number" || !(nowMs < claims.exp)) return "expired";
    return claims;
  }

  link(c: Omit<LinkClaims, "jti">): string {
    return this.#sign("link", { ...c, jti: randomBytes(16).toString("base64url") });
  }
  openLink(token: string | undefined, nowMs = Date.now()): LinkClaims | string {
    return this.#open<LinkClaims>("link", token, nowMs);
  }

  session(c: Omit<SessionClaims, "sid">): string {
    return this.#sign("session", { ...c, sid: randomBytes(16).toString("base64url") });
  }
  openSession(token: string | undefined, nowMs = Date.now()): SessionClaims | string {
    return this.#open<SessionClaims>("session", token, nowMs);
  }

  oidcState(c: OidcStateClaims): string {
    return this.#sign("oidc-state", c);
  }
  openOidcState(token: string | undefined, nowMs = Date.now()): OidcStateClaims | string {
    return this.#open<OidcStateClaims>("oidc-state", token, nowMs);
  }

  /** The CSRF token of one session for one approval (the hidden field of the decision form). */
  csrf(sid: string, approvalId: string): string {
    return b64(this.#mac("csrf", `${sid}|${approvalId}`));
  }
  checkCsrf(sid: string, approvalId: string, token: unknown): boolean {
    if (typeof token !== "string" || !token) return false;
    const want = Buffer.from(this.csrf(sid, approvalId));
    const got = Buffer.from(token);
    return want.length === got.length && timingSafeEqual(want, got);
  }
}
