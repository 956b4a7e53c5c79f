/**
 * The CLI as a user runs it: `node bin/medsoc.mjs …` in a child process. `start` tests use the
 * embedded default (no Redis); the unreachable-Redis case points at a closed port.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { referencePath, validateEcs } from "../helpers/ecs.ts";

const BIN = fileURLToPath(new URL("../../bin/medsoc.mjs", import.meta.url));
const FIXTURES = referencePath("elastic/fixtures/armis");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function medsoc(
  args: string[],
  options: {
    input?: string;
    env?: NodeJS.ProcessEnv;
    onStderr?: (text: string, kill: (s: NodeJS.Signals) => void) => void;
  } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, MEDSOC_LOG_LEVEL: "info", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      options.onStderr?.(stderr, (s) => child.kill(s));
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}

describe("medsoc start (embedded default)", () => {
  test("--once produces ECS documents for all three Armis streams and exits 0", async () => {
    const out = await mkdtemp(join(tmpdir(), "medsoc-e2e-"));
    try {
      const run = await medsoc(["start", "--once", "--devices", "400", "--out", out]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /medsoc finished in/);
      assert.match(run.stdout, /armis\/device\s+polled\s+400\s+mapped\s+400/);
      assert.match(run.stdout, /claroty_xdome\/event\s+polled\s+\d+\s+mapped/);
      assert.match(run.stdout, /panw_iot\/device\s+polled\s+400\s+mapped\s+400/);
      for (const stream of ["device", "alert", "vulnerability"]) {
        const lines = (await readFile(join(out, `${stream}.ndjson`), "utf8")).trim().split("\n");
        assert.ok(lines.length > 0, `${stream} has documents`);
        // Every monitor of the simulated hospital writes here; Armis serves all 400 devices.
        if (stream === "device")
          assert.equal(lines.filter((l) => JSON.parse(l).medsoc.source === "armis").length, 400);
        for (const line of lines.slice(0, 50)) {
          const doc = JSON.parse(line);
          assert.equal(doc.medsoc.stream, stream);
          assert.deepEqual(validateEcs(doc), [], `${stream} document is valid ECS`);
        }
        const kinds = new Set(lines.map((l) => JSON.parse(l).event.kind));
        assert.deepEqual([...kinds], [{ device: "asset", alert: "alert", vulnerability: "event" }[stream]]);
      }
      assert.equal(await readFile(join(out, "dead-letter.ndjson"), "utf8"), "");
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  test("SIGTERM finishes in-flight work, prints the summary and exits 0", async () => {
    const out = await mkdtemp(join(tmpdir(), "medsoc-e2e-"));
    try {
      let sent = false;
      const run = await medsoc(["start", "--devices", "300", "--out", out], {
        onStderr: (text, kill) => {
          if (!sent && text.includes('"stream":"device"') && text.includes("Poll finished.")) {
            sent = true;
            kill("SIGTERM");
          }
        },
      });
      assert.ok(sent, "the device poll finished before the signal");
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /SIGTERM received/);
      assert.match(run.stdout, /armis\/device\s+polled\s+300\s+mapped\s+300/);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  test("--once exits 1 when a stream could not be polled, and says where the failure went", async () => {
    const dir = await mkdtemp(join(tmpdir(), "medsoc-e2e-"));
    try {
      const file = join(dir, "medsoc.yaml");
      await writeFile(
        file,
        [
          "queue: { driver: memory, attempts: 2, backoffMs: 10 }",
          "sources: [{ type: armis, streams: [device], config: { baseUrl: 'http://127.0.0.1:9', secretKey: s3cr3t-value, retry: { maxAttempts: 1 } } }]",
          `sinks: { file: { dir: '${dir}' } }`,
          "api: { enabled: false }",
        ].join("\n"),
      );
      const run = await medsoc(["start", "--once", "--config", file]);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stdout, /1 poll\(s\) failed for good/);
      assert.ok(!run.stderr.includes("s3cr3t-value") && !run.stdout.includes("s3cr3t-value"));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("an unreachable Redis gives a clear error, not a hang", async () => {
    const dir = await mkdtemp(join(tmpdir(), "medsoc-e2e-"));
    try {
      const file = join(dir, "medsoc.yaml");
      await writeFile(
        file,
        [
          "queue: { driver: bullmq, redisUrl: 'redis://127.0.0.1:1' }",
          "sources: [{ type: armis, config: { baseUrl: 'http://127.0.0.1:9', secretKey: s3cr3t-value } }]",
          `sinks: { file: { dir: '${dir}' } }`,
          "api: { enabled: false }",
        ].join("\n"),
      );
      const started = Date.now();
      const run = await medsoc(["start", "--once", "--config", file]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /redis at 127\.0\.0\.1:1 is not reachable/);
      assert.ok(Date.now() - started < 30_000);
      assert.ok(!run.stderr.includes("s3cr3t-value"), "the secret is not printed");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("medsoc normalize", () => {
  test("maps the reference Armis alerts line by line, with a pipeline_error for a bad line", async () => {
    const input = `${(await readFile(join(FIXTURES, "alert/test-alert.log"), "utf8")).trim()}\n{not json\n`;
    const run = await medsoc(["normalize", "--source", "armis", "--stream", "alert"], { input });
    assert.equal(run.code, 0, run.stderr);
    const docs = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(docs.length, 3);
    assert.deepEqual(
      docs.map((d) => d.event.kind),
      ["alert", "alert", "pipeline_error"],
    );
    assert.equal(docs[0].event.id, "71");
    assert.equal(docs[2].event.original, "{not json");
  });

  test("vendor fields copied to ECS are dropped unless --preserve-duplicate-vendor-fields", async () => {
    const input = await readFile(join(FIXTURES, "device/test-device.log"), "utf8");
    const slim = await medsoc(["normalize", "--source", "armis", "--stream", "device"], { input });
    const full = await medsoc(
      ["normalize", "--source", "armis", "--stream", "device", "--preserve-duplicate-vendor-fields"],
      { input },
    );
    assert.equal(slim.code, 0, slim.stderr);
    assert.equal(full.code, 0, full.stderr);
    const a = JSON.parse(slim.stdout.split("\n")[0] as string);
    const b = JSON.parse(full.stdout.split("\n")[0] as string);
    assert.deepEqual(a.host.mac, ["46-A7-4B-5D-B0-76"]);
    assert.equal(a.armis.device.mac_address, undefined);
    assert.deepEqual(b.armis.device.mac_address, ["46:A7:4B:5D:B0:76"]);
    assert.deepEqual(a.host, b.host);
  });

  test("an unknown stream exits 2 and names the valid ones", async () => {
    const run = await medsoc(["normalize", "--source", "armis", "--stream", "devices"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /device/);
    assert.equal(run.stdout, "");
  });

  test("missing arguments exit 2", async () => {
    const run = await medsoc(["normalize", "--source", "armis"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--stream/);
  });
});

describe("medsoc dead-letters (needs Redis on 127.0.0.1:6379)", () => {
  test("counts and prints the dead-letter queue of a deployment", async () => {
    const { createQueueDriver } = await import("../../worker/queue/index.ts");
    const prefix = `dlcli${process.pid}`;
    const driver = createQueueDriver({ kind: "bullmq", redisUrl: "redis://127.0.0.1:6379", prefix });
    const dir = await mkdtemp(join(tmpdir(), "medsoc-e2e-"));
    try {
      for (const n of [1, 2, 3])
        await driver.deadLetters().add({
          queue: "raw",
          jobId: `j${n}`,
          name: "map",
          data: { n },
          reason: `mapping armis/device: record ${n} is not an object`,
          attemptsMade: 1,
          failedAt: "2026-11-28T00:00:00.000Z",
        });
      const file = join(dir, "medsoc.yaml");
      await writeFile(file, `queue: { driver: bullmq, prefix: ${prefix} }\n`);
      const count = await medsoc(["dead-letters", "--config", file, "--count"]);
      assert.equal(count.code, 0, count.stderr);
      assert.equal(count.stdout.trim(), "3");
      const list = await medsoc(["dead-letters", "--config", file, "--limit", "2"]);
      assert.equal(list.code, 0, list.stderr);
      const entries = list.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      assert.deepEqual(
        entries.map((e) => e.jobId),
        ["j2", "j3"],
      );
      assert.match(entries[0].reason, /record 2 is not an object/);
    } finally {
      await driver.deadLetters().clear();
      await driver.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("replay puts refused documents back on their sink's queue, and a second replay adds nothing", async () => {
    const { createQueueDriver } = await import("../../worker/queue/index.ts");
    const prefix = `dlreplay${process.pid}`;
    const driver = createQueueDriver({ kind: "bullmq", redisUrl: "redis://127.0.0.1:6379", prefix });
    const dir = await mkdtemp(join(tmpdir(), "medsoc-e2e-"));
    try {
      for (const n of [1, 2])
        await driver.deadLetters().add({
          queue: "sink-elasticsearch",
          jobId: `doc-${n}`,
          name: "sink.elasticsearch",
          data: {
            "@timestamp": "2026-11-28T00:00:00.000Z",
            event: { kind: "asset" },
            medsoc: { doc_id: `doc-${n}`, source: "armis", stream: "device" },
          },
          reason: "400: mapper_parsing_exception: failed to parse field [host.ip] of type [ip]",
          attemptsMade: 1,
          failedAt: "2026-11-28T00:00:00.000Z",
        });
      await driver.deadLetters().add({
        queue: "elsewhere",
        jobId: "x",
        name: "other",
        data: {},
        reason: "not ours",
        attemptsMade: 1,
        failedAt: "2026-11-28T00:00:00.000Z",
      });
      const file = join(dir, "medsoc.yaml");
      await writeFile(file, `queue: { driver: bullmq, prefix: ${prefix} }\n`);
      const dry = await medsoc(["dead-letters", "replay", "--config", file, "--dry-run"]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /^would replay 2 of 3 dead letter\(s\): 1 job\(s\) to sink-elasticsearch/);
      assert.equal(await driver.deadLetters().count(), 3, "a dry run changes nothing");
      const first = await medsoc(["dead-letters", "replay", "--config", file]);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /^replayed 2 of 3 dead letter\(s\): 1 job\(s\) to sink-elasticsearch/);
      assert.match(first.stdout, /kept elsewhere x: not a pipeline dead letter/);
      const second = await medsoc(["dead-letters", "replay", "--config", file]);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /^replayed 0 of 1 dead letter\(s\)/);
      const counts = await driver.queue("sink-elasticsearch").counts();
      assert.equal(counts.waiting, 1, "one job with both documents, enqueued once");
    } finally {
      await driver.queue("sink-elasticsearch").obliterate();
      await driver.deadLetters().clear();
      await driver.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("medsoc validate-config", () => {
  test("the shipped example is valid", async () => {
    const run = await medsoc(
      ["validate-config", fileURLToPath(new URL("../../medsoc.example.yaml", import.meta.url))],
      {
        env: { ARMIS_SECRET_KEY: "k", ES_API_KEY: "e", SPLUNK_HEC_TOKEN: "t" },
      },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /valid/);
  });

  test("an invalid file exits 2 and lists every problem with its path", async () => {
    const dir = await mkdtemp(join(tmpdir(), "medsoc-e2e-"));
    try {
      const file = join(dir, "bad.yaml");
      await writeFile(
        file,
        [
          "queue: { driver: kafka, bogus: 1 }",
          "sources:",
          "  - type: armis",
          "    streams: [device, devices]",
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${VAR} reference, as written in medsoc.yaml
          "    config: { baseUrl: not-a-url, secretKey: '${MEDSOC_TEST_MISSING_VAR}' }",
          "  - type: nope",
          "sinks:",
          "  elasticsearch: { node: 'http://user:pw@es:9200' }",
          "  splunk: { url: 'https://splunk:8088' }",
        ].join("\n"),
      );
      const run = await medsoc(["validate-config", file]);
      assert.equal(run.code, 2);
      for (const path of [
        "queue.driver",
        'queue: Unrecognized key: "bogus"',
        "sources[0].streams[1]",
        "sources[0].config.baseUrl",
        "sources[0].config.secretKey",
        "sources[1].type",
        "sinks.elasticsearch.node",
        "sinks.splunk.token",
      ])
        assert.ok(run.stderr.includes(path), `reports ${path}:\n${run.stderr}`);
      assert.match(run.stderr, /MEDSOC_TEST_MISSING_VAR is not set/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
