/** Device state on the memory store (needs nothing); the same suite runs on Redis in test/redis. */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  MemoryDeviceStateStore,
  readStateSnapshot,
  writeStateSnapshot,
} from "../../worker/device-state/index.ts";
import { deviceStateSuite, doc } from "../helpers/device-state-suite.ts";

describe("memory device state", () => {
  deviceStateSuite(async () => new MemoryDeviceStateStore());

  it("round-trips a snapshot and names a bad line", async () => {
    const dir = await mkdtemp(join(tmpdir(), "medsoc-state-"));
    try {
      const store = new MemoryDeviceStateStore();
      await store.upsert([doc("armis", { host: { id: "1", mac: ["00-11-22-33-44-01"] } })]);
      const file = join(dir, "state.ndjson");
      assert.equal(await writeStateSnapshot(store, file), 1);
      const states = await readStateSnapshot(file);
      assert.deepEqual(states[0], await store.get(states[0]?.key as string));
      await writeFile(file, '{"key":"x","identifiers":{},"facts":{}}\n{oops\n');
      await assert.rejects(readStateSnapshot(file), /line 2/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
