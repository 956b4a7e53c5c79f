/**
 * `medsoc poll --source S --stream T [--config F] [--cursor-file F] [--page-size N]`: the
 * debugging and backfill tool. Fetches one stream from the live API until exhausted with exactly
 * the connector the workers use (`createConnector` from `monitors/index.ts`), prints raw vendor
 * records one JSON per line on stdout (logs go to stderr) and, with `--cursor-file`, starts from the
 * saved cursor and saves the new one after each page is written, so a second run prints only what
 * is new.
 */
import { once } from "node:events";
import { existsSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import type { Cursor } from "../../connectors/types.ts";
import { PermanentError } from "../../core/errors.ts";
import { createLogger, type Logger } from "../../core/log.ts";
import { createConnector } from "../../monitors/index.ts";
import { loadConfigFile } from "../config.ts";
import { componentSchemas } from "../run.ts";

export interface PollCommandOptions {
  /** Source instance name or connector type, as in `sources[]` of the config. */
  source: string;
  stream: string;
  /** A medsoc.yaml holding the source's settings. @defaultValue `$MEDSOC_CONFIG`, then `./medsoc.yaml` */
  configFile?: string;
  /** JSON cursor file: read at start (missing = from the beginning), rewritten after each page. */
  cursorFile?: string;
  pageSize?: number;
  output: NodeJS.WritableStream;
  log: Logger;
  signal?: AbortSignal;
}

/** The poll finished (or was interrupted between pages). */
export interface PollCommandResult {
  records: number;
  pages: number;
  cursor: Cursor | null;
}

function configFileFor(given: string | undefined): string {
  if (given) return given;
  const candidates = [process.env.MEDSOC_CONFIG, "medsoc.yaml"].filter((f): f is string => Boolean(f));
  const found = candidates.find((f) => existsSync(f));
  if (!found)
    throw new PermanentError(
      "poll: no configuration: pass --config FILE (a medsoc.yaml with a sources[] entry for the source), set MEDSOC_CONFIG, or put medsoc.yaml in the current folder; `medsoc simulate hospital` prints one for the simulators",
    );
  return found;
}

/** Reads a cursor file; a missing file means "from the beginning". */
export async function readCursorFile(file: string): Promise<Cursor | null> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new PermanentError(`poll: reading cursor file ${file}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PermanentError(`poll: cursor file ${file} is not JSON: ${(error as Error).message}`);
  }
  const c = value as Partial<Cursor> | null;
  if (
    !c ||
    typeof c !== "object" ||
    !(c.timestamp === null || typeof c.timestamp === "string") ||
    !Array.isArray(c.idsAtTimestamp) ||
    !c.idsAtTimestamp.every((id) => typeof id === "string")
  )
    throw new PermanentError(
      `poll: cursor file ${file} must hold {"timestamp": string|null, "idsAtTimestamp": string[]}`,
    );
  return { timestamp: c.timestamp, idsAtTimestamp: c.idsAtTimestamp };
}

/** Writes the cursor atomically (temporary file + rename), so an interrupted run never leaves half a file. */
export async function writeCursorFile(file: string, cursor: Cursor): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(cursor)}\n`);
  await rename(tmp, file);
}

export async function runPoll(opts: PollCommandOptions): Promise<PollCommandResult> {
  const file = configFileFor(opts.configFile);
  const config = await loadConfigFile(file, componentSchemas());
  const byName = config.sourceConfigs.find((s) => s.name === opts.source);
  const byType = config.sourceConfigs.filter((s) => s.type === opts.source);
  const entry = byName ?? (byType.length === 1 ? byType[0] : undefined);
  if (!entry)
    throw new PermanentError(
      byType.length > 1
        ? `poll: ${file} has ${byType.length} sources of type "${opts.source}"; name one of: ${byType.map((s) => s.name).join(", ")}`
        : `poll: ${file} has no source "${opts.source}" (configured: ${config.sourceConfigs.map((s) => s.name).join(", ") || "none"})`,
    );
  const connector = createConnector(entry.type, entry.config, {
    log: opts.log.child({ source: entry.name }),
  });
  try {
    if (!connector.streams.includes(opts.stream))
      throw new PermanentError(
        `poll: ${entry.type} has no stream "${opts.stream}" (known: ${connector.streams.join(", ")})`,
      );
    let cursor = opts.cursorFile ? await readCursorFile(opts.cursorFile) : null;
    let records = 0;
    let pages = 0;
    const out = opts.output;
    let outError: unknown;
    const onError = (error: unknown) => {
      outError ??= error;
    };
    out.on("error", onError);
    try {
      for await (const page of connector.poll(opts.stream, cursor, {
        pageSize: opts.pageSize,
        signal: opts.signal,
      })) {
        pages++;
        if (page.records.length > 0) {
          const text = `${page.records.map((r) => JSON.stringify(r)).join("\n")}\n`;
          if (!out.write(text)) await once(out, "drain");
          if (outError) throw outError;
          records += page.records.length;
        }
        // Saved only after the page is written: an interrupted run repeats at most one page.
        if (opts.cursorFile) await writeCursorFile(opts.cursorFile, page.cursor);
        cursor = page.cursor;
        opts.log.info({ source: entry.name, stream: opts.stream, pages, records }, "Page written.");
        if (opts.signal?.aborted) break;
      }
    } catch (error) {
      if (error instanceof PermanentError && !error.message.startsWith("poll:")) {
        // A connector's permanent failure (401 after re-auth, 4xx) is a runtime failure (exit 1), not bad usage.
        throw new Error(`polling ${entry.name}/${opts.stream}: ${error.message}`, { cause: error });
      }
      throw error;
    } finally {
      out.off("error", onError);
    }
    opts.log.info({ source: entry.name, stream: opts.stream, pages, records }, "Poll finished.");
    return { records, pages, cursor };
  } finally {
    await connector.close();
  }
}

/** `medsoc poll` (declared in worker/cli/poll.ts): stops cleanly on SIGINT/SIGTERM. */
export async function pollAction(opts: {
  source: string;
  stream: string;
  config?: string;
  cursorFile?: string;
  pageSize?: number;
}): Promise<void> {
  const abort = new AbortController();
  const stop = () => abort.abort(new Error("interrupted"));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    await runPoll({
      source: opts.source,
      stream: opts.stream,
      configFile: opts.config,
      cursorFile: opts.cursorFile,
      pageSize: opts.pageSize,
      output: process.stdout,
      log: createLogger(),
      signal: abort.signal,
    });
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}
