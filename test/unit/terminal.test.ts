/**
 * The terminal: readable log lines when stderr is a TTY, JSON otherwise; the status line that log
 * lines print above; the progress counts `advisories import` reports. Fake streams stand in for a
 * terminal here; test/e2e/terminal.test.ts runs the CLI under a real pseudo-terminal.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { stripVTControlCharacters } from "node:util";
import { createLogger } from "../../core/log.ts";
import { colorFor, logFormatFor, pollStatus, statusLine, writeAbove } from "../../core/terminal.ts";
import { STORE_FORMAT } from "../../mappings/advisories/store.ts";
import { type ImportProgress, importAdvisories } from "../../worker/commands/advisories.ts";
import { referencePath } from "../helpers/ecs.ts";

function fakeStream(isTTY: boolean, columns = 100) {
  const chunks: string[] = [];
  return {
    isTTY,
    columns,
    chunks,
    write(text: string) {
      chunks.push(text);
      return true;
    },
    get text() {
      return chunks.join("");
    },
  };
}

describe("log format", () => {
  test("pretty on a terminal, JSON on anything else; MEDSOC_LOG_FORMAT overrides both ways", () => {
    assert.equal(logFormatFor({ isTTY: true, write() {} }, {}), "pretty");
    assert.equal(logFormatFor({ isTTY: false, write() {} }, {}), "json");
    assert.equal(logFormatFor({ write() {} }, {}), "json", "a pipe or file has no isTTY");
    assert.equal(logFormatFor({ isTTY: true, write() {} }, { MEDSOC_LOG_FORMAT: "json" }), "json");
    assert.equal(logFormatFor({ isTTY: false, write() {} }, { MEDSOC_LOG_FORMAT: "pretty" }), "pretty");
    assert.equal(logFormatFor({ isTTY: true, write() {} }, { MEDSOC_LOG_FORMAT: "yaml" }), "pretty");
  });

  test("colours only on a terminal, and never with NO_COLOR or TERM=dumb", () => {
    assert.equal(colorFor({ isTTY: true, write() {} }, {}), true);
    assert.equal(colorFor({ isTTY: false, write() {} }, {}), false);
    assert.equal(colorFor({ isTTY: true, write() {} }, { NO_COLOR: "1" }), false);
    assert.equal(colorFor({ isTTY: true, write() {} }, { TERM: "dumb" }), false);
  });

  test("a JSON logger writes one object per line with level, message and fields, secrets redacted", () => {
    const out = fakeStream(false);
    const log = createLogger({ destination: out, level: "info" });
    log.warn({ source: "armis", password: "hunter2" }, "Token refresh failed.");
    const line = JSON.parse(out.text.trim());
    assert.equal(line.level, 40);
    assert.equal(line.msg, "Token refresh failed.");
    assert.equal(line.source, "armis");
    assert.equal(line.password, "[redacted]");
  });

  test("a pretty logger writes `[hh:mm:ss] LEVEL: message {fields}` with the error's message, secrets redacted", () => {
    const out = fakeStream(true);
    const log = createLogger({ destination: out, format: "pretty", level: "info" });
    log.info({ component: "api", port: 8080 }, "Listening.");
    log.warn(
      { source: "armis", token: "s3cret", err: new Error("polling armis/device: HTTP 503") },
      "Poll failed.",
    );
    const lines = stripVTControlCharacters(out.text).trimEnd().split("\n");
    assert.equal(lines.length, 2, out.text);
    assert.match(lines[0] ?? "", /^\[\d\d:\d\d:\d\d\] INFO: Listening\. \{"component":"api","port":8080\}$/);
    assert.match(
      lines[1] ?? "",
      /^\[\d\d:\d\d:\d\d\] WARN: Poll failed\. \(polling armis\/device: HTTP 503\) /,
    );
    assert.match(lines[1] ?? "", /"token":"\[redacted\]"/);
    assert.doesNotMatch(out.text, /s3cret|"level"|at .*\.ts:\d+/);
  });

  test("at debug level the pretty logger keeps the error's stack", () => {
    const out = fakeStream(true);
    const log = createLogger({ destination: out, format: "pretty", level: "debug" });
    log.error({ err: new Error("boom") }, "Failed.");
    assert.match(out.text, /Error: boom/);
    assert.match(out.text, /at .*terminal\.test\.ts/);
  });
});

describe("status line", () => {
  test("none when the stream is not a terminal", () => {
    assert.equal(statusLine(fakeStream(false)), undefined);
  });

  test("redraws in place, cut to the width; log lines print above it; stop keeps a final line", () => {
    const out = fakeStream(true, 20);
    const status = statusLine(out);
    assert.ok(status);
    status.update("importing 1/3");
    status.update("importing 1/3"); // unchanged: nothing written
    status.update("importing 2/3 · a-rather-long-file-name.json");
    assert.deepEqual(out.chunks, ["\rimporting 1/3\x1b[K", "\rimporting 2/3 · a-…\x1b[K"]);
    out.chunks.length = 0;
    writeAbove(out, "[00:00:01] WARN: something\n");
    assert.deepEqual(out.chunks, ["\r\x1b[K[00:00:01] WARN: something\nimporting 2/3 · a-…"]);
    out.chunks.length = 0;
    status.stop("done 3/3");
    assert.deepEqual(out.chunks, ["\r\x1b[K", "done 3/3\n"]);
    out.chunks.length = 0;
    writeAbove(out, "after\n");
    status.update("ignored after stop");
    assert.deepEqual(out.chunks, ["after\n"]);
  });

  test("a terminal that reports no width (0 columns) gets 80", () => {
    const out = fakeStream(true, 0);
    statusLine(out)?.update("x".repeat(100));
    assert.equal(out.text, `\r${"x".repeat(78)}…\x1b[K`);
  });

  test("pollStatus renders on a timer and once more on stop, keeping the last line", async () => {
    const out = fakeStream(true);
    const status = statusLine(out);
    assert.ok(status);
    let n = 0;
    const ticker = pollStatus(status, () => `tick ${++n}`, 5);
    await new Promise((r) => setTimeout(r, 40));
    await ticker.stop(true);
    assert.ok(n >= 2, `rendered ${n} times`);
    assert.ok(out.text.endsWith(`\r\x1b[Ktick ${n}\n`), JSON.stringify(out.text.slice(-40)));
  });
});

test("advisories import reports each document judged, up to done = total", async () => {
  const seen: ImportProgress[] = [];
  const result = await importAdvisories([referencePath("advisories/csaf")], {
    base: { format: STORE_FORMAT, sources: [], advisories: [] },
    onProgress: (p) => seen.push(p),
  });
  const judged = result.accepted.length + result.rejected.length;
  assert.ok(seen.length > 5, `${seen.length} progress calls`);
  assert.equal(seen.length, judged, "one call per document read and judged");
  assert.deepEqual(
    seen.map((p) => p.done),
    seen.map((_, i) => i + 1),
  );
  const last = seen.at(-1) as ImportProgress;
  assert.equal(last.done, last.total);
  assert.equal(last.accepted, result.accepted.length);
  assert.equal(last.rejected, result.rejected.length);
  assert.ok(seen.every((p) => p.current.endsWith(".json")));
});
