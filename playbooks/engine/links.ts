/**
 * Signed one-time approve/deny links for chat messages. A link names the approval, the decision,
 * the approver identity and role it was issued to and an expiry, signed with HMAC-SHA256; the
 * approval itself can be decided once, so a second click (or a replay) changes nothing.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Secret } from "../../core/secret.ts";

export interface LinkClaims {
  approvalId: string;
  decision: "approve" | "deny";
  identity: string;
  role: string;
  /** Expiry, epoch ms. */
  exp: number;
}

export class ApprovalLinks {
  constructor(
    readonly secret: Secret,
    /** Public base URL of the medsoc API (`https://medsoc.hospital.example`). */
    readonly baseUrl: string,
  ) {}

  #sig(c: LinkClaims): string {
    return createHmac("sha256", this.secret.reveal())
      .update(`${c.approvalId}|${c.decision}|${c.identity}|${c.role}|${c.exp}`)
      .digest("hex");
  }

  url(c: LinkClaims): string {
    const q = new URLSearchParams({
      decision: c.decision,
      as: c.identity,
      role: c.role,
      exp: String(c.exp),
      sig: this.#sig(c),
    });
    return `${this.baseUrl.replace(/\/$/, "")}/v1/approvals/${encodeURIComponent(c.approvalId)}/link?${q}`;
  }

  /** The claims of a link when its signature holds and it has not expired; otherwise the reason. */
  check(approvalId: string, q: Record<string, string | undefined>, nowMs = Date.now()): LinkClaims | string {
    const decision = q.decision;
    if (decision !== "approve" && decision !== "deny") return "decision must be approve or deny";
    const exp = Number(q.exp);
    if (!q.as || !q.role || !Number.isFinite(exp) || !q.sig) return "incomplete link";
    const claims: LinkClaims = { approvalId, decision, identity: q.as, role: q.role, exp };
    const want = Buffer.from(this.#sig(claims), "hex");
    const got = Buffer.from(q.sig, "hex");
    if (want.length !== got.length || !timingSafeEqual(want, got)) return "bad signature";
    if (exp < nowMs) return "link expired";
    return claims;
  }
}
