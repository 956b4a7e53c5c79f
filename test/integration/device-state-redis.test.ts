/** Device state on Redis (needs Redis at 127.0.0.1:6379): the shared suite with a unique prefix per store. */

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import type { EcsDocument } from "../../mappings/types.ts";
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

  it("merges a page in a constant number of round trips, and an unchanged page again without writing", async () => {
    const store = await make();
    try {
      const page = (n: number, from: number) =>
        Array.from({ length: n }, (_, i) =>
          doc("armis", {
            host: {
              id: String(from + i),
              mac: [
                `00-AA-00-00-${String(Math.floor((from + i) / 100)).padStart(2, "0")}-${String((from + i) % 100).padStart(2, "0")}`,
              ],
              ip: [`10.1.${Math.floor((from + i) / 250)}.${(from + i) % 250}`],
              name: [`pump-${from + i}`],
            },
            device: { serial_number: `SN${from + i}`, model: { name: "Alaris" } },
            medsoc: { credential: { fingerprint: `fp-${(from + i) % 7}` } },
          }),
        );
      // Lookups of every identifier kind, one load, one commit, one fingerprint count: four,
      // whether the page holds 10 devices or 1,000 (the first layout made six per device).
      for (const [n, from] of [
        [10, 0],
        [1000, 10],
      ] as const) {
        const before = store.stats.roundTrips;
        await store.upsert(page(n, from));
        assert.equal(store.stats.roundTrips - before, 4, `${n} devices`);
      }
      assert.equal(await store.count(), 1010);
      assert.equal(await store.fingerprintCount("fp-3"), 144);
      const written = store.stats.devicesWritten;
      const indexed = store.stats.indexWrites;
      const commits = store.stats.commits;
      const again = page(1000, 10);
      await store.upsert(again);
      assert.equal(store.stats.devicesWritten, written);
      assert.equal(store.stats.indexWrites, indexed);
      assert.equal(store.stats.commits, commits, "no commit script ran");
      assert.equal(store.stats.devicesUnchanged >= 1000, true);
      // The documents still get their device key and view.
      const m = (again[0] as EcsDocument).medsoc as unknown as { device: { key: string; class: string } };
      assert.equal(m.device.key, await store.resolve({ mac: "00-AA-00-00-00-10" }));
      assert.equal(m.device.class, "infusion_pump");
    } finally {
      await store.close();
    }
  });

  it("creates a device once when two workers first see it at the same time", async () => {
    const a = await make();
    const prefix = prefixes.at(-1) as string;
    const b = new RedisDeviceStateStore({ redisUrl: REDIS_URL, prefix });
    try {
      const n = 30;
      const mac = (i: number) => `00-BB-00-00-00-${String(i).padStart(2, "0")}`;
      for (let i = 0; i < n; i++)
        await Promise.all([
          a.upsert([doc("armis", { host: { id: `a${i}`, mac: [mac(i)] } })]),
          b.upsert([doc("claroty_xdome", { host: { id: `x${i}`, mac: [mac(i)] } })]),
        ]);
      assert.equal(await a.count(), n);
      for (let i = 0; i < n; i++) {
        const state = await b.get((await b.resolve({ mac: mac(i) })) as string);
        assert.deepEqual(state?.identifiers.vendorIds, { armis: `a${i}`, claroty_xdome: `x${i}` }, mac(i));
      }
      assert.ok(a.stats.conflicts + b.stats.conflicts > 0, "the workers did collide");
    } finally {
      await b.close();
      await a.close();
    }
  });

  it("keeps devices and identifiers in bucketed hashes under one hash tag", async () => {
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
      // The 80 bits of the key in base64url.
      const id = Buffer.from(key.replace(/^dev-/, ""), "hex").toString("base64url");
      const keys = (await redis.keys(`${prefix}:*`)).sort();
      // Everything on one Redis Cluster slot: the `{ds}` hash tag.
      for (const k of keys) assert.ok(k.startsWith(`${prefix}:{ds}:`), k);
      const named = (kind: string) => keys.filter((k) => k.startsWith(`${prefix}:{ds}:${kind}:`));
      assert.equal(named("d").length, 1);
      assert.ok(keys.includes(`${prefix}:{ds}:meta`) && keys.includes(`${prefix}:{ds}:n`));
      assert.equal(await redis.get(`${prefix}:{ds}:n`), "1");
      // Four identifiers (MAC without dashes, serial, site|ip|hostname, source|vendor id), each a
      // field of a bucket.
      const index = new Map<string, string>();
      for (const k of named("i"))
        for (const [f, v] of Object.entries(await redis.hgetall(k))) index.set(f, v);
      assert.deepEqual([...index].sort(), [
        ["h|10.9.9.9|x", id],
        ["m001122334409", id],
        ["sS9", id],
        ["varmis|9", id],
      ]);
      // Small hashes: Redis keeps them as compact listpacks.
      for (const k of named("i")) assert.equal(await redis.object("ENCODING", k), "listpack", k);
      const [deviceBucket] = named("d");
      assert.deepEqual(await redis.hkeys(deviceBucket as string), [id]);
      assert.ok((await redis.hstrlen(deviceBucket as string, id)) < 400);
      await store.clear();
      assert.deepEqual(await redis.keys(`${prefix}:*`), []);
    } finally {
      await redis.quit();
      await store.close();
    }
  });
});
