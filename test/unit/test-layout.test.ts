/**
 * The test layout and set-up contract (docs/contributing.md, Tests): every test file sits in the
 * folder of what it needs, `npm test` runs all four folders, `pretest` only checks (installing is
 * scripts/setup-test-env.sh's job), CI runs the README's test command verbatim, and missing reference
 * data is an error that says where it was expected.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { referencePath } from "../helpers/ecs.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const FOLDERS = ["unit", "loopback", "redis", "e2e"] as const;
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  scripts: Record<string, string>;
};
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return testFiles(path);
    return e.name.endsWith(".test.ts") ? [relative(ROOT, path)] : [];
  });
}
const filesIn = (folder: string) => testFiles(join(ROOT, "test", folder));

/** Source text with string literals, comments and template strings blanked (code only). */
function code(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "")
    .replace(/`(?:[^`\\]|\\.)*`/g, "``");
}

describe("test layout", () => {
  test("every test file is in test/unit, test/loopback, test/redis or test/e2e", () => {
    const stray = testFiles(join(ROOT, "test")).filter(
      (f) => !FOLDERS.some((d) => f.startsWith(`test/${d}/`)),
    );
    assert.deepEqual(stray, []);
    for (const folder of FOLDERS) assert.ok(filesIn(folder).length > 0, `test/${folder} has tests`);
  });

  test("npm test runs the check and all four folders, one file at a time; each folder has its script", () => {
    const t = pkg.scripts.test ?? "";
    assert.match(t, /^npm run check && node --import tsx --test --test-concurrency=1 /);
    for (const folder of FOLDERS) {
      assert.ok(t.includes(` test/${folder}/*.test.ts`), `npm test covers test/${folder}`);
      assert.match(
        pkg.scripts[`test:${folder}`] ?? "",
        new RegExp(`--test-concurrency=1 test/${folder}/\\*\\.test\\.ts$`),
      );
    }
  });

  test("test/unit opens no sockets, starts no processes and needs no Redis", () => {
    const forbidden = [
      /from "node:(child_process|net|http|https|http2|dgram|tls)"/,
      // ioredis itself is allowed: a lazyConnect client checks options without connecting.
      /from "(bullmq|playwright-core|undici|fastify)"/,
      /new Redis\(|BullmqQueueDriver|Redis(Cursor|DeviceState|Run)Store|kind: "(bullmq|redis)"/,
      /simulators\/(hospital|hec|elasticsearch|syslog-forwarder)\.ts"|simulators\/[a-z_]+\/server\.ts"|simulators\/response\//,
      // …and the helpers that start the simulated hospital or the receivers on loopback.
      /\.listen\(|createServer\(|startHarness\(|runStart\(|collectSimulatedHospital\(|startHospital\(|startReceivers\(/,
    ];
    for (const file of filesIn("unit")) {
      const text = code(read(file));
      for (const re of forbidden) assert.doesNotMatch(text, re, `${file} belongs in a later folder (${re})`);
    }
  });

  test("test/loopback and test/redis start no processes but openssl; test/loopback needs no Redis", () => {
    for (const folder of ["loopback", "redis"]) {
      for (const file of filesIn(folder)) {
        const text = code(read(file));
        // The cluster helper starts redis-server processes of its own.
        assert.doesNotMatch(
          text,
          /helpers\/redis-cluster\.ts"/,
          `${file} starts redis-server: it belongs in test/e2e`,
        );
        if (!/from "node:child_process"/.test(text)) continue;
        for (const m of text.matchAll(
          /(?<![.\w])(spawn|spawnSync|execFile|execFileSync|exec|execSync|fork)\(\s*([^,)]+)/g,
        ))
          assert.equal(m[2], '"openssl"', `${file} runs ${m[2]}: it belongs in test/e2e`);
      }
    }
    const redis =
      /from "(ioredis|bullmq)"|new Redis\(|BullmqQueueDriver|Redis(Cursor|DeviceState|Run)Store|kind: "(bullmq|redis)"/;
    for (const file of filesIn("loopback")) {
      const text = code(read(file));
      assert.doesNotMatch(text, redis, `${file} uses Redis: it belongs in test/redis`);
      // The playbook harness defaults to BullMQ on Redis: a loopback file asks for the memory driver.
      for (const m of text.matchAll(/startHarness\(([\s\S]{0,120})/g))
        assert.match(
          m[1] ?? "",
          /driver: "memory"/,
          `${file}: startHarness without the memory driver needs Redis`,
        );
    }
  });
});

describe("test set-up", () => {
  const readmeCommands = (() => {
    const block = /```sh\n([\s\S]*?)```/.exec(read("README.md"))?.[1] ?? "";
    return block
      .split("\n")
      .map((l) => l.replace(/\s+#.*$/, "").trim())
      .filter(Boolean);
  })();

  test("the README starts with two commands: the main job, then the tests after the set-up script", () => {
    assert.equal(readmeCommands.length, 2, readmeCommands.join("\n"));
    assert.equal(readmeCommands[0], "npm ci && npm start");
    assert.match(readmeCommands[1] ?? "", /^npm ci && bash scripts\/setup-test-env\.sh && npm test$/);
  });

  test(".ci/run runs the README's test command verbatim, with the browser test required", () => {
    const ci = read(".ci/run").split("\n");
    assert.ok(ci.includes(readmeCommands[1] ?? "-"), ".ci/run has the README's test command as a line");
    assert.ok(
      ci.some((l) => /^export MEDSOC_REQUIRE_CHROMIUM=1\b/.test(l)),
      "CI requires the browser test",
    );
  });

  test("pretest and the test:<folder> scripts only check: no apt-get, no set-up script", () => {
    assert.equal(pkg.scripts.pretest, "bash scripts/check-test-env.sh");
    for (const name of ["test", "pretest", ...FOLDERS.map((f) => `test:${f}`)])
      assert.doesNotMatch(pkg.scripts[name] ?? "", /apt-get|ensure-|setup-test-env/, name);
    // apt-get appears in the check script only inside the messages it prints ("…: sudo apt-get install …").
    for (const line of read("scripts/check-test-env.sh").split("\n")) {
      if (line.trim().startsWith("#")) continue;
      const unquoted = line.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/'[^']*'/g, "''");
      assert.doesNotMatch(
        unquoted,
        /apt-get|ensure-(redis|chromium)|setup-test-env|redis-server --daemonize/,
        line,
      );
    }
    assert.match(read("scripts/setup-test-env.sh"), /ensure-redis\.sh[\s\S]*ensure-chromium\.sh/);
  });

  test("missing reference data is an error naming the path and MEDSOC_REFERENCE_DIR", () => {
    assert.throws(
      () => referencePath("ecs/ecs_flat-v9.4.0.yml", "/nonexistent/medsoc-reference"),
      (e: Error) =>
        e.message.includes("/nonexistent/medsoc-reference/ecs/ecs_flat-v9.4.0.yml") &&
        e.message.includes("MEDSOC_REFERENCE_DIR") &&
        e.message.includes("../shared/reference/data"),
    );
    assert.equal(referencePath("ecs"), resolve(referencePath("."), "ecs"));
  });
});
