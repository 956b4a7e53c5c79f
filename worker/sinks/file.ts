import { type FileHandle, mkdir, open } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import { PermanentError, wrapError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import type { EcsDocument } from "../../mappings/types.ts";
import { parseSinkConfig } from "./common.ts";
import type { Sink, SinkResult } from "./types.ts";

/** File sink settings (`sinks.file`): NDJSON per stream, the embedded default's output. */
export const fileSinkConfigSchema = z.strictObject({
  /** Output folder; documents go to `<dir>/<stream>.ndjson`, appended. @defaultValue "out" */
  dir: z.string().min(1).default("out"),
  /** Largest single write; bounds memory for huge batches. @defaultValue 1048576 (bytes) */
  chunkBytes: z
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
});

export type FileSinkConfig = z.output<typeof fileSinkConfigSchema>;
export type FileSinkConfigInput = z.input<typeof fileSinkConfigSchema>;

/** Name of the dead-letter file the embedded default writes beside the stream files. */
export const DEAD_LETTER_FILE = "dead-letter.ndjson";

const STREAM_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$/;

/**
 * Writes objects as NDJSON lines in chunks of at most `chunkBytes`, awaiting each write, so a huge
 * batch never sits in memory twice and a slow disk slows the caller (backpressure).
 */
async function writeLines(
  handle: FileHandle,
  objects: Iterable<unknown>,
  chunkBytes: number,
): Promise<number> {
  let lines = 0;
  let chunk: string[] = [];
  let size = 0;
  for (const o of objects) {
    const line = `${JSON.stringify(o)}\n`;
    chunk.push(line);
    size += line.length;
    lines += 1;
    if (size >= chunkBytes) {
      await handle.write(chunk.join(""));
      chunk = [];
      size = 0;
    }
  }
  if (chunk.length > 0) await handle.write(chunk.join(""));
  return lines;
}

/** Appends objects as NDJSON lines to `path` (folders created), one line per object. Returns the line count. */
export async function appendNdjson(
  path: string,
  objects: Iterable<unknown>,
  options: { chunkBytes?: number } = {},
): Promise<number> {
  await mkdir(dirname(path), { recursive: true });
  const handle = await open(path, "a");
  try {
    return await writeLines(handle, objects, options.chunkBytes ?? 1024 * 1024);
  } finally {
    await handle.close();
  }
}

export interface FileSinkDeps {
  /** @defaultValue silentLogger */
  log?: Logger;
}

/** A sink that appends each stream's documents to `<dir>/<stream>.ndjson`; writes to one file never interleave. */
export function createFileSink(
  rawConfig: FileSinkConfigInput | FileSinkConfig,
  deps: FileSinkDeps = {},
): Sink {
  const config = parseSinkConfig(fileSinkConfigSchema, rawConfig, "file");
  const log = (deps.log ?? silentLogger).child({ sink: "file" });
  const dir = resolve(config.dir);
  const handles = new Map<string, Promise<FileHandle>>();
  const tails = new Map<string, Promise<unknown>>();

  function handleFor(path: string): Promise<FileHandle> {
    let h = handles.get(path);
    if (!h) {
      h = mkdir(dir, { recursive: true }).then(() => open(path, "a"));
      handles.set(path, h);
      h.catch(() => handles.delete(path));
    }
    return h;
  }

  async function write(stream: string, docs: EcsDocument[]): Promise<SinkResult> {
    if (!STREAM_NAME.test(stream))
      throw new PermanentError(
        `writing to file sink: stream name ${JSON.stringify(stream)} is not a safe file name`,
      );
    const path = join(dir, `${stream}.ndjson`);
    // One writer per file at a time: chain on the previous write, whatever its outcome.
    const previous = tails.get(path) ?? Promise.resolve();
    const run = previous
      .catch(() => undefined)
      .then(async () => writeLines(await handleFor(path), docs, config.chunkBytes));
    tails.set(path, run);
    try {
      await run;
    } catch (error) {
      throw wrapError(`appending ${docs.length} documents to ${path}`, error);
    } finally {
      if (tails.get(path) === run) tails.delete(path);
    }
    log.debug({ stream, path, delivered: docs.length }, "Appended documents to file.");
    return { delivered: docs.length, duplicates: 0, deadLettered: [] };
  }

  return {
    name: "file",
    write,
    async close() {
      await Promise.allSettled(tails.values());
      const all = await Promise.allSettled(handles.values());
      handles.clear();
      for (const h of all) if (h.status === "fulfilled") await h.value.close();
    },
  };
}
