/**
 * Indexer acknowledgement: the pending ackIds of one channel, bounded and polled while anything
 * waits (Vector: `splunk_hec/common/acknowledgements.rs`).
 */
import type { Logger } from "../../../core/log.ts";
import { ConfigRefused } from "./response.ts";

/** Pending indexer acknowledgements of one channel: bounded, polled while anything waits. */
export class AckTracker {
  readonly #pending = new Map<number, { resolve: (acked: boolean) => void; deadline: number }>();
  readonly #waiters: (() => void)[] = [];
  #inUse = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Set when the ack endpoint refuses the configuration (code 14, 401/403): waiting is pointless. */
  fatal: Error | undefined;

  constructor(
    private readonly options: { pollIntervalMs: number; timeoutMs: number; maxPending: number },
    private readonly poll: (ids: number[]) => Promise<Record<string, boolean>>,
    private readonly log: Logger,
  ) {}

  /** Waits for room for one more pending batch (backpressure). */
  async reserve(): Promise<void> {
    while (this.#inUse >= this.options.maxPending) await new Promise<void>((r) => this.#waiters.push(r));
    this.#inUse += 1;
  }

  release(): void {
    this.#inUse -= 1;
    this.#waiters.shift()?.();
  }

  /** Resolves true when Splunk acknowledges `ackId`, false after the timeout. Releases the reservation. */
  wait(ackId: number): Promise<boolean> {
    if (this.#closed || this.fatal) {
      this.release();
      return Promise.resolve(false);
    }
    return new Promise<boolean>((resolve) => {
      this.#pending.set(ackId, {
        resolve: (acked) => {
          this.release();
          resolve(acked);
        },
        deadline: Date.now() + this.options.timeoutMs,
      });
      this.#schedule();
    });
  }

  get pending(): number {
    return this.#pending.size;
  }

  #schedule(): void {
    if (this.#timer || this.#closed || this.#pending.size === 0) return;
    this.#timer = setTimeout(() => void this.#poll(), this.options.pollIntervalMs);
  }

  async #poll(): Promise<void> {
    const ids = [...this.#pending.keys()];
    try {
      const acks = await this.poll(ids);
      for (const id of ids) {
        if (acks[String(id)] === true) {
          this.#pending.get(id)?.resolve(true);
          this.#pending.delete(id);
        }
      }
    } catch (error) {
      if (error instanceof ConfigRefused) {
        this.fatal = error;
        this.#finishAll();
      } else
        this.log.warn(
          { error: (error as Error).message, pending: ids.length },
          "Polling HEC acknowledgements failed; will poll again.",
        );
    }
    const now = Date.now();
    for (const [id, p] of this.#pending) {
      if (p.deadline <= now) {
        p.resolve(false);
        this.#pending.delete(id);
      }
    }
    this.#timer = undefined;
    this.#schedule();
  }

  #finishAll(): void {
    for (const p of this.#pending.values()) p.resolve(false);
    this.#pending.clear();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#finishAll();
  }
}
