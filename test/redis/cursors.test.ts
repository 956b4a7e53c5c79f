/**
 * Cursor stores. Integration test: the Redis store needs Redis on 127.0.0.1:6379
 * (`MEDSOC_TEST_REDIS_URL` overrides). Each run uses its own prefix and deletes its keys.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import { Redis } from "ioredis";
import { PermanentError, RetryableError } from "../../core/errors.ts";
import { createCursorStore, RedisCursorStore } from "../../worker/cursors/index.ts";
import type { CursorStore } from "../../worker/cursors/types.ts";

const REDIS_URL = process.env.MEDSOC_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

const stores: { name: string; create(prefix: string): CursorStore }[] = [
  { name: "memory", create: () => createCursorStore({ kind: "memory" }) },
  { name: "redis", create: (prefix) => createCursorStore({ kind: "redis", redisUrl: REDIS_URL, prefix }) },
];

for (const { name, create } of stores) {
  describe(`cursor store: ${name}`, () => {
    test("get, set, overwrite, delete per (source, stream)", async () => {
      const store = create(`medsoc-test-${randomUUID()}`);
      try {
        assert.equal(await store.get("armis", "device"), null);
        await store.set("armis", "device", {
          timestamp: "2026-11-28T15:05:00.000Z",
          idsAtTimestamp: ["1", "2"],
        });
        await store.set("armis", "alert", { timestamp: null, idsAtTimestamp: [] });
        assert.deepEqual(await store.get("armis", "device"), {
          timestamp: "2026-11-28T15:05:00.000Z",
          idsAtTimestamp: ["1", "2"],
        });
        assert.deepEqual(await store.get("armis", "alert"), { timestamp: null, idsAtTimestamp: [] });
        assert.equal(await store.get("claroty_xdome", "device"), null);
        await store.set("armis", "device", { timestamp: "2026-11-28T15:06:00.000Z", idsAtTimestamp: ["3"] });
        assert.deepEqual(await store.get("armis", "device"), {
          timestamp: "2026-11-28T15:06:00.000Z",
          idsAtTimestamp: ["3"],
        });
        await store.delete("armis", "device");
        await store.delete("armis", "alert");
        assert.equal(await store.get("armis", "device"), null);
      } finally {
        await store.close();
      }
    });

    test("the stored cursor is a copy", async () => {
      const store = create(`medsoc-test-${randomUUID()}`);
      try {
        const cursor = { timestamp: "2026-11-28T15:05:00.000Z", idsAtTimestamp: ["1"] };
        await store.set("armis", "device", cursor);
        cursor.idsAtTimestamp.push("2");
        const read = await store.get("armis", "device");
        read?.idsAtTimestamp.push("3");
        assert.deepEqual((await store.get("armis", "device"))?.idsAtTimestamp, ["1"]);
        await store.delete("armis", "device");
      } finally {
        await store.close();
      }
    });
  });
}

describe("cursor store: redis only", () => {
  test("one JSON key per (source, stream) under the prefix, shared across instances", async () => {
    const prefix = `medsoc-test-${randomUUID()}`;
    const a = new RedisCursorStore({ redisUrl: REDIS_URL, prefix });
    const b = new RedisCursorStore({ redisUrl: REDIS_URL, prefix });
    const raw = new Redis(REDIS_URL);
    try {
      await a.set("armis", "device", { timestamp: "2026-11-28T15:05:00.000Z", idsAtTimestamp: ["7"] });
      assert.equal(a.key("armis", "device"), `${prefix}:cursor:armis:device`);
      assert.deepEqual(JSON.parse((await raw.get(`${prefix}:cursor:armis:device`)) ?? "null"), {
        timestamp: "2026-11-28T15:05:00.000Z",
        idsAtTimestamp: ["7"],
      });
      assert.deepEqual(await b.get("armis", "device"), {
        timestamp: "2026-11-28T15:05:00.000Z",
        idsAtTimestamp: ["7"],
      });
      await raw.set(`${prefix}:cursor:armis:alert`, '{"timestamp":5}');
      await assert.rejects(
        b.get("armis", "alert"),
        (error: Error) =>
          error instanceof PermanentError &&
          /reading cursor of armis\/alert: stored value/.test(error.message),
      );
    } finally {
      await raw.del(`${prefix}:cursor:armis:device`, `${prefix}:cursor:armis:alert`);
      raw.disconnect();
      await a.close();
      await b.close();
    }
  });

  test("an unreachable Redis gives a retryable error with context", async () => {
    const store = new RedisCursorStore({ redisUrl: "redis://127.0.0.1:1", prefix: "medsoc-test" });
    try {
      await assert.rejects(
        store.get("armis", "device"),
        (error: Error) =>
          error instanceof RetryableError && /^reading cursor of armis\/device: /.test(error.message),
      );
    } finally {
      await store.close();
    }
  });
});
