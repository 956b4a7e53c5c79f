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

  it("loses no update when two workers merge the same devices at once", async () => {
    const a = await make();
    const prefix = prefixes.at(-1) as string;
    const b = new RedisDeviceStateStore({ redisUrl: REDIS_URL, prefix });
    try {
      const n = 40;
      const mac = (i: number) =>
        `00-11-22-33-${String(Math.floor(i / 100)).padStart(2, "0")}-${String(i % 100).padStart(2, "0")}`;
      // Worker A: inventory with MACs; worker B: findings by the same vendor ids, then a second
      // monitor's view by MAC; all at once, in small batches so the transactions interleave.
      const inventory = Array.from({ length: n }, (_, i) =>
        doc("armis", { host: { id: String(i), mac: [mac(i)] } }),
      );
      const findings = Array.from({ length: n }, (_, i) =>
        doc(
          "armis",
          {
            event: { category: ["vulnerability"] },
            host: { id: String(i) },
            vulnerability: { id: `CVE-2020-${1000 + i}`, score: { base: 5 } },
          },
          "event",
        ),
      );
      const second = Array.from({ length: n }, (_, i) =>
        doc("claroty_xdome", { host: { id: `u${i}`, mac: [mac(i)] }, device: { model: { name: "M" } } }),
      );
      const batches = (docs: typeof inventory) =>
        Array.from({ length: n / 5 }, (_, k) => docs.slice(k * 5, k * 5 + 5));
      await Promise.all([
        (async () => {
          for (const x of batches(inventory)) await a.upsert(x);
        })(),
        (async () => {
          for (const x of batches(second)) await b.upsert(x);
        })(),
        (async () => {
          for (const x of batches(findings)) await b.upsert(x);
        })(),
      ]);
      // Findings that arrived before the inventory made devices of their own; the next inventory
      // pass merges them (the same order a second poll gives).
      for (const x of batches(inventory)) await a.upsert(x);
      assert.equal(await a.count(), n);
      for (let i = 0; i < n; i++) {
        const key = await a.resolve({ mac: mac(i) });
        assert.ok(key, `device ${i}`);
        const state = await a.get(key);
        assert.deepEqual(
          Object.keys(state?.identifiers.vendorIds ?? {}).sort(),
          ["armis", "claroty_xdome"],
          `device ${i}`,
        );
        assert.deepEqual(
          Object.keys(state?.exposure?.vulnerabilities ?? {}),
          [`CVE-2020-${1000 + i}`],
          `device ${i}`,
        );
      }
    } finally {
      await b.close();
      await a.close();
    }
  });

  it("keeps a hash per device and one index key per identifier under its prefix", async () => {
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
          `${prefix}:ds:idx:iphost:|10.9.9.9|x`,
          `${prefix}:ds:idx:mac:00-11-22-33-44-09`,
          `${prefix}:ds:idx:serial:S9`,
          `${prefix}:ds:idx:vendor:armis|9`,
        ].sort(),
      );
      assert.equal(await redis.get(`${prefix}:ds:idx:mac:00-11-22-33-44-09`), key);
      await store.clear();
      assert.deepEqual(await redis.keys(`${prefix}:*`), []);
    } finally {
      await redis.quit();
      await store.close();
    }
  });
});
