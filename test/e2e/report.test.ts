/**
 * `medsoc report` as a user runs it (child processes, loopback only): on the embedded default's
 * snapshot (`start --once` writes out/device-state.ndjson) and on the simulated hospital directly.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const BIN = fileURLToPath(new URL("../../bin/medsoc.mjs", import.meta.url));
const run = promisify(execFile);
const medsoc = (args: string[]) =>
  run(process.execPath, [BIN, ...args], {
    env: { ...process.env, MEDSOC_LOG_LEVEL: "warn" },
    timeout: 120_000,
  });

describe("medsoc report", () => {
  test("reports on the snapshot that start --once writes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "medsoc-report-"));
    try {
      await medsoc(["start", "--once", "--devices", "300", "--out", dir]);
      const { stdout } = await medsoc([
        "report",
        "--state",
        join(dir, "device-state.ndjson"),
        "--format",
        "json",
      ]);
      const report = JSON.parse(stdout);
      assert.equal(report.devices, 300);
      assert.ok(report.headline.vulnerable.share > 0.4 && report.headline.vulnerable.share < 0.65);
      // Every delivered device document carries its device key and class.
      const first = JSON.parse((await readFile(join(dir, "device.ndjson"), "utf8")).split("\n")[0] as string);
      assert.match(first.medsoc.device.key, /^dev-[0-9a-f]{20}$/);
      assert.ok(first.medsoc.device.class);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("runs the simulated hospital when given no state, and writes HTML to a file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "medsoc-report-"));
    try {
      const out = join(dir, "report.html");
      const { stderr } = await medsoc(["report", "--devices", "300", "--format", "html", "--out", out]);
      assert.match(stderr, /html report written/);
      const html = await readFile(out, "utf8");
      assert.match(html, /^<!doctype html>/);
      assert.equal(html.match(/<svg /g)?.length, 3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("refuses a bad format and a memory-queue config with a clear message", async () => {
    await assert.rejects(medsoc(["report", "--format", "pdf"]), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr, /pdf/);
      return true;
    });
    const dir = await mkdtemp(join(tmpdir(), "medsoc-report-"));
    try {
      const cfg = join(dir, "medsoc.yaml");
      await writeFile(cfg, "queue:\n  driver: memory\n");
      await assert.rejects(medsoc(["report", "--config", cfg]), (e: { code: number; stderr: string }) => {
        assert.equal(e.code, 2);
        assert.match(e.stderr, /queue\.driver: .*--state out\/device-state\.ndjson/);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
