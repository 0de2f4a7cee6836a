import { mkdirSync, readdirSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import type { StepResult } from "./open-loop.ts";
import { OUT_DIR, type ScenarioResult } from "./result.ts";
import { scenarioFile } from "./scenarios.ts";

const PERF_DIR = new URL("../", import.meta.url).pathname;
const CHART_DIR = `${PERF_DIR}charts/`;

async function readResults(): Promise<Map<string, ScenarioResult>> {
  const results = new Map<string, ScenarioResult>();
  for (const file of readdirSync(OUT_DIR).filter((f) => f.endsWith(".json"))) {
    const data = (await Bun.file(`${OUT_DIR}${file}`).json()) as Partial<ScenarioResult>;
    if (data.name && Array.isArray(data.rows)) results.set(data.name, data as ScenarioResult);
  }
  return results;
}

function table(result: ScenarioResult): string {
  const lines = ["| metric | ours | document | threshold | |", "|---|---:|---:|---|---|"];
  for (const row of result.rows) {
    const verdict = row.pass === undefined ? "" : row.pass ? "pass" : "**fail**";
    lines.push(
      `| ${row.metric} | ${row.ours} | ${row.document ?? ""} | ${row.threshold ?? ""} | ${verdict} |`,
    );
  }
  return lines.join("\n");
}

interface Series {
  label: string;
  color: string;
  points: [number, number][];
}

/** A small dependency-free line chart: latency percentiles against offered load. */
export function latencyChart(title: string, steps: StepResult[]): string {
  const sorted = [...steps].sort((a, b) => a.rate - b.rate);
  const series: Series[] = [
    { label: "p50", color: "#2b8a3e", points: sorted.map((s) => [s.rate, s.p50]) },
    { label: "p95", color: "#e67700", points: sorted.map((s) => [s.rate, s.p95]) },
    { label: "p99", color: "#c92a2a", points: sorted.map((s) => [s.rate, s.p99]) },
  ];
  const width = 640;
  const height = 360;
  const pad = { left: 60, right: 20, top: 40, bottom: 50 };
  const maxX = Math.max(1, ...sorted.map((s) => s.rate));
  const maxY = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[1])));
  // Log scale on latency: sub-millisecond medians and second-long tails share one chart.
  const minY = 0.05;
  const y = (v: number) =>
    pad.top +
    (height - pad.top - pad.bottom) *
      (1 - Math.log10(Math.max(v, minY) / minY) / Math.log10(maxY / minY || 10));
  const x = (v: number) => pad.left + ((width - pad.left - pad.right) * v) / maxX;
  const ticks = [0.1, 1, 10, 100, 1000, 10000].filter((t) => t <= maxY * 1.01);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11" role="img">`,
    `<title>${title}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${title}</text>`,
    `<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#333"/>`,
    `<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#333"/>`,
    `<text x="${width / 2}" y="${height - 12}" text-anchor="middle">offered load (requests/s)</text>`,
    `<text x="14" y="${height / 2}" transform="rotate(-90 14 ${height / 2})" text-anchor="middle">latency (ms, log)</text>`,
  ];
  for (const t of ticks) {
    parts.push(`<line x1="${pad.left}" y1="${y(t)}" x2="${width - pad.right}" y2="${y(t)}" stroke="#eee"/>`);
    parts.push(`<text x="${pad.left - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  }
  for (const s of sorted) {
    parts.push(
      `<text x="${x(s.rate)}" y="${height - pad.bottom + 16}" text-anchor="middle">${s.rate}</text>`,
    );
  }
  series.forEach((s, i) => {
    const path = s.points
      .map(([px, py], j) => `${j === 0 ? "M" : "L"}${x(px).toFixed(1)},${y(py).toFixed(1)}`)
      .join(" ");
    parts.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const [px, py] of s.points)
      parts.push(`<circle cx="${x(px)}" cy="${y(py)}" r="3" fill="${s.color}"/>`);
    parts.push(`<rect x="${width - 110}" y="${pad.top + i * 16}" width="10" height="10" fill="${s.color}"/>`);
    parts.push(`<text x="${width - 95}" y="${pad.top + i * 16 + 9}">${s.label}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** Writes perf/RESULTS.md and perf/charts/*.svg from the results in perf/out. */
export async function writeReport(): Promise<string> {
  const results = await readResults();
  mkdirSync(CHART_DIR, { recursive: true });
  const sections: string[] = [
    "# SLA results",
    "",
    `Report written ${new Date().toISOString()} from the latest result of each scenario, Bun ${Bun.version}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB.`,
    "Each service ran in its own process against the real PostgreSQL 15 and Redis 7 on this machine and",
    "librdkafka's mock Kafka cluster (3 brokers) in another process; the open-loop load generator ran in a",
    "third, on the same 2 cores. The document's environment was a 3-node, 24-core cluster, so our figures",
    "are from a far smaller machine. `document` is the SLA document's own measured figure; `threshold` is",
    "the SLA the row is judged by. Produced by `bun run perf all`.",
    "",
  ];
  const byService = new Map<string, ScenarioResult[]>();
  for (const s of scenarioFile.scenarios) {
    const result = results.get(s.name);
    const key = s.service;
    byService.set(key, [...(byService.get(key) ?? []), ...(result ? [result] : [])]);
    if (!result) sections.push(`- ${s.name}: not run in the latest run`);
  }
  for (const [service, list] of byService) {
    if (list.length === 0) continue;
    sections.push("", `## ${service}`, "");
    const steps = list
      .filter((r) => r.kind === "load" || r.kind === "workflow")
      .flatMap((r) => r.steps ?? []);
    if (steps.length > 1) {
      const chart = `${service}.svg`;
      await Bun.write(`${CHART_DIR}${chart}`, latencyChart(`${service}: latency against load`, steps));
      sections.push(`![${service} latency against load](charts/${chart})`, "");
    }
    for (const result of list) {
      sections.push(
        `### ${result.name} — ${result.passed ? "pass" : "FAIL"}`,
        "",
        `Run at ${result.startedAt}. Conditions: ${result.conditions}.`,
        "",
      );
      sections.push(table(result), "");
      if (result.reconciliation) {
        sections.push(
          `Reconciliation: ${result.reconciliation}${result.reconciled === false ? " — **void: counts do not match**" : ""}.`,
          "",
        );
      }
      for (const note of result.notes) sections.push(`Note: ${note}.`, "");
    }
  }
  // The capacity sweeps beyond the SLA's rates, when their benchmarks have been run.
  for (const bench of ["hook-receiver", "model-metrics", "workflow-coordinator"]) {
    const file = Bun.file(`${OUT_DIR}${bench}.md`);
    if (await file.exists()) sections.push("", (await file.text()).replace(/^## /m, "## Capacity: "));
  }
  const path = `${PERF_DIR}RESULTS.md`;
  await Bun.write(path, `${sections.join("\n")}\n`);
  return path;
}
