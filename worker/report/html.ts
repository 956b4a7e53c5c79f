/**
 * The posture report as one self-contained HTML file: charts are Vega-Lite specs compiled and
 * rendered to inline SVG on the server (vega's headless View, no canvas, no native module), so
 * the file has no script and no external resource and opens offline.
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { PostureReport, Share } from "./posture.ts";

const FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif";

async function svg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile({
    ...spec,
    config: { font: FONT, legend: { labelLimit: 300 }, ...(spec.config ?? {}) },
  } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );

const pct = (s: Share) => `${(s.share * 100).toFixed(1)}%`;

/** Renders the report. */
export async function renderPostureHtml(r: PostureReport): Promise<string> {
  const h = r.headline;
  const headline: [string, Share, string?][] = [
    ["Devices with ≥1 known vulnerability", h.vulnerable],
    [`Devices with a critical risk (score ≥ ${r.criticalRiskScore})`, h.criticalRisk],
    ["Infusion pumps among IoT devices", h.infusionPumps],
    ["Infusion pumps with a known vulnerability", h.infusionPumpsVulnerable],
    ["Devices on Windows older than 10", h.olderThanWindows10],
    ["Devices on an end-of-life OS", h.osEol],
    ["Devices with default or shared credentials", h.defaultOrSharedCredentials],
    ["Devices with hard-coded credentials", h.hardCodedCredentials, "need a compensating control"],
  ];
  const classChart = await svg({
    title: "Devices per class: vulnerable and not",
    width: 520,
    height: { step: 22 },
    data: {
      values: r.classes.flatMap((c) => [
        { class: c.class, status: "vulnerable", devices: c.vulnerable },
        { class: c.class, status: "no known vulnerability", devices: c.devices - c.vulnerable },
      ]),
    },
    mark: "bar",
    encoding: {
      y: { field: "class", type: "nominal", sort: "-x", title: null },
      x: { field: "devices", type: "quantitative", aggregate: "sum", title: "devices" },
      color: {
        field: "status",
        type: "nominal",
        scale: { domain: ["vulnerable", "no known vulnerability"], range: ["#c0392b", "#95a5a6"] },
        title: null,
      },
    },
  });
  const riskChart = await svg({
    title: `Risk score distribution (critical from ${r.criticalRiskScore})`,
    width: 520,
    height: 200,
    data: {
      values: r.riskHistogram.map((b) => ({
        band: `${b.from}–${b.to}`,
        devices: b.devices,
        critical: b.from >= r.criticalRiskScore ? "critical" : "below",
      })),
    },
    mark: "bar",
    encoding: {
      x: { field: "band", type: "ordinal", sort: null, title: "risk score" },
      y: { field: "devices", type: "quantitative" },
      color: {
        field: "critical",
        type: "nominal",
        scale: { domain: ["critical", "below"], range: ["#c0392b", "#2c7fb8"] },
        title: null,
      },
    },
  });
  const cveChart =
    r.topCves.length === 0
      ? ""
      : await svg({
          title: "Top CVEs by affected devices",
          width: 520,
          height: { step: 20 },
          data: {
            values: r.topCves.map((c) => ({ ...c, kev: c.knownExploited ? "known exploited" : "other" })),
          },
          mark: "bar",
          encoding: {
            y: { field: "id", type: "nominal", sort: "-x", title: null },
            x: { field: "devices", type: "quantitative" },
            color: {
              field: "kev",
              type: "nominal",
              scale: { domain: ["known exploited", "other"], range: ["#8e44ad", "#2c7fb8"] },
              title: null,
            },
          },
        });
  const rows = (cells: string[][]) =>
    cells.map((c) => `<tr>${c.map((x) => `<td>${escapeHtml(x)}</td>`).join("")}</tr>`).join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>medsoc posture report</title>
<style>
body{font-family:${FONT};margin:2rem;color:#222;max-width:1100px}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:.75rem}
.card{border:1px solid #ddd;border-radius:6px;padding:.75rem}.card b{font-size:1.6rem;display:block}
.card small{color:#666}table{border-collapse:collapse}td,th{padding:.25rem .6rem;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
.why{color:#555;font-size:.9em}
</style></head><body>
<h1>medsoc posture report</h1>
<p>${r.devices} devices (${r.multiSource} seen by several monitors, ${r.withConflicts} with conflicting facts) · generated ${escapeHtml(r.generatedAt)}</p>
<div class="cards">
${headline
  .map(
    ([label, s, note]) =>
      `<div class="card"><b>${pct(s)}</b>${escapeHtml(label)}<br><small>${s.count} of ${s.of}${note ? ` · ${escapeHtml(note)}` : ""}</small></div>`,
  )
  .join("\n")}
</div>
<h2>Most exposed device classes</h2>
${classChart}
<table><tr><th>class</th><th>devices</th><th>vulnerable</th><th>critical</th></tr>
${rows(r.classes.map((c) => [c.class, String(c.devices), `${c.vulnerable} (${(c.vulnerableShare * 100).toFixed(0)}%)`, String(c.critical)]))}
</table>
<h2>Risk</h2>
${riskChart}
<h2>Top advisories by affected devices</h2>
${r.topAdvisories.length === 0 ? "<p>No advisory matches in the device state.</p>" : `<table>${rows(r.topAdvisories.map((a) => [a.id, String(a.devices)]))}</table>`}
<h2>Top CVEs</h2>
${cveChart}
<h2>Known exploited vulnerabilities (KEV)</h2>
${r.kev.length === 0 ? "<p>No KEV hits.</p>" : `<table><tr><th>CVE</th><th>devices</th></tr>${rows(r.kev.map((k) => [k.id, String(k.devices)]))}</table>`}
<h2>Ten riskiest infusion pumps</h2>
<table><tr><th>#</th><th>score</th><th>device</th><th>where</th><th>why</th></tr>
${r.riskiestPumps
  .map(
    (p, i) =>
      `<tr><td>${i + 1}</td><td>${p.score}</td><td>${escapeHtml(p.name ?? p.key)}<br><small>${escapeHtml(p.model ?? "")}</small></td><td>${escapeHtml([p.site, p.ward].filter(Boolean).join(" / "))}</td><td class="why">${p.why.map(escapeHtml).join("<br>")}</td></tr>`,
  )
  .join("\n")}
</table>
</body></html>
`;
}
