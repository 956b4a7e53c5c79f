/**
 * Scheduler. The unit tests need nothing; the two-process test needs Redis on 127.0.0.1:6379
 * (`MEDSOC_TEST_REDIS_URL` overrides) and uses its own prefix, which it deletes.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { ConfigError } from "../../core/errors.ts";
import { BullmqQueueDriver } from "../../worker/queue/bullmq.ts";
import { MemoryQueueDriver } from "../../worker/queue/memory.ts";
import { type PollJob, pollJobId, Scheduler, slotFor } from "../../worker/scheduler.ts";

const REDIS_URL = process.env.MEDSOC_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const FIXTURE = fileURLToPath(new URL("../fixtures/scheduler-proc.ts", import.meta.url));

describe("slotFor and pollJobId", () => {
  test("truncates to the interval, in UTC, without ':'", () => {
    const d = new Date("2026-11-28T15:07:42.123Z");
    assert.equal(slotFor(d, 300), "20261128T1505");
    assert.equal(slotFor(d, 60), "20261128T1507");
    assert.equal(slotFor(d, 3600), "20261128T1500");
    assert.equal(slotFor(d, 86_400), "20261128T0000");
    assert.equal(slotFor(d, 1), "20261128T150742");
    assert.equal(slotFor(d, 30), "20261128T150730");
    assert.equal(slotFor(new Date("2026-11-28T15:04:59.999Z"), 300), "20261128T1500");
    assert.equal(slotFor(new Date("2026-11-28T15:05:00.000Z"), 300), "20261128T1505");
  });

  test("is the same for every tick in a slot, whatever the process's time zone", () => {
    const slots = new Set(
      [0, 1, 59_999, 120_000, 299_999].map((ms) =>
        slotFor(new Date(Date.UTC(2026, 10, 28, 15, 5) + ms), 300),
      ),
    );
    assert.deepEqual([...slots], ["20261128T1505"]);
  });

  test("refuses a non-positive interval", () => {
    assert.throws(() => slotFor(new Date(), 0), RangeError);
    assert.throws(() => slotFor(new Date(), Number.NaN), RangeError);
  });

  test("pollJobId is deterministic and BullMQ-safe", () => {
    assert.equal(pollJobId("armis", "device", "20261128T1505"), "poll-armis-device-20261128T1505");
    assert.throws(() => pollJobId("armis", "a:b", "20261128T1505"), /':' is not allowed/);
  });
});

describe("Scheduler", () => {
  test("reports every invalid schedule at once", () => {
    const queue = new MemoryQueueDriver().queue<PollJob>("poll");
    assert.throws(
      () =>
        new Scheduler(queue, [
          { source: "armis", stream: "device", cron: "not a cron", intervalSeconds: 60 },
          { source: "armis", stream: "alert", cron: "* * * * *", intervalSeconds: 0 },
        ]),
      (error: Error) =>
        error instanceof ConfigError &&
        error.problems.length === 2 &&
        error.problems[0]?.path === "schedules[0].cron" &&
        error.problems[1]?.path === "schedules[1].intervalSeconds",
    );
  });

  test("a tick enqueues one poll job per slot; a second tick in the slot is a no-op", async () => {
    const driver = new MemoryQueueDriver();
    try {
      const queue = driver.queue<PollJob>("poll");
      const schedule = { source: "armis", stream: "device", cron: "*/5 * * * *", intervalSeconds: 300 };
      const scheduler = new Scheduler(queue, [schedule]);
      assert.equal(
        await scheduler.tick(schedule, new Date("2026-11-28T15:05:00Z")),
        "poll-armis-device-20261128T1505",
      );
      await scheduler.tick(schedule, new Date("2026-11-28T15:05:00.400Z"));
      await scheduler.tick(schedule, new Date("2026-11-28T15:10:00Z"));
      const seen: PollJob[] = [];
      queue.process(async (job) => {
        seen.push(job.data);
      });
      await queue.drained({ timeoutMs: 2000 });
      assert.deepEqual(seen, [
        { source: "armis", stream: "device", slot: "20261128T1505" },
        { source: "armis", stream: "device", slot: "20261128T1510" },
      ]);
    } finally {
      await driver.close();
    }
  });

  test("a failed enqueue is logged, not thrown", async () => {
    const driver = new BullmqQueueDriver({ redisUrl: "redis://127.0.0.1:1", connectTimeoutMs: 200 });
    try {
      const schedule = { source: "armis", stream: "device", cron: "* * * * *", intervalSeconds: 60 };
      const scheduler = new Scheduler(driver.queue<PollJob>("poll"), [schedule]);
      assert.equal(await scheduler.tick(schedule, new Date()), undefined);
    } finally {
      await driver.close();
    }
  });

  test("start and stop run real cron ticks", async () => {
    const driver = new MemoryQueueDriver();
    try {
      const queue = driver.queue<PollJob>("poll");
      const scheduler = new Scheduler(queue, [
        { source: "armis", stream: "device", cron: "* * * * * *", intervalSeconds: 1 },
      ]);
      scheduler.start();
      scheduler.start();
      await new Promise((resolve) => setTimeout(resolve, 2200));
      await scheduler.stop();
      const { waiting } = await queue.counts();
      assert.ok(waiting >= 1 && waiting <= 3, `waiting ${waiting}`);
    } finally {
      await driver.close();
    }
  });
});

describe("Scheduler: two real processes on one Redis", () => {
  test("each slot is enqueued and polled exactly once while both processes tick", async () => {
    const prefix = `medsoc-test-${randomUUID()}`;
    const run = (replica: string) =>
      new Promise<{ replica: string; adds: number }>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ["--import", "tsx", FIXTURE, REDIS_URL, prefix, replica, "3500"],
          {
            stdio: ["ignore", "pipe", "pipe"],
          },
        );
        let out = "";
        let err = "";
        child.stdout.on("data", (chunk) => {
          out += chunk;
        });
        child.stderr.on("data", (chunk) => {
          err += chunk;
        });
        const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
        child.on("exit", (code) => {
          clearTimeout(timer);
          if (code !== 0) return reject(new Error(`replica ${replica} exited with ${code}: ${err}`));
          resolve(JSON.parse(out.trim()));
        });
      });
    const redis = new Redis(REDIS_URL);
    try {
      const [a, b] = await Promise.all([run("a"), run("b")]);
      const polls = await redis.hgetall(`${prefix}:test:polls`);
      const slots = Object.keys(polls).sort();
      // Both processes ticked (each add counts, de-duplicated or not) …
      assert.ok((a?.adds ?? 0) >= 2, `replica a added ${a?.adds}`);
      assert.ok((b?.adds ?? 0) >= 2, `replica b added ${b?.adds}`);
      // … over the same slots, and every slot was polled exactly once.
      assert.ok(slots.length >= 2, `slots ${slots.join(", ")}`);
      assert.ok((a?.adds ?? 0) + (b?.adds ?? 0) > slots.length, "the replicas' ticks overlapped");
      for (const slot of slots) {
        assert.match(slot, /^\d{8}T\d{6}$/);
        assert.equal(polls[slot], "1", `slot ${slot} polled ${polls[slot]} times`);
      }
      const driver = new BullmqQueueDriver({ redisUrl: REDIS_URL, prefix });
      const counts = await driver.queue("poll").counts();
      assert.equal(counts.completed, slots.length);
      await driver.queue("poll").obliterate();
      await driver.close();
    } finally {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });
});
