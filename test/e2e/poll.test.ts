/**
 * `medsoc poll` as a user runs it, against `medsoc simulate hospital` (both child processes of
 * `node bin/medsoc.mjs`): the printed config works as is, every record of a stream comes out once
 * as NDJSON, and with `--cursor-file` a second run prints nothing new. No Redis needed.
 */
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/medsoc.mjs", import.meta.url));
const DEVICES = 230;

function medsoc(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // A folder without medsoc.yaml and no MEDSOC_CONFIG, so "no --config" means no configuration.
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      cwd: tmpdir(),
      env: { ...process.env, MEDSOC_CONFIG: "" },
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

const lines = (text: string) => text.split("\n").filter((l) => l !== "");

describe("medsoc poll against medsoc simulate hospital", () => {
  let sim: ChildProcessWithoutNullStreams;
  let dir: string;
  let configFile: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "medsoc-poll-"));
    sim = spawn(process.execPath, [
      BIN,
      "simulate",
      "hospital",
      "--devices",
      String(DEVICES),
      "--monitors",
      "armis",
    ]);
    let printed = "";
    sim.stdout.on("data", (d: Buffer) => {
      printed += d.toString();
    });
    const deadline = Date.now() + 30_000;
    while (!printed.includes("# ready\n")) {
      if (Date.now() > deadline || sim.exitCode !== null)
        throw new Error(`simulate hospital did not start: ${printed}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    configFile = join(dir, "medsoc.yaml");
    await writeFile(configFile, printed);
  });

  after(async () => {
    sim.kill("SIGTERM");
    if (sim.exitCode === null) await once(sim, "close");
    await rm(dir, { recursive: true, force: true });
  });

  test("the printed config is a valid medsoc.yaml", async () => {
    const run = await medsoc(["validate-config", configFile]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /valid \(1 source/);
  });

  test("every device once, in pages; a second run with the cursor file prints nothing new", async () => {
    const cursorFile = join(dir, "device.cursor.json");
    const first = await medsoc([
      "poll",
      "--config",
      configFile,
      "--source",
      "armis",
      "--stream",
      "device",
      "--cursor-file",
      cursorFile,
      "--page-size",
      "50",
    ]);
    assert.equal(first.code, 0, first.stderr);
    const records = lines(first.stdout).map((l) => JSON.parse(l) as { id: number; macAddress?: string });
    assert.equal(records.length, DEVICES);
    assert.equal(new Set(records.map((r) => r.id)).size, DEVICES, "no duplicates across the page boundaries");
    assert.match(first.stderr, /"pages":5/, "five pages of 50");
    const cursor = JSON.parse(await readFile(cursorFile, "utf8")) as {
      timestamp: string;
      idsAtTimestamp: string[];
    };
    assert.match(cursor.timestamp, /^\d{4}-\d{2}-\d{2}T/);
    assert.ok(cursor.idsAtTimestamp.length > 0);

    const second = await medsoc([
      "poll",
      "-c",
      configFile,
      "--source",
      "armis",
      "--stream",
      "device",
      "--cursor-file",
      cursorFile,
    ]);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, "", "nothing new the second time");

    const fresh = await medsoc(["poll", "-c", configFile, "--source", "armis", "--stream", "alert"]);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.ok(lines(fresh.stdout).length > 0, "alerts print without a cursor file");
  });

  test("clear errors: no config, unknown source, unknown stream, bad cursor file (exit 2)", async () => {
    const noConfig = await medsoc(["poll", "--source", "armis", "--stream", "device"]);
    assert.equal(noConfig.code, 2);
    assert.match(noConfig.stderr, /pass --config FILE/);
    const source = await medsoc(["poll", "-c", configFile, "--source", "nozomi", "--stream", "asset"]);
    assert.equal(source.code, 2);
    assert.match(source.stderr, /no source "nozomi" \(configured: armis\)/);
    const stream = await medsoc(["poll", "-c", configFile, "--source", "armis", "--stream", "nope"]);
    assert.equal(stream.code, 2);
    assert.match(stream.stderr, /known: device, alert, vulnerability/);
    const bad = join(dir, "bad.json");
    await writeFile(bad, '{"timestamp": 5}');
    const cursor = await medsoc([
      "poll",
      "-c",
      configFile,
      "--source",
      "armis",
      "--stream",
      "device",
      "--cursor-file",
      bad,
    ]);
    assert.equal(cursor.code, 2);
    assert.match(cursor.stderr, /must hold/);
  });
});
