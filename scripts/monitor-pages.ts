/**
 * Files derived from the monitor registry (`monitors/index.ts`), written by `npm run docs` with the
 * other reference pages and checked by `test/unit/reference-docs.test.ts`:
 * - the Elastic package's `vendor.yml` per data stream (and the latest-device transform): one
 *   `flattened` field per monitor whose documents land in that stream;
 * - the monitors × streams table of the README and the connectors table of docs/connectors.md,
 *   between `<!-- monitors:begin -->` and `<!-- monitors:end -->` markers (the prose around them is
 *   written by hand).
 * Tables are laid out as biome formats Markdown, so `biome ci` and the staleness test agree.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import type { SiemStream } from "../mappings/stream.ts";
import { monitors } from "../monitors/index.ts";
import type { MonitorDefinition } from "../monitors/types.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const PACKAGE = "integrations/elastic/medsoc";

/** The `vendor.yml` of the Elastic package for one SIEM stream. */
export function vendorFieldsYaml(stream: SiemStream): string {
  const fields = monitors
    .filter((m) => m.siemStreams.includes(stream))
    .map((m) => ({
      name: m.namespace,
      type: "flattened",
      description: `The ${m.name} record, untouched (snake_case keys).`,
    }));
  return stringify(fields, { lineWidth: 0 });
}

/** A Markdown table laid out as biome formats it (columns padded to their widest cell). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) =>
    Math.max(3, [...h].length, ...rows.map((r) => [...(r[i] ?? "")].length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c + " ".repeat((widths[i] ?? 3) - [...c].length)).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const code = (s: string) => `\`${s}\``;

/** `device`, `alert` — or, when some streams are pushed, `asset` (pull), `event` (push). */
function streamsCell(m: MonitorDefinition): string {
  const all = Object.keys(m.mappings);
  const pushed = all.filter((s) => !m.pullStreams.includes(s));
  if (pushed.length === 0) return all.map(code).join(", ");
  return all.map((s) => `${code(s)} (${pushed.includes(s) ? "push" : "pull"})`).join(", ");
}

/** The README's monitors × streams table. */
export function readmeMonitorsTable(): string {
  return markdownTable(
    ["source id", "monitor", "streams", "how"],
    monitors.map((m) => [code(m.id), m.name, streamsCell(m), m.docs.how]),
  );
}

/** The connectors table of docs/connectors.md. */
export function connectorsTable(): string {
  return markdownTable(
    ["source id", "monitor", "streams", "auth", "paging and cursor"],
    monitors.map((m) => [code(m.id), m.name, streamsCell(m), m.docs.auth, m.docs.paging]),
  );
}

const BEGIN = "<!-- monitors:begin (generated from monitors/index.ts by `npm run docs`) -->";
const END = "<!-- monitors:end -->";

/** `text` with the generated section between the markers replaced by `section`. */
export function replaceSection(file: string, text: string, section: string): string {
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${file}: no "${BEGIN}" … "${END}" section`);
  return `${text.slice(0, a + BEGIN.length)}\n\n${section}\n\n${text.slice(b)}`;
}

function section(file: string, make: () => string): () => string {
  return () => replaceSection(file, readFileSync(join(ROOT, file), "utf8"), make());
}

/** Generated files, path → content. */
export const MONITOR_PAGES: Record<string, () => string> = {
  "README.md": section("README.md", readmeMonitorsTable),
  "docs/connectors.md": section("docs/connectors.md", connectorsTable),
  ...Object.fromEntries(
    (["device", "alert", "vulnerability", "event"] as const).map((s) => [
      `${PACKAGE}/data_stream/${s}/fields/vendor.yml`,
      () => vendorFieldsYaml(s),
    ]),
  ),
  // The latest-device transform holds device documents.
  [`${PACKAGE}/elasticsearch/transform/latest_device/fields/vendor.yml`]: () => vendorFieldsYaml("device"),
};
