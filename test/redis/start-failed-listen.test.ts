/**
 * `medsoc start --config` whose API port is taken (issue 14): the start fails with the listen
 * error and stops what it had started, in reverse order: no Redis connection, worker or timer
 * outlives it. Needs Redis on 127.0.0.1:6379 (a unique key prefix; nothing else is touched).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { silentLogger } from "../../core/log.ts";
import { runStart } from "../../worker/run.ts";

const handles = () =>
  process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap" || r === "Timeout").length;

test("a taken API port outside the embedded default fails the start and leaves nothing running", async () => {
  const dir = await mkdtemp(join(tmpdir(), "medsoc-listen-"));
  const blocker: Server = createServer();
  await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
  const port = (blocker.address() as { port: number }).port;
  try {
    const file = join(dir, "medsoc.yaml");
    await writeFile(
      file,
      JSON.stringify({
        queue: { driver: "bullmq", redisUrl: "redis://127.0.0.1:6379", prefix: `listen-${randomUUID()}` },
        sources: [
          { type: "armis", streams: ["device"], config: { baseUrl: "http://127.0.0.1:9", secretKey: "k" } },
        ],
        sinks: { file: { dir } },
        api: { host: "127.0.0.1", port },
      }),
    );
    // Let connections and timers of earlier imports settle before counting.
    await new Promise((r) => setTimeout(r, 200));
    const before = handles();
    await assert.rejects(
      runStart({
        configFile: file,
        log: silentLogger,
        progress: false,
        stopSignal: new Promise(() => undefined),
      }),
      /EADDRINUSE/,
    );
    // Sockets closed by disconnect() leave the handle list on the next turns of the loop.
    let after = handles();
    for (let i = 0; i < 50 && after > before; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = handles();
    }
    assert.ok(
      after <= before,
      `sockets and timers left running after the failed start: ${after} (before: ${before}): ${process.getActiveResourcesInfo().join(", ")}`,
    );
  } finally {
    blocker.close();
    await rm(dir, { recursive: true, force: true });
  }
});
