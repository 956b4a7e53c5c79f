/**
 * Queue behaviour suite, run against both drivers. Integration test: needs Redis on
 * 127.0.0.1:6379 (`MEDSOC_TEST_REDIS_URL` overrides). Each test uses its own prefix and cleans up.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, test } from "node:test";
import { BackpressureError, PermanentError, RetryableError } from "../../core/errors.ts";
import { BullmqQueueDriver } from "../../worker/queue/bullmq.ts";
import { createQueueDriver } from "../../worker/queue/index.ts";
import { MemoryQueueDriver } from "../../worker/queue/memory.ts";
import type { Queue, QueueDriver, QueueOptions } from "../../worker/queue/types.ts";

const REDIS_URL = process.env.MEDSOC_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const FAST: QueueOptions = { attempts: 3, backoffMs: 20, maxBackoffMs: 100 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `predicate` holds, polling; fails the test after `timeoutMs`. */
async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

interface Harness {
  driver: QueueDriver;
  queue<T>(options?: QueueOptions): Queue<T>;
  cleanup(): Promise<void>;
}

const drivers: { name: string; create(): Harness }[] = [
  { name: "memory", create: () => harness(new MemoryQueueDriver()) },
  {
    name: "bullmq",
    create: () =>
      harness(new BullmqQueueDriver({ redisUrl: REDIS_URL, prefix: `medsoc-test-${randomUUID()}` })),
  },
];

function harness(driver: QueueDriver): Harness {
  const queues: Queue<unknown>[] = [];
  return {
    driver,
    queue<T>(options: QueueOptions = FAST): Queue<T> {
      const q = driver.queue<T>(`q-${randomUUID().slice(0, 8)}`, options);
      queues.push(q as Queue<unknown>);
      return q;
    },
    async cleanup() {
      for (const q of queues) await q.obliterate();
      await driver.deadLetters().clear();
      await driver.close();
    },
  };
}

for (const { name, create } of drivers) {
  describe(`queue driver: ${name}`, () => {
    test("retries with backoff, then succeeds", async () => {
      const h = create();
      try {
        const q = h.queue<{ n: number }>();
        const seen: { attemptsMade: number; at: number }[] = [];
        h.driver.queue<{ n: number }>(q.name).process(async (job) => {
          seen.push({ attemptsMade: job.attemptsMade, at: Date.now() });
          if (job.attemptsMade < 2) throw new RetryableError("upstream 503");
        });
        await q.add("job", { n: 1 }, { jobId: "retry-1" });
        await until(() => seen.length === 3);
        await q.drained({ timeoutMs: 5000 });
        assert.deepEqual(
          seen.map((s) => s.attemptsMade),
          [0, 1, 2],
        );
        // Equal jitter: attempt n waits at least half of 20 ms * 2^(n-1).
        assert.ok((seen[1]?.at ?? 0) - (seen[0]?.at ?? 0) >= 9);
        assert.ok((seen[2]?.at ?? 0) - (seen[1]?.at ?? 0) >= 19);
        assert.equal(await h.driver.deadLetters().count(), 0);
        assert.equal((await q.counts()).completed, 1);
      } finally {
        await h.cleanup();
      }
    });

    test("backpressure delays a job without spending an attempt, however often it comes", async () => {
      const h = create();
      try {
        const q = h.queue<string>();
        const seen: number[] = [];
        q.process(async (job) => {
          seen.push(job.attemptsMade);
          // More busy answers than the queue has attempts (3): none of them may count.
          if (seen.length <= 5)
            throw new BackpressureError("elasticsearch answered 429", { retryAfterMs: 10 });
        });
        await q.add("docs", "batch", { jobId: "busy-1" });
        await until(() => seen.length === 6);
        await q.drained({ timeoutMs: 5000 });
        assert.deepEqual(seen, [0, 0, 0, 0, 0, 0]);
        assert.equal(await h.driver.deadLetters().count(), 0);
        assert.equal((await q.counts()).completed, 1);
      } finally {
        await h.cleanup();
      }
    });

    test("honours retryAfterMs as a floor for the next attempt", async () => {
      const h = create();
      try {
        const q = h.queue<string>();
        const at: number[] = [];
        q.process(async () => {
          at.push(Date.now());
          if (at.length === 1) throw new RetryableError("rate limited", { retryAfterMs: 300 });
        });
        await q.add("job", "x");
        await until(() => at.length === 2);
        assert.ok((at[1] ?? 0) - (at[0] ?? 0) >= 290, `waited ${(at[1] ?? 0) - (at[0] ?? 0)} ms`);
      } finally {
        await h.cleanup();
      }
    });

    test("a permanent error goes to the dead-letter queue at once, with reason and attemptsMade", async () => {
      const h = create();
      try {
        const q = h.queue<{ device: string }>();
        let calls = 0;
        q.process(async () => {
          calls++;
          throw new PermanentError("mapping armis record: missing id");
        });
        await q.add("map", { device: "pump-7" }, { jobId: "perm-1" });
        await until(async () => (await h.driver.deadLetters().count()) === 1);
        await q.drained({ timeoutMs: 5000 });
        const [entry] = await h.driver.deadLetters().list();
        assert.equal(calls, 1);
        assert.equal(entry?.queue, q.name);
        assert.equal(entry?.jobId, "perm-1");
        assert.equal(entry?.name, "map");
        assert.deepEqual(entry?.data, { device: "pump-7" });
        assert.equal(entry?.reason, "mapping armis record: missing id");
        assert.equal(entry?.attemptsMade, 1);
        assert.ok(!Number.isNaN(Date.parse(entry?.failedAt ?? "")));
      } finally {
        await h.cleanup();
      }
    });

    test("exhausted attempts go to the dead-letter queue", async () => {
      const h = create();
      try {
        const q = h.queue<number>();
        let calls = 0;
        q.process(async () => {
          calls++;
          throw new Error("socket hang up");
        });
        await q.add("job", 42, { jobId: "exhaust-1" });
        await until(async () => (await h.driver.deadLetters().count()) === 1);
        await q.drained({ timeoutMs: 5000 });
        const [entry] = await h.driver.deadLetters().list();
        assert.equal(calls, 3);
        assert.equal(entry?.attemptsMade, 3);
        assert.equal(entry?.reason, "socket hang up");
        assert.equal(entry?.data, 42);
        assert.equal((await q.counts()).failed, 1);
      } finally {
        await h.cleanup();
      }
    });

    test("per-job attempts override the queue's", async () => {
      const h = create();
      try {
        const q = h.queue<number>();
        let calls = 0;
        q.process(async () => {
          calls++;
          throw new Error("boom");
        });
        await q.add("job", 1, { attempts: 1 });
        await until(async () => (await h.driver.deadLetters().count()) === 1);
        assert.equal(calls, 1);
      } finally {
        await h.cleanup();
      }
    });

    test("bounded concurrency", async () => {
      const h = create();
      try {
        const q = h.queue<number>();
        let running = 0;
        let max = 0;
        let done = 0;
        q.process(
          async () => {
            running++;
            max = Math.max(max, running);
            await sleep(40);
            running--;
            done++;
          },
          { concurrency: 3 },
        );
        await q.addBulk(Array.from({ length: 12 }, (_, i) => ({ name: "job", data: i })));
        await until(() => done === 12);
        assert.equal(max, 3);
      } finally {
        await h.cleanup();
      }
    });

    test("delayed jobs do not run before their delay", async () => {
      const h = create();
      try {
        const q = h.queue<string>();
        let ranAt = 0;
        q.process(async () => {
          ranAt = Date.now();
        });
        const addedAt = Date.now();
        await q.add("later", "x", { delayMs: 400 });
        await sleep(150);
        assert.equal(ranAt, 0);
        assert.equal((await q.counts()).delayed, 1);
        await until(() => ranAt > 0);
        assert.ok(ranAt - addedAt >= 390, `ran after ${ranAt - addedAt} ms`);
      } finally {
        await h.cleanup();
      }
    });

    test("a deterministic job id is added once (waiting, delayed and completed)", async () => {
      const h = create();
      try {
        const q = h.queue<number>();
        assert.equal(
          await q.add("poll", 1, { jobId: "poll-armis-device-20261128T1505" }),
          "poll-armis-device-20261128T1505",
        );
        assert.equal(
          await q.add("poll", 2, { jobId: "poll-armis-device-20261128T1505" }),
          "poll-armis-device-20261128T1505",
        );
        await q.add("poll", 3, { jobId: "delayed-1", delayMs: 200 });
        await q.add("poll", 4, { jobId: "delayed-1" });
        assert.equal((await q.counts()).waiting, 1);
        const seen: number[] = [];
        q.process(async (job) => {
          seen.push(job.data);
        });
        await until(() => seen.length === 2);
        await q.drained({ timeoutMs: 5000 });
        // Completed and still retained: still a no-op.
        await q.add("poll", 5, { jobId: "poll-armis-device-20261128T1505" });
        await sleep(100);
        await q.drained({ timeoutMs: 5000 });
        assert.deepEqual(seen, [1, 3]);
      } finally {
        await h.cleanup();
      }
    });

    test("a job id with ':' is refused", async () => {
      const h = create();
      try {
        const q = h.queue<number>();
        await assert.rejects(q.add("job", 1, { jobId: "poll:armis" }), /contains ':'/);
      } finally {
        await h.cleanup();
      }
    });

    test("graceful close lets the in-flight job finish", async () => {
      const h = create();
      const q = h.queue<string>();
      let started = false;
      let finished = false;
      q.process(async () => {
        started = true;
        await sleep(300);
        finished = true;
      });
      await q.add("slow", "x", { jobId: "slow-1" });
      await until(() => started);
      const closing = h.driver.close();
      assert.equal(finished, false);
      await closing;
      assert.equal(finished, true);
      // Clean up with a fresh driver on the same keys.
      if (h.driver instanceof BullmqQueueDriver) {
        const again = new BullmqQueueDriver({ redisUrl: REDIS_URL, prefix: h.driver.prefix });
        const counts = await again.queue(q.name).counts();
        assert.equal(counts.completed, 1);
        assert.equal(counts.active, 0);
        await again.queue(q.name).obliterate();
        await again.close();
      }
    });

    test("a page-sized payload (2000 records) round-trips", async () => {
      const h = create();
      try {
        type Page = { source: string; records: Record<string, unknown>[] };
        const q = h.queue<Page>();
        const records = Array.from({ length: 2000 }, (_, i) => ({
          id: `dev-${i}`,
          mac: "00:1A:2B:3C:4D:5E",
          name: `Infusion pump ${i} — ICU 3 Bett ${i % 40}`,
          riskLevel: i % 10,
          tags: ["infusion", "alaris", "8015"],
          lastSeen: new Date(Date.UTC(2026, 10, 28, 15, 5, i % 60)).toISOString(),
          site: { id: 7, name: "Main campus" },
          boundaries: ["Corporate", "Clinical"],
          operatingSystem: "Windows Embedded Compact 7",
          notes: "x".repeat(600),
        }));
        const page: Page = { source: "armis", records };
        assert.ok(JSON.stringify(page).length > 1_000_000);
        let received: Page | undefined;
        q.process(async (job) => {
          received = job.data;
        });
        await q.add("raw", page, { jobId: "raw-page-1" });
        await until(() => received !== undefined);
        assert.deepEqual(received, page);
      } finally {
        await h.cleanup();
      }
    });
  });
}

describe("queue driver: memory only", () => {
  test("add waits when a queue holds maxWaiting jobs (backpressure)", async () => {
    const driver = new MemoryQueueDriver({ maxWaiting: 2 });
    try {
      const q = driver.queue<number>("bp", FAST);
      await q.add("job", 1);
      await q.add("job", 2);
      let third = false;
      const adding = q.add("job", 3).then(() => {
        third = true;
      });
      await sleep(50);
      assert.equal(third, false);
      const seen: number[] = [];
      q.process(async (job) => {
        seen.push(job.data);
      });
      await adding;
      await q.drained({ timeoutMs: 2000 });
      assert.deepEqual(seen, [1, 2, 3]);
    } finally {
      await driver.close();
    }
  });

  test("completed-id retention is bounded", async () => {
    const driver = new MemoryQueueDriver();
    try {
      const q = driver.queue<number>("retention", { keepCompleted: 5 });
      const seen: number[] = [];
      q.process(async (job) => {
        seen.push(job.data);
      });
      for (let i = 0; i < 10; i++) await q.add("job", i, { jobId: `job-${i}` });
      await q.drained({ timeoutMs: 2000 });
      assert.equal((await q.counts()).completed, 5);
      await q.add("job", 100, { jobId: "job-0" }); // forgotten: runs again
      await q.add("job", 109, { jobId: "job-9" }); // retained: no-op
      await q.drained({ timeoutMs: 2000 });
      assert.deepEqual(seen.slice(10), [100]);
    } finally {
      await driver.close();
    }
  });
});

describe("queue driver: bullmq only", () => {
  const prefix = `medsoc-test-${randomUUID()}`;
  after(async () => {
    const driver = new BullmqQueueDriver({ redisUrl: REDIS_URL, prefix });
    await driver.deadLetters().clear();
    await driver.close();
  });

  test("dead letters survive a restart of the driver", async () => {
    const first = createQueueDriver({ kind: "bullmq", redisUrl: REDIS_URL, prefix });
    const q = first.queue<number>("dlq-restart", { attempts: 1 });
    q.process(async () => {
      throw new PermanentError("bad record");
    });
    await q.add("job", 7, { jobId: "dead-7" });
    await until(async () => (await first.deadLetters().count()) === 1);
    await q.obliterate();
    await first.close();
    const second = createQueueDriver({ kind: "bullmq", redisUrl: REDIS_URL, prefix });
    try {
      const entries = await second.deadLetters().list(0, -1);
      assert.equal(entries.length, 1);
      assert.equal(entries[0]?.jobId, "dead-7");
      assert.equal(entries[0]?.reason, "bad record");
    } finally {
      await second.close();
    }
  });

  test("an unreachable Redis gives a clear error from add, fast", async () => {
    const driver = createQueueDriver({
      kind: "bullmq",
      redisUrl: "redis://127.0.0.1:1",
      connectTimeoutMs: 1500,
    });
    const started = Date.now();
    try {
      await assert.rejects(driver.queue<number>("unreachable").add("job", 1), (error: Error) => {
        assert.ok(error instanceof RetryableError);
        assert.match(
          error.message,
          /adding 1 job\(s\) to queue unreachable: redis at 127\.0\.0\.1:1 is not reachable/,
        );
        assert.match(error.message, /ECONNREFUSED/);
        return true;
      });
      assert.ok(Date.now() - started < 4000);
    } finally {
      await driver.close();
    }
  });
});
