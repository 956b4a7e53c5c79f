/**
 * The approval desk: how an approval request reaches people and who may answer it (DESIGN.md
 * safety rule 5).
 *
 * - Delivery: each configured approver of the approval's role gets their own message on their own
 *   channel (Slack DM webhook, Teams chat webhook) with a link to the confirmation page; the shared
 *   chat channel only hears that a request went out, never a link; the on-call is paged (PagerDuty,
 *   `approval:<id>`) with the device, its clinical state, what is asked and the plan, and that page
 *   is resolved when the run ends.
 * - Links: with OIDC the link is the page address and the person signs in; without OIDC it carries
 *   a one-time token bound to that person, that approval and an expiry (before the approval's).
 * - Every delivery, failure and outside call lands in the audit trail; secrets (webhook URLs, link
 *   tokens, the routing key) are scrubbed from it.
 */
import { backoffDelay, sleep } from "../../core/backoff.ts";
import { isRetryable, type RetryableError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { ChatClient } from "../actions/chat.ts";
import type { ActionContext, AnyAction, RecordedCall } from "../actions/types.ts";
import type { PlaybooksConfig } from "../config.ts";
import type { AuditLog } from "../engine/audit.ts";
import type { ApprovalRecord, RunState } from "../engine/store.ts";
import { type ApprovalView, type DescribeDeps, describeApproval } from "./describe.ts";
import { OidcSignIn } from "./oidc.ts";
import { ApprovalTokens } from "./tokens.ts";

export type ApprovalsConfig = PlaybooksConfig["approvals"];

export interface ApprovalDeskOptions {
  config: ApprovalsConfig;
  audit: AuditLog;
  describe: DescribeDeps;
  /** The deployment's shared chat channels (a notice without links). */
  chat: ChatClient;
  /** The `pagerduty.event` action when PagerDuty is configured. */
  pagerduty?: AnyAction;
  log?: Logger;
  now?: () => Date;
}

const slackEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export class ApprovalDesk {
  readonly config: ApprovalsConfig;
  /** Present when `approvals.linkSecret` is set (required for approvers and OIDC). */
  readonly tokens?: ApprovalTokens;
  readonly oidc?: OidcSignIn;
  readonly #o: ApprovalDeskOptions;
  readonly #pending = new Set<Promise<void>>();

  constructor(o: ApprovalDeskOptions) {
    this.#o = o;
    this.config = o.config;
    if (o.config.linkSecret) this.tokens = new ApprovalTokens(o.config.linkSecret);
    if (o.config.oidc) this.oidc = new OidcSignIn(o.config.oidc, `${this.base}/approvals/oidc/callback`);
  }

  /** `publicUrl` without a trailing slash. */
  get base(): string {
    return this.config.publicUrl.replace(/\/+$/, "");
  }

  /** The confirmation page of an approval (needs sign-in or a one-time link). */
  pageUrl(approvalId: string): string {
    return `${this.base}/approvals/${encodeURIComponent(approvalId)}`;
  }

  #now(): Date {
    return (this.#o.now ?? (() => new Date()))();
  }

  describe(approval: ApprovalRecord, run: RunState | null): Promise<ApprovalView> {
    return describeApproval({ ...this.#o.describe, now: this.#o.now }, approval, run);
  }

  /** The link sent to one approver: the page, plus a one-time token bound to them without OIDC. */
  linkFor(approval: ApprovalRecord, approver: { identity: string; role: string }): string {
    const page = this.pageUrl(approval.id);
    if (this.oidc || !this.tokens) return page;
    const exp = Math.min(
      Date.parse(approval.expiresAt),
      this.#now().getTime() + this.config.linkTtlMinutes * 60_000,
    );
    const t = this.tokens.link({
      approvalId: approval.id,
      identity: approver.identity,
      role: approver.role,
      exp,
    });
    return `${page}?t=${encodeURIComponent(t)}`;
  }

  #ctx(approval: ApprovalRecord, run: RunState | null, calls: RecordedCall[]): ActionContext {
    return {
      runId: approval.runId,
      stepId: `${approval.stepId}-approval`,
      idempotencyKey: `approval-${approval.id}`,
      playbookId: approval.playbookId,
      device: run?.device,
      dryRun: false,
      record: (c) => calls.push(c),
      log: this.#o.log ?? silentLogger,
      now: () => this.#now(),
    };
  }

  async #auditCalls(approval: ApprovalRecord, calls: RecordedCall[], what: string): Promise<void> {
    for (const c of calls.splice(0))
      await this.#o.audit.append({
        type: "call",
        runId: approval.runId,
        playbookId: approval.playbookId,
        stepId: approval.stepId,
        deviceKey: approval.deviceKey,
        actor: "engine",
        outcome: c.error || (c.status !== undefined && c.status >= 400) ? "failure" : "success",
        message: `${c.method} ${c.system} ${what} → ${c.error ? `error: ${c.error}` : (c.status ?? "?")}`,
        detail: c,
      });
  }

  /** A few attempts on a retryable error (429 with its Retry-After, 5xx, network), with backoff. */
  async #retry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (attempt >= 3 || !isRetryable(error)) throw error;
        const floor = Math.min((error as RetryableError).retryAfterMs ?? 0, 10_000);
        await sleep(backoffDelay(attempt, { baseMs: 500, maxMs: 5000, floorMs: floor }));
      }
    }
  }

  /** The engine's `notifyApprovers`: personal messages, a link-free notice, and the on-call page. */
  notify = async (approval: ApprovalRecord, run: RunState): Promise<void> => {
    const { audit } = this.#o;
    const view = await this.describe(approval, run);
    const deviceName = view.device?.name ?? view.device?.key ?? approval.deviceKey ?? "no device";
    const base = {
      runId: approval.runId,
      playbookId: approval.playbookId,
      stepId: approval.stepId,
      deviceKey: approval.deviceKey,
      actor: "engine",
    };
    const approvers = this.config.approvers.filter((a) => a.role === approval.role);
    const reached: string[] = [];
    const failed: string[] = [];
    for (const a of approvers) {
      const calls: RecordedCall[] = [];
      const text = [
        `*Approval needed from you, ${slackEscape(a.name ?? a.identity)}* (${approval.role}): ${slackEscape(approval.reason)}.`,
        `Device: ${slackEscape(deviceName)}. Clinical state: ${slackEscape(view.clinicalState)}.${view.covered.length ? ` It covers ${(approval as { devices?: string[] }).devices?.length} devices (listed on the page).` : ""}`,
        `If approved: ${slackEscape(view.plan.join("; "))}.`,
        `Expires ${approval.expiresAt}; no answer means no. The link opens a page where you ${this.oidc ? "sign in and " : ""}decide; it is for you only.`,
      ].join("\n");
      const personal = new ChatClient({
        slackWebhookUrl: a.slackWebhookUrl,
        teamsWebhookUrl: a.teamsWebhookUrl,
      });
      const link = [{ text: "Open the approval page", url: this.linkFor(approval, a) }];
      const errors: string[] = [];
      // Channel by channel, so a retry never repeats a message another channel already took.
      for (const channel of personal.channels)
        try {
          await this.#retry(() => personal.post(this.#ctx(approval, run, calls), text, link, [channel]));
        } catch (error) {
          errors.push(`${channel}: ${(error as Error).message}`);
        }
      await this.#auditCalls(approval, calls, `approval request to ${a.identity}`);
      if (errors.length < personal.channels.length) reached.push(a.identity);
      if (errors.length) failed.push(`${a.identity} (${errors.join("; ")})`);
    }
    await audit.append({
      ...base,
      type: "approval.delivered",
      outcome: reached.length ? "success" : "failure",
      message: approvers.length
        ? `Approval request sent personally to ${reached.join(", ") || "nobody"}${failed.length ? `; failed for ${failed.join(", ")}` : ""}.`
        : `No approver is configured for role ${approval.role} (playbooks.approvals.approvers): nobody was asked personally.`,
      detail: { approvalId: approval.id, reached, failed: failed.length },
    });

    // The shared channel hears that a request went out, with no link anyone there could use.
    if (this.#o.chat.channels.length) {
      const calls: RecordedCall[] = [];
      try {
        await this.#o.chat.post(
          this.#ctx(approval, run, calls),
          `Approval requested from ${approval.role} for ${slackEscape(deviceName)}: ${slackEscape(approval.reason)}. Sent to ${reached.length} approver(s) personally; expires ${approval.expiresAt}.`,
        );
      } catch {
        // Audited through the recorded call; the personal messages and the page are what count.
      } finally {
        await this.#auditCalls(approval, calls, "approval notice");
      }
    }

    let paged = false;
    const pd = this.#o.pagerduty;
    if (this.config.pageOnCall && pd) {
      const calls: RecordedCall[] = [];
      const ctx = this.#ctx(approval, run, calls);
      try {
        const input = pd.input.parse({
          eventAction: "trigger",
          dedupKey: `approval:${approval.id}`,
          summary: `Approval needed from ${approval.role} by ${approval.expiresAt}: ${approval.reason}`.slice(
            0,
            1024,
          ),
          severity: view.device?.inUse === false ? "error" : "critical",
          source: approval.deviceKey ?? "medsoc",
          component: view.device?.deviceClass,
          group: view.device?.ward,
          class: "iomt-approval",
          customDetails: {
            approval_id: approval.id,
            asked: approval.reason,
            role: approval.role,
            device: Object.fromEntries(view.deviceFacts),
            clinical_state: view.clinicalState,
            ...(view.covered.length ? { devices_covered: view.covered } : {}),
            plan: view.plan,
            expires_at: approval.expiresAt,
            approvers_asked: reached,
            approval_page: this.pageUrl(approval.id),
          },
        });
        const out = await this.#retry(() => pd.execute(input, ctx));
        const v = await pd.verify(input, out, ctx);
        paged = v.ok;
      } catch (error) {
        await audit.append({
          ...base,
          type: "approval.page_failed",
          outcome: "failure",
          message: `Paging the on-call about the approval failed: ${(error as Error).message}`,
          detail: { approvalId: approval.id },
        });
      } finally {
        await this.#auditCalls(approval, calls, "approval page");
      }
    }
    if (!reached.length && !paged)
      throw new Error(
        `the approval request reached nobody (${approvers.length} approver(s) for ${approval.role}${failed.length ? `, ${failed.length} failed` : ""}; ${pd && this.config.pageOnCall ? "paging failed" : "no on-call paging configured"})`,
      );
  };

  /** When a run ends, its approval pages are resolved (PagerDuty de-duplicates by key). */
  onRunUpdate = (run: RunState): void => {
    const pd = this.#o.pagerduty;
    if (!pd || !this.config.pageOnCall || !["succeeded", "failed", "denied"].includes(run.status)) return;
    const ids = Object.entries(run.steps).filter(([, s]) => s.approvalId);
    if (!ids.length) return;
    const p = (async () => {
      for (const [stepId, s] of ids) {
        const calls: RecordedCall[] = [];
        const approval = {
          id: s.approvalId as string,
          runId: run.id,
          stepId,
          playbookId: run.playbookId,
          deviceKey: run.deviceKey,
        } as ApprovalRecord;
        try {
          const input = pd.input.parse({
            eventAction: "resolve",
            dedupKey: `approval:${approval.id}`,
            summary: `Approval closed: run ${run.id} ${run.status}`,
          });
          await pd.execute(input, this.#ctx(approval, run, calls));
        } catch {
          // The recorded call says what failed; the incident stays open for the on-call to close.
        } finally {
          await this.#auditCalls(approval, calls, "approval page resolve");
        }
      }
    })();
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  };

  /** Waits for background page resolutions (before the audit trail is flushed at shutdown). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }
}
