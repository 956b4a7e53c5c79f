/** Device state on Redis (needs Redis at 127.0.0.1:6379): the shared suite with a unique prefix per store. */

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { RedisDeviceStateStore } from "../../worker/device-state/index.ts";
import { deviceStateSuite, doc } from "../helpers/device-state-suite.ts";

const REDIS_URL = process.env.MEDSOC_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const prefixes: string[] = [];

function make(): Promise<RedisDeviceStateStore> {
  const prefix = `medsoc-test-${randomUUID()}`;
  prefixes.push(prefix);
  return Promise.resolve(new RedisDeviceStateStore({ redisUrl: REDIS_URL, prefix }));
}

describe("redis device state", () => {
  after(async () => {
    const redis = new Redis(REDIS_URL);
    for (const prefix of prefixes) {
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== "0");
    }
    await redis.quit();
  });

  deviceStateSuite(make);

  it("keeps a hash per device and one index hash per identifier kind under its prefix", async () => {
    const store = await make();
    const prefix = prefixes.at(-1) as string;
    const redis = new Redis(REDIS_URL);
    try {
      const d = doc("armis", {
        host: { id: "9", mac: ["00-11-22-33-44-09"], ip: ["10.9.9.9"], name: ["x"] },
        device: { serial_number: "S9" },
      });
      await store.upsert([d]);
      const key = (d.medsoc as unknown as { device: { key: string } }).device.key;
      assert.deepEqual(
        (await redis.keys(`${prefix}:*`)).sort(),
        [
          `${prefix}:ds:dev:${key}`,
          `${prefix}:ds:devices`,
          `${prefix}:ds:idx:iphost`,
          `${prefix}:ds:idx:mac`,
          `${prefix}:ds:idx:serial`,
          `${prefix}:ds:idx:vendor`,
        ].sort(),
      );
      assert.equal(await redis.hget(`${prefix}:ds:idx:mac`, "00-11-22-33-44-09"), key);
      assert.equal(await redis.hget(`${prefix}:ds:idx:iphost`, "|10.9.9.9|x"), key);
      await store.clear();
      assert.deepEqual(await redis.keys(`${prefix}:*`), []);
    } finally {
      await redis.quit();
      await store.close();
    }
  });
});
