/**
 * The server-rendered approval pages: the confirmation page (device, clinical state, plan, expiry,
 * and the decision form) and the short pages that say why something was refused. Plain HTML with
 * no script; every value is escaped.
 */
import type { FastifyReply } from "fastify";
import type { ApprovalView } from "../playbooks/approvals/describe.ts";

export const esc = (s: unknown): string =>
  String(s ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");

const STYLE = `body{font:16px/1.45 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#111}
h1{font-size:1.4rem}th{text-align:left;padding-right:1rem;vertical-align:top;font-weight:600}
.state{padding:.6rem .8rem;border-left:.3rem solid #b00;background:#fff3f3}.state.idle{border-color:#070;background:#f3fff3}
.note{color:#444}.err{color:#b00}button{font-size:1rem;padding:.5rem 1.2rem;margin-right:1rem}
textarea{width:100%;min-height:3rem}`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="same-origin"><title>${esc(title)} · medsoc</title><style>${STYLE}</style></head>
<body>${body}</body></html>`;
}

/** Sends a page with the headers every approval page carries (no framing, no caching, no referrer to other sites). */
export function sendPage(reply: FastifyReply, status: number, html: string): FastifyReply {
  return (
    reply
      .code(status)
      .header("content-type", "text/html; charset=utf-8")
      .header(
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      )
      .header("x-frame-options", "DENY")
      // Not no-referrer: with it Chromium sends `Origin: null` on the form POST, which the Origin check refuses.
      .header("referrer-policy", "same-origin")
      .header("cache-control", "no-store")
      .header("x-content-type-options", "nosniff")
      .send(html)
  );
}

export function messagePage(title: string, text: string, error = true): string {
  return layout(
    title,
    `<h1>${esc(title)}</h1><p class="${error ? "err" : "note"}" id="message">${esc(text)}</p>`,
  );
}

export interface PageViewer {
  identity: string;
  name?: string;
  method: "oidc" | "link";
}

export interface PageOptions {
  viewer: PageViewer;
  /** The decision form is shown only when the approval can be decided by this viewer. */
  form?: { action: string; csrf: string };
  /** Why there is no form (decided, expired). */
  closed?: string;
  /** The outcome of a decision just made, or why it was refused. */
  notice?: { text: string; error: boolean };
  nowMs: number;
}

function minutesLeft(expiresAt: string, nowMs: number): string {
  const ms = Date.parse(expiresAt) - nowMs;
  if (!(ms > 0)) return "expired";
  const m = Math.floor(ms / 60_000);
  return m >= 1 ? `in ${m} min` : "in less than a minute";
}

export function approvalPage(v: ApprovalView, o: PageOptions): string {
  const a = v.approval;
  const idle = v.device?.inUse === false;
  const facts = v.deviceFacts.map(([k, x]) => `<tr><th>${esc(k)}</th><td>${esc(x)}</td></tr>`).join("");
  const plan = v.plan.map((p) => `<li>${esc(p)}</li>`).join("");
  const total = (a as { devices?: string[] }).devices?.length ?? 0;
  const covered = v.covered.length
    ? `<h2>Every device this covers (${total})</h2><table id="covered">${v.covered
        .map((c) => `<tr><th>${esc(c.name ?? c.key)}</th><td>${esc(c.clinicalState)}</td></tr>`)
        .join(
          "",
        )}</table>${total > v.covered.length ? `<p class="note">and ${total - v.covered.length} more</p>` : ""}`
    : "";
  const who = `${esc(o.viewer.name ?? o.viewer.identity)} (${esc(o.viewer.identity)}, ${o.viewer.method === "oidc" ? "signed in at the identity provider" : "personal one-time link"})`;
  const form = o.form
    ? `<form method="post" action="${esc(o.form.action)}" id="decide">
<input type="hidden" name="csrf" value="${esc(o.form.csrf)}">
<p><label for="comment">Comment (optional)</label><br><textarea id="comment" name="comment" maxlength="500"></textarea></p>
<p><button type="submit" name="decision" value="approve" id="approve">Approve</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button></p>
<p class="note">Not answering is a no: when the request expires, the run goes on without this step.</p>
</form>`
    : `<p class="note" id="closed">${esc(o.closed ?? "This approval cannot be decided here.")}</p>`;
  const notice = o.notice
    ? `<p class="${o.notice.error ? "err" : "note"}" id="message">${esc(o.notice.text)}</p>`
    : "";
  return layout(
    `Approval ${a.status}`,
    `<h1>Approval needed from ${esc(a.role)}</h1>
${notice}
<p id="asked"><b>Asked:</b> ${esc(a.reason)}</p>
<h2>Device</h2><table id="device">${facts}</table>
<h2>Clinical state</h2><p class="state${idle ? " idle" : ""}" id="clinical-state">${esc(v.clinicalState)}</p>
${covered}
<h2>If you approve</h2><ol id="plan">${plan}</ol>
<p id="status"><b>Status:</b> ${esc(a.status)}${a.decidedBy ? ` by ${esc(a.decidedBy)} at ${esc(a.decidedAt)}` : ""}</p>
<p id="expires"><b>Expires:</b> ${esc(a.expiresAt)} (${esc(minutesLeft(a.expiresAt, o.nowMs))})</p>
<p class="note">Playbook ${esc(v.playbookTitle ?? a.playbookId)}, run ${esc(a.runId)}, requested ${esc(a.createdAt)}. You are ${who}.</p>
${form}`,
  );
}
