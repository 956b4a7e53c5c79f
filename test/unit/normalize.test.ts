import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough, Readable, Writable } from "node:stream";
import { describe, it } from "node:test";
import { PermanentError } from "../../core/errors.ts";
import { runNormalize } from "../../worker/commands/normalize.ts";
import { REFERENCE_DATA_DIR, validateEcs } from "../helpers/ecs.ts";

const INGESTED_AT = "2025-04-14T10:58:03.000Z";
const now = (): Date => new Date(INGESTED_AT);
const deviceLines = readFileSync(
  join(REFERENCE_DATA_DIR, "elastic/fixtures/armis/device/test-device.log"),
  "utf8",
)
  .split("\n")
  .filter((l) => l !== "");

type Doc = {
  event: { kind: string; original?: string; ingested: string };
  host?: { id: string; mac?: string[] };
  error?: { code: string };
  armis?: { device?: Record<string, unknown> };
};

/** Runs the command over the given input chunks and returns the parsed output documents. */
async function normalize(
  chunks: Array<string | Buffer>,
  options: {
    stream?: string;
    preserveOriginal?: boolean;
    preserveDuplicateVendorFields?: boolean;
    maxLineLength?: number;
  } = {},
): Promise<{ code: number; docs: Doc[]; raw: string }> {
  const input = Readable.from(chunks, { objectMode: false });
  const output = new PassThrough();
  const received: Buffer[] = [];
  output.on("data", (c: Buffer) => received.push(c));
  const code = await runNormalize({
    source: "armis",
    stream: options.stream ?? "device",
    input,
    output,
    now,
    preserveOriginal: options.preserveOriginal,
    preserveDuplicateVendorFields: options.preserveDuplicateVendorFields,
    maxLineLength: options.maxLineLength,
  });
  const raw = Buffer.concat(received).toString("utf8");
  const lines = raw.split("\n");
  assert.equal(lines.pop(), "", "output ends with a newline");
  return { code, docs: lines.map((l) => JSON.parse(l) as Doc), raw };
}

describe("normalize command", () => {
  it("writes exactly one document per input line, in order, malformed lines included", async () => {
    const input = [
      deviceLines[0],
      "{not json",
      "",
      deviceLines[1],
      "[1,2]",
      '{"name":"no identity"}',
      `${deviceLines[0]}\r`, // CRLF
      "   ",
      deviceLines[1], // last line without a terminator
    ].join("\n");
    const { code, docs } = await normalize([input]);
    assert.equal(code, 0);
    assert.deepEqual(
      docs.map((d) => d.event.kind),
      [
        "asset",
        "pipeline_error",
        "pipeline_error",
        "asset",
        "pipeline_error",
        "pipeline_error",
        "asset",
        "pipeline_error",
        "asset",
      ],
    );
    assert.deepEqual(
      docs.map((d) => d.host?.id ?? d.error?.code),
      [
        "469",
        "malformed_json",
        "empty_line",
        "1176",
        "not_an_object",
        "missing_identity",
        "469",
        "empty_line",
        "1176",
      ],
    );
    assert.equal(docs[1]?.event.original, "{not json");
    for (const doc of docs) {
      assert.equal(doc.event.ingested, INGESTED_AT);
      assert.deepEqual(validateEcs(doc), []);
    }
  });

  it("handles lines and multi-byte characters split across chunks, and CRLF", async () => {
    const line = JSON.stringify({ ...JSON.parse(deviceLines[0] as string), name: "Pompe à perfusion – ß ✓" });
    const bytes = Buffer.from(`${line}\r\n${line}\r\n`, "utf8");
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 7) chunks.push(bytes.subarray(i, i + 7));
    const { docs } = await normalize(chunks, { preserveOriginal: true });
    assert.equal(docs.length, 2);
    for (const doc of docs) {
      assert.equal(doc.event.kind, "asset");
      assert.equal(doc.event.original, line, "CR removed, UTF-8 intact");
    }
  });

  it("leaves out duplicated vendor fields unless preserveDuplicateVendorFields is set", async () => {
    const [lean] = (await normalize([`${deviceLines[0]}\n`])).docs;
    assert.deepEqual(lean?.host?.mac, ["46-A7-4B-5D-B0-76"]);
    assert.equal(lean?.armis?.device?.mac_address, undefined);
    assert.equal(lean?.armis?.device?.id, undefined);
    const [full] = (await normalize([`${deviceLines[0]}\n`], { preserveDuplicateVendorFields: true })).docs;
    assert.deepEqual(full?.host?.mac, ["46-A7-4B-5D-B0-76"]);
    assert.deepEqual(full?.armis?.device?.mac_address, ["46:A7:4B:5D:B0:76"]);
    assert.equal(full?.armis?.device?.id, "469");
    for (const doc of [lean, full]) assert.deepEqual(validateEcs(doc), []);
  });

  it("writes nothing for empty input and no phantom line after a final newline", async () => {
    assert.equal((await normalize([])).docs.length, 0);
    assert.equal((await normalize([`${deviceLines[0]}\n`])).docs.length, 1);
  });

  it("refuses an unknown source or stream with a permanent error listing the valid ones", async () => {
    for (const [source, stream] of [
      ["armis", "activity"],
      ["claroty", "device"],
    ]) {
      await assert.rejects(
        runNormalize({
          source: source as string,
          stream: stream as string,
          input: new PassThrough(),
          output: new PassThrough(),
        }),
        (error: unknown) =>
          error instanceof PermanentError &&
          /armis\/device, armis\/alert, armis\/vulnerability/.test(error.message),
      );
    }
  });

  it("waits for drain when the output is slow", async () => {
    const lines = Array.from({ length: 200 }, (_, i) =>
      JSON.stringify({ ...JSON.parse(deviceLines[0] as string), id: i }),
    );
    const written: string[] = [];
    let pendingWrites = 0;
    let maxPending = 0;
    const output = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, callback) {
        pendingWrites++;
        maxPending = Math.max(maxPending, output.writableLength);
        written.push(chunk.toString("utf8"));
        setTimeout(() => {
          pendingWrites--;
          callback();
        }, 1);
      },
    });
    // One input chunk per line so every line is a separate write.
    const code = await runNormalize({
      source: "armis",
      stream: "device",
      input: Readable.from(lines.map((l) => `${l}\n`)),
      output,
      now,
    });
    assert.equal(code, 0);
    await new Promise<void>((resolve) => output.end(resolve));
    const docs = written
      .join("")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Doc);
    assert.equal(docs.length, 200);
    assert.deepEqual(
      docs.map((d) => d.host?.id),
      lines.map((_, i) => String(i)),
    );
    assert.equal(pendingWrites, 0);
    // Without waiting for drain the buffered length would reach the whole output (~400 KB).
    assert.ok(maxPending < 64 * 1024, `buffered ${maxPending} bytes`);
  });

  it("maps a 50 MB single line without crashing", async () => {
    const blob = "x".repeat(50 * 1024 * 1024);
    const line = `{"id":1,"lastSeen":"2025-03-29T02:02:09.124100+00:00","customProperties":{"blob":"${blob}"}}\n{"id":2,"lastSeen":"2025-03-29T02:02:09.124100+00:00"}\n`;
    const bytes = Buffer.from(line, "latin1");
    function* pieces(): Generator<Buffer> {
      for (let i = 0; i < bytes.length; i += 1 << 20) yield bytes.subarray(i, i + (1 << 20));
    }
    const output = new PassThrough();
    let size = 0;
    let newlines = 0;
    let tail = "";
    output.on("data", (c: Buffer) => {
      size += c.length;
      for (const b of c) if (b === 10) newlines++;
      tail = c.subarray(Math.max(0, c.length - 400)).toString("latin1");
    });
    const code = await runNormalize({
      source: "armis",
      stream: "device",
      input: Readable.from(pieces()),
      output,
      now,
    });
    assert.equal(code, 0);
    assert.equal(newlines, 2, "two documents");
    assert.ok(size > blob.length, `output of ${size} bytes holds the blob`);
    assert.match(tail, /"id":"2"/, "the line after the big one is mapped");
  });

  it("turns a line over the limit into a pipeline_error and carries on", async () => {
    const big = JSON.stringify({ id: 9, lastSeen: "2025-03-29T02:02:09Z", pad: "y".repeat(5000) });
    const { docs } = await normalize([`${big.slice(0, 100)}`, `${big.slice(100)}\n${deviceLines[0]}\n`], {
      maxLineLength: 3000,
    });
    assert.equal(docs.length, 2);
    assert.equal(docs[0]?.event.kind, "pipeline_error");
    assert.equal(docs[0]?.error?.code, "line_too_long");
    assert.ok(big.startsWith(docs[0]?.event.original as string));
    assert.equal(docs[1]?.host?.id, "469");
  });
});
