import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ConfigError, PermanentError } from "../../core/errors.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import { appendNdjson, createFileSink, DEAD_LETTER_FILE } from "../../worker/sinks/file.ts";
import { createSinks, sinkSchemas } from "../../worker/sinks/index.ts";

function doc(i: number): EcsDocument {
  return {
    "@timestamp": "2025-03-29T02:02:09.124Z",
    event: { kind: "asset" },
    message: `line ${i} with a newline\ninside`,
    medsoc: { doc_id: `doc-${i}`, source: "armis", stream: "device" },
  };
}

const lines = async (path: string) =>
  (await readFile(path, "utf8"))
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as EcsDocument);

describe("file sink", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "medsoc-file-sink-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("appends one NDJSON line per document to <dir>/<stream>.ndjson", async () => {
    const sink = createFileSink({ dir: join(dir, "out") });
    assert.deepEqual(await sink.write("device", [doc(1), doc(2)]), {
      delivered: 2,
      duplicates: 0,
      deadLettered: [],
    });
    await sink.write("device", [doc(3)]);
    await sink.write("alert", [doc(4)]);
    await sink.close();
    const device = await lines(join(dir, "out", "device.ndjson"));
    assert.deepEqual(
      device.map((d) => d.medsoc.doc_id),
      ["doc-1", "doc-2", "doc-3"],
    );
    assert.equal(device[0]?.message, "line 1 with a newline\ninside");
    assert.equal((await lines(join(dir, "out", "alert.ndjson"))).length, 1);
  });

  it("keeps concurrent writes to one stream whole and in order, in chunks", async () => {
    const sink = createFileSink({ dir: join(dir, "concurrent"), chunkBytes: 1024 });
    const batches = Array.from({ length: 20 }, (_, b) =>
      Array.from({ length: 50 }, (_, i) => doc(b * 50 + i)),
    );
    const results = await Promise.all(batches.map((batch) => sink.write("device", batch)));
    await sink.close();
    assert.equal(
      results.reduce((n, r) => n + r.delivered, 0),
      1000,
    );
    const written = await lines(join(dir, "concurrent", "device.ndjson"));
    assert.deepEqual(
      written.map((d) => d.medsoc.doc_id),
      batches.flat().map((d) => d.medsoc.doc_id),
    );
  });

  it("refuses stream names that are not safe file names", async () => {
    const sink = createFileSink({ dir });
    await assert.rejects(sink.write("../etc/passwd", [doc(1)]), PermanentError);
    await sink.close();
  });

  it("appendNdjson writes the dead-letter file, creating folders", async () => {
    const path = join(dir, "nested", "deeper", DEAD_LETTER_FILE);
    assert.equal(await appendNdjson(path, [{ reason: "a" }, { reason: "b" }]), 2);
    assert.equal(await appendNdjson(path, [{ reason: "c" }]), 1);
    assert.deepEqual(
      (await lines(path)).map((l) => (l as unknown as { reason: string }).reason),
      ["a", "b", "c"],
    );
  });
});

describe("sink registry", () => {
  it("builds only the configured sinks and rejects unknown ones", async () => {
    assert.deepEqual(Object.keys(sinkSchemas()), ["elasticsearch", "splunk", "file"]);
    const sinks = createSinks({
      file: { dir: join(tmpdir(), "medsoc-registry") },
      splunk: sinkSchemas().splunk?.parse({ url: "https://splunk.example:8088", token: "t0ken-value" }),
    });
    assert.deepEqual(
      sinks.map((s) => s.name),
      ["splunk", "file"],
    );
    await Promise.all(sinks.map((s) => s.close()));
    assert.throws(() => createSinks({ kafka: {} }), ConfigError);
  });
});
