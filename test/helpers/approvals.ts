/**
 * Waiting for an approval request to be announced: the engine saves the run as waiting before it
 * sends the messages and the page (issue 10 finding 11), so a test that reads what was delivered
 * waits for the delivery first instead of assuming it happened with the save.
 */
import type { ResponseSystems } from "../../simulators/response/index.ts";
import type { Harness } from "./playbooks.ts";

/** Polls `check` until it is truthy (at most `timeoutMs`); returns its last value. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Resolves once the personal deliveries of approval `id` were audited and its on-call page sent. */
export async function announced(h: Harness, sims: ResponseSystems, id: string): Promise<void> {
  const ok = await eventually(
    () =>
      h.runtime.audit.entries.some(
        (e) => e.type === "approval.delivered" && (e.detail as { approvalId?: string })?.approvalId === id,
      ) && sims.pagerduty.incidents.has(`approval:${id}`),
  );
  if (!ok) throw new Error(`approval ${id} was not announced (no approval.delivered entry or no page)`);
}
