/**
 * The advisory store file (format `medsoc-advisories/1`): where it is, reading it (or the shipped
 * snapshot when there is none) and writing it atomically. Kept apart from `medsoc advisories import`
 * (worker/commands/advisories.ts), whose CSAF validator is large, so the workers load only this.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { AdvisoryIndex } from "./match.ts";
import {
  type AdvisoryStore,
  defaultAdvisoryIndex,
  indexOfStore,
  parseStore,
  snapshotStore,
} from "./store.ts";

/** The store path: `$MEDSOC_ADVISORY_STORE`, else `~/.medsoc/advisories.json`. */
export function defaultStorePath(): string {
  return process.env.MEDSOC_ADVISORY_STORE ?? path.join(os.homedir(), ".medsoc", "advisories.json");
}

/** The advisory index of the store file, or the shipped snapshot's (built once per process). */
export async function loadAdvisoryIndex(file?: string): Promise<AdvisoryIndex> {
  const { store, from } = await loadAdvisoryStore(file);
  return from === "snapshot" ? defaultAdvisoryIndex() : indexOfStore(store);
}

/** Loads the store file, or the shipped snapshot when the file does not exist. */
export async function loadAdvisoryStore(
  file = defaultStorePath(),
): Promise<{ store: AdvisoryStore; from: string }> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      return { store: snapshotStore(), from: "snapshot" };
    throw new Error(`reading advisory store ${file}: ${(error as Error).message}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`reading advisory store ${file}: ${(error as Error).message}`, { cause: error });
  }
  return { store: parseStore(json, file), from: file };
}

/** Writes the store atomically (temporary file + rename). */
export async function writeAdvisoryStore(file: string, store: AdvisoryStore): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(store)}\n`);
  await rename(tmp, file);
}
