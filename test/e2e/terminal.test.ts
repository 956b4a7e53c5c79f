/**
 * The CLI as a person at a terminal sees it, under a real pseudo-terminal (util-linux `script`):
 * readable coloured log lines and a status line for `start --once`, `advisories import` and
 * `report`; and as a pipe sees it: JSON log lines, no carriage-return animation.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { referencePath } from "../helpers/ecs.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "bin", "medsoc.mjs");
const VERSION = (JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { version: string })
  .version;
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const stripAnsi = stripVTControlCharacters;
/** The escape that starts an ANSI sequence. */
const ESC = "\u001b";

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, MEDSOC_LOG_LEVEL: "info", TERM: "xterm" };
  delete e.MEDSOC_LOG_FORMAT;
  delete e.NO_COLOR;
  return e;
}

/** Runs medsoc with stdout and stderr on a pseudo-terminal; `output` is what the terminal got. */
function underTerminal(args: string[]): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, BIN, ...args].map(quote).join(" ");
  return new Promise((resolve, reject) => {
    // -q quiet, -e the child's exit code, -f flush as it comes, -c the command; no typescript file.
    const child = spawn("script", ["-qefc", command, "/dev/null"], {
      cwd: ROOT,
      env: env(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output: output.replace(/\r\n/g, "\n") }));
  });
}

/** Runs medsoc with stdout and stderr on pipes (a script, a service manager, CI). */
function piped(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: env(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "medsoc-terminal-"));
});
after(() => rm(tmp, { recursive: true, force: true }));

describe("medsoc start --once", () => {
  test("on a terminal: coloured `[time] LEVEL: message` lines, a live status line, then the summary", async () => {
    const run = await underTerminal(["start", "--once", "--devices", "60", "--out", join(tmp, "tty")]);
    assert.equal(run.code, 0, run.output);
    assert.ok(run.output.includes(`${ESC}[32mINFO${ESC}[39m`), "levels are coloured");
    const text = stripAnsi(run.output);
    assert.match(text, /^\[\d\d:\d\d:\d\d\] INFO: Simulated hospital started\. \{"devices":60,/m);
    assert.match(text, /\[\d\d:\d\d:\d\d\] INFO: Poll finished\. \{"source":"armis","stream":"device"/);
    assert.doesNotMatch(text, /\{"level":/, "no JSON log line on a terminal");
    assert.match(text, /\rmedsoc · polled \d+ · mapped \d+/, "the status line is drawn in place");
    assert.match(text, /\nmedsoc finished in [\d.]+ s\n/, "the summary starts on a line of its own");
  });

  test("on a pipe: every log line is JSON, no status line", async () => {
    const run = await piped(["start", "--once", "--devices", "60", "--out", join(tmp, "pipe")]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^medsoc finished in/);
    const lines = run.stderr.split("\n").filter(Boolean);
    assert.ok(lines.length > 5, run.stderr);
    for (const line of lines) {
      const entry = JSON.parse(line) as { level: number; msg: string; service: string };
      assert.equal(typeof entry.level, "number", line);
      assert.equal(entry.service, "medsoc");
      assert.equal(typeof entry.msg, "string");
    }
    assert.ok(!run.stderr.includes("\r") && !run.stderr.includes(ESC), "no terminal control on a pipe");
  });
});

describe("medsoc advisories import", () => {
  test("on a terminal a status line counts the documents; on a pipe only the results", async () => {
    const csaf = referencePath("advisories/csaf");
    const tty = await underTerminal(["advisories", "import", csaf, "--store", join(tmp, "a1.json")]);
    assert.equal(tty.code, 0, tty.output);
    assert.match(tty.output, /\rimporting advisories · 1\/\d+ documents · /);
    const [, done, total] =
      /importing advisories · (\d+)\/(\d+) documents(?![\s\S]*importing advisories)/.exec(tty.output) ?? [
        "",
        "",
        "-",
      ];
    assert.equal(done, total, "the last status shows every document judged");
    assert.match(tty.output, /\naccepted ICSMA-/, "results start on a line of their own");
    const pipe = await piped(["advisories", "import", csaf, "--store", join(tmp, "a2.json")]);
    assert.equal(pipe.code, 0, pipe.stderr);
    assert.doesNotMatch(pipe.stderr, /importing advisories/);
    assert.match(pipe.stdout, /^accepted ICSMA-/m);
  });
});

describe("medsoc report", () => {
  test("on a terminal a status line says what is being collected", async () => {
    const run = await underTerminal(["report", "--devices", "60", "--out", join(tmp, "report.txt")]);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /\rreport · 60 simulated devices · polled \d+ · pushed \d+ · mapped \d+\W\[K/);
    // The status line is cleared before the result is printed in its place.
    assert.ok(
      run.output.endsWith(`\r${ESC}[Kmedsoc: text report written to ${join(tmp, "report.txt")}\n`),
      run.output.slice(-200),
    );
    assert.match(await readFile(join(tmp, "report.txt"), "utf8"), /^medsoc posture report — \d+ devices/);
  });
});

test("--version prints the package version, on a terminal and on a pipe", async () => {
  const tty = await underTerminal(["--version"]);
  assert.equal(tty.code, 0);
  assert.equal(stripAnsi(tty.output).trim(), VERSION);
  const pipe = await piped(["--version"]);
  assert.equal(pipe.stdout, `${VERSION}\n`);
});
