/**
 * Finding 9 of issue 10: the audit trail is keyed (HMAC-SHA256) and anchored by signed head
 * checkpoints kept outside the chain. Each tamper below is what someone with write access to the
 * chain's store (but not the key or the checkpoint store) can do; `medsoc audit verify` must catch
 * every one and still pass the chain as written:
 * - editing who approved and recomputing every hash after it (plain sha256, as the old chain was);
 * - deleting the tail;
 * - truncating the chain and letting medsoc restart it from nothing.
 * File mode (the embedded default: generated key file, local checkpoint file) through the CLI, and
 * the Redis chain of a deployment with two appenders (separate connections, as two worker
 * processes) writing at once. Integration test: needs Redis on 127.0.0.1:6379.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import type { Secret } from "../../core/secret.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import { playbooksConfigSchema } from "../../playbooks/config.ts";
import { canonical, verifyAudit } from "../../playbooks/engine/audit.ts";
import { redisCheckpointStore } from "../../playbooks/engine/audit-checkpoints.ts";
import { createPlaybookRuntime } from "../../playbooks/index.ts";
import { MemoryQueueDriver } from "../../worker/queue/memory.ts";
import { AUDIT_TEST_KEY, REDIS_URL } from "../helpers/playbooks.ts";

const exec = promisify(execFile);

/** `medsoc audit verify <args>`: exit code and output. */
async function verify(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await exec(process.execPath, ["bin/medsoc.mjs", "audit", "verify", ...args]);
    return { code: 0, out: r.stdout + r.stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

/** What someone without the key does after an edit: recompute sha256(prev + entry) down the chain. */
function recompute(lines: string[], from: number): string[] {
  const out = [...lines];
  let prev = from > 0 ? (JSON.parse(out[from - 1] as string) as { hash: string }).hash : "0".repeat(64);
  for (let i = from; i < out.length; i++) {
    const { hash: _old, ...body } = JSON.parse(out[i] as string) as Record<string, unknown>;
    body.prev = prev;
    const hash = createHash("sha256").update(prev).update(canonical(body)).digest("hex");
    out[i] = JSON.stringify({ ...body, hash });
    prev = hash;
  }
  return out;
}

/** Writes a chain the way the embedded default does (memory driver, audit file), then closes it. */
async function writeChain(auditFile: string, entries: number, shipped: EcsDocument[] = []): Promise<void> {
  const driver = new MemoryQueueDriver();
  const runtime = await createPlaybookRuntime({
    config: playbooksConfigSchema.parse({}),
    driver,
    auditFile,
    ship: async (docs) => {
      shipped.push(...docs);
    },
  });
  for (let i = 0; i < entries; i++) {
    const runId = `run-${i % 3}`;
    if (i % 7 === 3)
      await runtime.audit.append({
        type: "approval.decided",
        runId,
        actor: "dr.who",
        outcome: "success",
        message: "dr.who approved full isolation of pump P-1.",
        detail: { decision: "approve" },
      });
    else if (i % 5 === 4)
      await runtime.audit.append({
        type: "run.finished",
        runId,
        actor: "engine",
        outcome: "success",
        message: `Run ${runId} finished.`,
      });
    else await runtime.audit.append({ type: "step.completed", runId, actor: "engine", message: `step ${i}` });
  }
  await runtime.close();
  await driver.close();
}

describe("finding 9: audit chain in a file (embedded default)", () => {
  let dir: string;
  let file: string;
  let lines: string[];
  const shipped: EcsDocument[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "medsoc-audit-"));
    file = join(dir, "audit-chain.ndjson");
    await writeChain(file, 40, shipped);
    lines = (await readFile(file, "utf8")).trimEnd().split("\n");
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("the chain as written verifies, with its checkpoints; the generated key is private to its owner", async () => {
    const r = await verify(file);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /40 entries, chain intact/);
    assert.match(r.out, /checkpoint/);
    const key = await stat(join(dir, "audit.key"));
    assert.equal(key.mode & 0o077, 0, "audit.key is readable by its owner only");
    const keyText = (await readFile(join(dir, "audit.key"), "utf8")).trim();
    assert.ok(!(await readFile(file, "utf8")).includes(keyText), "the key is not in the chain");
    // Every checkpoint in the local store also went to the SIEMs as an audit document.
    const stored = (await readFile(join(dir, "audit-checkpoints.ndjson"), "utf8")).trimEnd().split("\n");
    assert.ok(stored.length >= 2, "run ends and the close were checkpointed");
    const sent = shipped.filter((d) => d.event.action === "audit.checkpoint");
    assert.deepEqual(
      sent.map((d) => (d.medsoc as unknown as { audit: { signature: string } }).audit.signature),
      stored.map((l) => (JSON.parse(l) as { sig: string }).sig),
    );
    assert.ok(!JSON.stringify(shipped).includes(keyText), "the key is not in what the SIEMs get");
  });

  test("editing who approved and recomputing the hashes is detected", async () => {
    const i = lines.findIndex((l) => l.includes('"approval.decided"'));
    assert.ok(i > 0);
    const edited = [...lines];
    edited[i] = (edited[i] as string).replaceAll("dr.who", "mallory");
    const tampered = join(dir, "edited.ndjson");
    await writeFile(tampered, `${recompute(edited, i).join("\n")}\n`);
    const r = await verify(tampered);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`TAMPERED at line ${i + 1}: hash does not match`));
  });

  test("deleting the tail is detected (the chain is shorter than its last checkpoint)", async () => {
    const tampered = join(dir, "cut.ndjson");
    await writeFile(tampered, `${lines.slice(0, -3).join("\n")}\n`);
    const r = await verify(tampered);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /tail .*deleted/i);
    assert.match(r.out, /seq 39/);
  });

  test("truncating the chain and restarting it is detected", async () => {
    const dir2 = await mkdtemp(join(tmpdir(), "medsoc-audit-"));
    try {
      const f = join(dir2, "audit-chain.ndjson");
      await writeChain(f, 30);
      await writeFile(f, "");
      await writeChain(f, 12);
      const r = await verify(f);
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /truncated and restarted/);
      // The restarted chain says so itself, at once (and so do the SIEMs it ships to).
      const restarted = (await readFile(f, "utf8")).trimEnd().split("\n");
      assert.ok(restarted.some((l) => l.includes('"audit.anchor_mismatch"')));
    } finally {
      await rm(dir2, { recursive: true, force: true });
    }
  });

  test("a chain with no checkpoint at all is not taken as complete", async () => {
    const tampered = join(dir, "unanchored.ndjson");
    await writeFile(tampered, `${lines.join("\n")}\n`);
    const r = await verify(
      tampered,
      "--key-file",
      join(dir, "audit.key"),
      "--checkpoints",
      join(dir, "none.ndjson"),
    );
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /no checkpoint/);
  });
});

describe("finding 9: audit chain in Redis, two appenders at once", () => {
  const prefix = `medsoc-test-audit-${randomUUID()}`;
  const key = AUDIT_TEST_KEY;
  const redis = new Redis(REDIS_URL);
  const config = () =>
    playbooksConfigSchema.parse({
      audit: { key, checkpoints: { everyEntries: 25 } },
    });
  const runtime = () =>
    createPlaybookRuntime({
      config: config(),
      driver: new MemoryQueueDriver(),
      redis: { url: REDIS_URL, prefix },
    });
  const list = `${prefix}:pb:audit`;
  const verifyRedis = async () => {
    const c = config();
    return verifyAudit(await redis.lrange(list, 0, -1), {
      key: (c.audit.key as Secret).reveal(),
      checkpoints: await redisCheckpointStore(redis, `${prefix}:audit-anchor`).list(),
    });
  };
  let good: string[] = [];
  let configFile: string;

  before(async () => {
    configFile = join(await mkdtemp(join(tmpdir(), "medsoc-audit-")), "medsoc.yaml");
    await writeFile(
      configFile,
      `queue: { driver: bullmq, redisUrl: "${REDIS_URL}", prefix: ${prefix} }\nplaybooks: { enabled: true, audit: { key: ${key} } }\n`,
    );
    const a = await runtime();
    const b = await runtime();
    await Promise.all(
      [a, b].map(async (r, n) => {
        const appends = [];
        for (let i = 0; i < 60; i++)
          appends.push(
            r.audit.append({
              type: i % 10 === 9 ? "run.finished" : "step.completed",
              actor: n ? "worker-b" : "worker-a",
              message: `entry ${n}/${i}`,
            }),
          );
        await Promise.all(appends);
      }),
    );
    await a.close();
    await b.close();
    good = await redis.lrange(list, 0, -1);
  });
  after(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await rm(join(configFile, ".."), { recursive: true, force: true });
    redis.disconnect();
  });

  test("both appenders extend one keyed chain, anchored in a separate key space", async () => {
    assert.equal(good.length, 120);
    const v = await verifyRedis();
    assert.equal(v.ok, true, v.reason);
    assert.ok((v.checkpoints ?? 0) >= 2, "checkpoints were written");
    assert.ok(
      (await redis.llen(`${prefix}:audit-anchor:checkpoints`)) > 0,
      "checkpoints live outside <prefix>:pb:*",
    );
    assert.ok(!good.some((l) => l.includes(key)));
    const cli = await verify("--config", configFile);
    assert.equal(cli.code, 0, cli.out);
    assert.match(cli.out, /120 entries, chain intact; \d+ checkpoint\(s\) verified \(redis /);
  });

  test("three worker processes appending at once extend one chain that verifies", async () => {
    const p2 = `${prefix}-procs`;
    try {
      await Promise.all(
        [0, 1, 2].map(
          () =>
            new Promise<void>((resolve, reject) => {
              const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/audit-appender.ts"], {
                env: { ...process.env, MEDSOC_PB_PREFIX: p2, MEDSOC_AUDIT_ENTRIES: "150" },
                stdio: ["ignore", "ignore", "inherit"],
              });
              child.on("exit", (code) =>
                code === 0 ? resolve() : reject(new Error(`appender exited ${code}`)),
              );
            }),
        ),
      );
      const lines = await redis.lrange(`${p2}:pb:audit`, 0, -1);
      assert.equal(lines.length, 450);
      const writers = new Set(lines.map((l) => (JSON.parse(l) as { actor: string }).actor));
      assert.equal(writers.size, 3);
      const v = verifyAudit(lines, {
        key,
        checkpoints: await redisCheckpointStore(redis, `${p2}:audit-anchor`).list(),
      });
      assert.equal(v.ok, true, v.reason);
      assert.equal(v.anchoredSeq, 449, "whoever wrote the last entry anchored it when it closed");
    } finally {
      const keys = await redis.keys(`${p2}:*`);
      if (keys.length) await redis.del(...keys);
    }
  });

  test("an edit with recomputed hashes, a deleted tail and a truncate-then-restart are all detected", async () => {
    const i = 50;
    const edited = [...good];
    edited[i] = (edited[i] as string).replace(/worker-[ab]/, "mallory");
    await redis.del(list);
    await redis.rpush(list, ...recompute(edited, i));
    let v = await verifyRedis();
    assert.equal(v.ok, false);
    assert.equal(v.line, i + 1);
    assert.match(v.reason ?? "", /hash does not match/);

    await redis.del(list);
    await redis.rpush(list, ...good.slice(0, 100));
    v = await verifyRedis();
    assert.equal(v.ok, false);
    assert.match(v.reason ?? "", /tail .*deleted/i);
    const cli = await verify("--config", configFile);
    assert.equal(cli.code, 1, cli.out);
    assert.match(cli.out, /TAMPERED: the tail was deleted/);

    await redis.del(list, `${prefix}:pb:audit-head`);
    const again = await runtime();
    for (let n = 0; n < 5; n++) await again.audit.append({ type: "step.completed", message: `after ${n}` });
    await again.close();
    v = await verifyRedis();
    assert.equal(v.ok, false);
    assert.match(v.reason ?? "", /truncated and restarted/);

    await redis.del(list);
    await redis.rpush(list, ...good);
    await redis.set(`${prefix}:pb:audit-head`, JSON.stringify(JSON.parse(good.at(-1) as string)));
    v = await verifyRedis();
    // The checkpoints written by the restarted chain do not match the restored one.
    assert.equal(v.ok, false);
  });
});
