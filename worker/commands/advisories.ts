/**
 * `medsoc advisories import|list`: the local advisory store (`advisories.md`).
 *
 * The store is one JSON file (format `medsoc-advisories/1`: parsed advisories + the KEV catalog).
 * Path: `--store`, else `$MEDSOC_ADVISORY_STORE`, else `~/.medsoc/advisories.json`. When the file
 * does not exist, enrichment uses the snapshot shipped in `mappings/data/advisories-snapshot.json`,
 * and the first import starts from that snapshot, so the store is always a superset of it.
 *
 * `import` takes folders (searched recursively for `*.json`), single files and http(s) URLs: a CSAF
 * 2.0 advisory, a KEV catalog, a CSAF provider's `provider-metadata.json` (its ROLIE feeds and
 * directory `index.txt`) or a ROLIE feed. Every advisory is checked against its `.sha512` when one
 * lies beside a local file, validated (CSAF 2.0 schema + mandatory tests) and parsed; bad documents
 * are reported with the reason and the good ones are kept.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { request } from "undici";
import { JsonClient } from "../../connectors/http.ts";
import { statusLine } from "../../core/terminal.ts";
import {
  type Advisory,
  AdvisoryParseError,
  looksLikeCsaf,
  parseCsaf,
} from "../../mappings/advisories/csaf.ts";
import { type KevCatalog, looksLikeKev, parseKev } from "../../mappings/advisories/kev.ts";
import { type AdvisoryStore, type MergeReport, mergeIntoStore } from "../../mappings/advisories/store.ts";
import {
  defaultStorePath,
  loadAdvisoryIndex,
  loadAdvisoryStore,
  writeAdvisoryStore,
} from "../../mappings/advisories/store-file.ts";
import { validateCsaf } from "../../mappings/advisories/validate.ts";

export { defaultStorePath, loadAdvisoryIndex, loadAdvisoryStore, writeAdvisoryStore };

export interface ImportOptions {
  /** The store to merge into. */
  base: AdvisoryStore;
  /** HTTP client for URLs. @defaultValue a JsonClient with the default retry policy */
  client?: JsonClient;
  /** Most documents fetched at once from a feed. @defaultValue 4 */
  concurrency?: number;
  /** Called after each document (file or URL) is read and judged: for a progress display. */
  onProgress?: (progress: ImportProgress) => void;
}

export interface ImportProgress {
  /** Documents read and judged so far. */
  done: number;
  /** Documents known so far (folders, feeds and directory indexes add theirs as they are read). */
  total: number;
  accepted: number;
  rejected: number;
  /** The file or URL just judged. */
  current: string;
}

export interface ImportResult {
  store: AdvisoryStore;
  report: MergeReport;
  /** Each good document: where it came from and what it is. */
  accepted: { source: string; id: string }[];
  /** Each bad document, with the reason. Nothing of it entered the store. */
  rejected: { source: string; reason: string }[];
}

interface Collected {
  advisories: Advisory[];
  kev?: KevCatalog;
  accepted: ImportResult["accepted"];
  rejected: ImportResult["rejected"];
}

const isUrl = (s: string): boolean => /^https?:\/\//i.test(s);

/** `href` resolved against the document it was found in (relative links need an http(s) base). */
function resolveUrl(href: string, source: string): string {
  return isUrl(source) ? new URL(href, source).toString() : href;
}

async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function listJsonFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listJsonFiles(p)));
    else if (entry.isFile() && entry.name.endsWith(".json")) out.push(p);
  }
  return out.sort();
}

/** The `.sha512` beside a local file: `undefined` when there is none, else the verdict. */
async function checkSha512(file: string, bytes: Buffer): Promise<string | undefined> {
  let line: string;
  try {
    line = await readFile(`${file}.sha512`, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const expected = line.trim().split(/\s+/)[0]?.toLowerCase() ?? "";
  const actual = createHash("sha512").update(bytes).digest("hex");
  return expected === actual ? undefined : `SHA-512 mismatch with ${path.basename(file)}.sha512`;
}

class Importer {
  readonly #out: Collected = { advisories: [], accepted: [], rejected: [] };
  #client: JsonClient | undefined;
  #planned = 0;
  #done = 0;

  constructor(private readonly opts: ImportOptions) {
    this.#client = opts.client;
  }

  get result(): Collected {
    return this.#out;
  }

  #http(): JsonClient {
    this.#client ??= new JsonClient({ component: "advisories", timeoutMs: 30_000 });
    return this.#client;
  }

  reject(source: string, reason: string): void {
    this.#out.rejected.push({ source, reason });
  }

  /** `n` more documents to read (progress total). */
  #plan(n: number): void {
    this.#planned += n;
  }

  /** One document read and judged (progress). */
  #judged(current: string): void {
    this.#done++;
    this.opts.onProgress?.({
      done: this.#done,
      total: Math.max(this.#planned, this.#done),
      accepted: this.#out.accepted.length,
      rejected: this.#out.rejected.length,
      current,
    });
  }

  async source(src: string): Promise<void> {
    if (isUrl(src)) {
      this.#plan(1);
      return this.url(src);
    }
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(src);
    } catch (error) {
      return this.reject(src, `cannot read: ${(error as Error).message}`);
    }
    if (info.isDirectory()) {
      const files = await listJsonFiles(src);
      if (files.length === 0) return this.reject(src, "folder holds no .json file");
      this.#plan(files.length);
      for (const f of files) await this.file(f);
      return;
    }
    this.#plan(1);
    return this.file(src);
  }

  async file(file: string): Promise<void> {
    try {
      await this.#file(file);
    } finally {
      this.#judged(file);
    }
  }

  async #file(file: string): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      return this.reject(file, `cannot read: ${(error as Error).message}`);
    }
    const mismatch = await checkSha512(file, bytes);
    if (mismatch !== undefined) return this.reject(file, mismatch);
    let doc: unknown;
    try {
      doc = JSON.parse(bytes.toString("utf8"));
    } catch (error) {
      return this.reject(file, `malformed JSON: ${(error as Error).message}`);
    }
    return this.document(file, doc);
  }

  async url(url: string): Promise<void> {
    try {
      await this.#url(url);
    } finally {
      this.#judged(url);
    }
  }

  async #url(url: string): Promise<void> {
    let body: unknown;
    try {
      body = (await this.#http().send({ method: "GET", url, context: `fetching ${url}` })).body;
    } catch (error) {
      return this.reject(url, (error as Error).message);
    }
    return this.document(url, body);
  }

  async document(source: string, doc: unknown): Promise<void> {
    if (looksLikeCsaf(doc)) return this.csaf(source, doc);
    if (looksLikeKev(doc)) return this.kev(source, doc);
    const o = doc as Record<string, unknown> | null;
    if (o !== null && typeof o === "object" && typeof o.feed === "object" && o.feed !== null) {
      return this.feed(source, o.feed as Record<string, unknown>);
    }
    if (o !== null && typeof o === "object" && Array.isArray(o.distributions)) {
      return this.providerMetadata(source, o.distributions);
    }
    return this.reject(
      source,
      "neither a CSAF document, a KEV catalog, a ROLIE feed nor CSAF provider metadata",
    );
  }

  async csaf(source: string, doc: unknown): Promise<void> {
    const check = await validateCsaf(doc);
    if (!check.valid) return this.reject(source, `invalid CSAF 2.0: ${check.errors.slice(0, 3).join("; ")}`);
    try {
      const advisory = parseCsaf(doc);
      this.#out.advisories.push(advisory);
      this.#out.accepted.push({ source, id: advisory.id });
    } catch (error) {
      if (error instanceof AdvisoryParseError)
        return this.reject(source, `unreadable CSAF: ${error.message}`);
      throw error;
    }
  }

  async kev(source: string, doc: unknown): Promise<void> {
    try {
      const kev = parseKev(doc);
      if (this.#out.kev === undefined || kev.dateReleased >= this.#out.kev.dateReleased) this.#out.kev = kev;
      this.#out.accepted.push({ source, id: `KEV ${kev.catalogVersion} (${kev.entries.length} entries)` });
    } catch (error) {
      this.reject(source, (error as Error).message);
    }
  }

  /** ROLIE feed: every entry's CSAF document (`content.src`, else the `self` link). */
  async feed(source: string, feed: Record<string, unknown>): Promise<void> {
    const entries = Array.isArray(feed.entry) ? feed.entry : [];
    const urls: string[] = [];
    for (const e of entries as Record<string, unknown>[]) {
      const content = e?.content as Record<string, unknown> | undefined;
      const links = Array.isArray(e?.link) ? (e.link as Record<string, unknown>[]) : [];
      const self = links.find((l) => l?.rel === "self")?.href;
      const href =
        typeof content?.src === "string" ? content.src : typeof self === "string" ? self : undefined;
      if (href === undefined) this.reject(source, "ROLIE entry without content.src or self link");
      else urls.push(resolveUrl(href, source));
    }
    if (urls.length === 0) return this.reject(source, "ROLIE feed has no entries");
    this.#plan(urls.length);
    await pool(urls, this.opts.concurrency ?? 4, (u) => this.url(u));
  }

  /** Provider metadata: each distribution's ROLIE feeds and directory `index.txt`. */
  async providerMetadata(source: string, distributions: unknown[]): Promise<void> {
    let found = 0;
    for (const d of distributions as Record<string, unknown>[]) {
      const rolie = d?.rolie as Record<string, unknown> | undefined;
      for (const f of Array.isArray(rolie?.feeds) ? (rolie.feeds as Record<string, unknown>[]) : []) {
        if (typeof f?.url === "string") {
          found++;
          this.#plan(1);
          await this.url(resolveUrl(f.url, source));
        }
      }
      if (typeof d?.directory_url === "string") {
        found++;
        await this.directory(resolveUrl(d.directory_url, source));
      }
    }
    if (found === 0) this.reject(source, "provider metadata lists no ROLIE feed and no directory");
  }

  async directory(dirUrl: string): Promise<void> {
    const base = dirUrl.endsWith("/") ? dirUrl : `${dirUrl}/`;
    let text: string;
    try {
      const res = await request(new URL("index.txt", base), { headersTimeout: 30_000, bodyTimeout: 30_000 });
      text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
    } catch (error) {
      return this.reject(`${base}index.txt`, `fetching: ${(error as Error).message}`);
    }
    const urls = text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.endsWith(".json"))
      .map((l) => new URL(l, base).toString());
    this.#plan(urls.length);
    await pool(urls, this.opts.concurrency ?? 4, (u) => this.url(u));
  }
}

/** Imports every source into a copy of `opts.base`. Never throws for a bad document. */
export async function importAdvisories(
  sources: readonly string[],
  opts: ImportOptions,
): Promise<ImportResult> {
  const importer = new Importer(opts);
  for (const s of sources) await importer.source(s);
  const got = importer.result;
  const { store, report } = mergeIntoStore(opts.base, {
    advisories: got.advisories,
    kev: got.kev,
    source: got.accepted.length > 0 ? sources.join(", ") : undefined,
  });
  return { store, report, accepted: got.accepted, rejected: got.rejected };
}

/** One line per advisory, for `medsoc advisories list`. */
export function formatStore(store: AdvisoryStore, from: string): string {
  const lines = [`advisory store: ${from === "snapshot" ? "shipped snapshot (no local store yet)" : from}`];
  for (const a of store.advisories) {
    const cves = new Set(a.vulnerabilities.map((v) => v.cve).filter((c) => c !== undefined));
    let max: number | undefined;
    for (const v of a.vulnerabilities)
      for (const s of v.scores) if (max === undefined || s.base > max) max = s.base;
    const warn = a.warnings.length > 0 ? `  [${a.warnings.map((w) => w.split(":")[0]).join(", ")}]` : "";
    lines.push(
      `${a.id.padEnd(18)} v${a.version.padEnd(4)} ${a.currentReleaseDate.slice(0, 10)}  ${String(cves.size).padStart(2)} CVE  max CVSS ${max ?? "-"}  ${a.products.length} products  ${a.title}${warn}`,
    );
  }
  lines.push(
    store.kev === undefined
      ? "KEV: none"
      : `KEV: catalog ${store.kev.catalogVersion}, ${store.kev.entries.length} entries (catalog declares ${store.kev.declaredCount})`,
  );
  return `${lines.join("\n")}\n`;
}

/** `medsoc advisories import <source...>` (declared in worker/cli/advisories.ts). */
export async function advisoriesImportAction(sources: string[], opts: { store?: string }): Promise<void> {
  const file = opts.store ?? defaultStorePath();
  const { store } = await loadAdvisoryStore(file);
  // On a terminal, a status line while documents are read and validated (a feed can hold hundreds).
  const status = statusLine(process.stderr);
  const result = await importAdvisories(sources, {
    base: store,
    onProgress: status
      ? (p) =>
          status.update(
            `importing advisories · ${p.done}/${p.total} documents · ${p.accepted} accepted · ${p.rejected} rejected · ${path.basename(p.current)}`,
          )
      : undefined,
  }).finally(() => status?.stop());
  for (const a of result.accepted) process.stdout.write(`accepted ${a.id}  ${a.source}\n`);
  for (const r of result.rejected) process.stderr.write(`rejected ${r.source}: ${r.reason}\n`);
  const { added, replaced, kept, kev } = result.report;
  process.stdout.write(
    `${added.length} added, ${replaced.length} replaced by a newer revision, ${kept.length} already current` +
      `${kev !== undefined ? `, KEV ${kev}` : ""}; ${result.rejected.length} rejected\n`,
  );
  if (result.accepted.length > 0) {
    await writeAdvisoryStore(file, result.store);
    process.stdout.write(`wrote ${file}: ${result.store.advisories.length} advisories\n`);
  }
  if (result.rejected.length > 0) process.exitCode = 1;
}

/** `medsoc advisories list`. */
export async function advisoriesListAction(opts: { store?: string; json?: boolean }): Promise<void> {
  const { store, from } = await loadAdvisoryStore(opts.store ?? defaultStorePath());
  process.stdout.write(opts.json ? `${JSON.stringify(store, null, 2)}\n` : formatStore(store, from));
}
