/**
 * What every script records beyond k6's built-in metrics, and the end-of-test summary it writes.
 * All custom metrics are declared here, in every script, so that any threshold on them is valid
 * whichever script loads the scenario.
 */
import { check } from "k6";
import exec from "k6/execution";
import type { RefinedResponse, ResponseType } from "k6/http";
import { Rate, Trend } from "k6/metrics";
import { METRICS, type ScenarioDef } from "./scenarios.ts";

const shedWithoutRetryAfter = new Rate(METRICS.shedWithoutRetryAfter);
const timeouts = new Rate(METRICS.timeouts);
export const workflowExecution = new Trend(METRICS.workflowExecution, true);
export const workflowFailed = new Rate(METRICS.workflowFailed);
export const batchItemFailed = new Rate(METRICS.batchItemFailed);

/** Setup or abort: a run against a service that is down or without a key measures nothing. */
export function preflight(healthStatus: number, what: string, apiKey: string): void {
  if (apiKey === "") exec.test.abort("set the API key: k6 run -e API_KEY=... (the services' API_KEYS)");
  if (healthStatus !== 200) exec.test.abort(`${what} /health answered ${healthStatus}; is it running?`);
}

/**
 * Checks the status and records the two contract metrics. Every response adds a sample, so the
 * rates exist (and their `==0` thresholds are evaluated) even in a run that shed nothing.
 */
export function recordResponse(
  res: RefinedResponse<ResponseType | undefined>,
  okStatuses: number[],
): boolean {
  const shed = res.status === 503 || res.status === 429;
  const retryAfter = res.headers["Retry-After"] !== undefined;
  shedWithoutRetryAfter.add(shed && !retryAfter);
  timeouts.add(res.error_code === 1050); // k6's code for a request that hit its timeout
  const ok = check(res, { [`status ${okStatuses.join(" or ")}`]: (r) => okStatuses.includes(r.status) });
  if (shed) check(res, { "shed with Retry-After": () => retryAfter });
  return ok;
}

// ---- summary ----------------------------------------------------------------------------------

interface SummaryMetric {
  type: "counter" | "gauge" | "rate" | "trend";
  contains: "default" | "time" | "data";
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

export interface SummaryData {
  metrics: Record<string, SummaryMetric>;
  state?: { testRunDurationMs?: number };
  [other: string]: unknown;
}

const OUT_DIR = __ENV.OUT_DIR || "perf/out";

function formatValue(metric: SummaryMetric, key: string, value: number): string {
  if (metric.type === "rate") return `${(value * 100).toFixed(3)}%`;
  if (metric.contains === "time" && key !== "count") return `${value.toFixed(1)}ms`;
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

/** One line per threshold, so a failed run says which SLA row it broke. */
function thresholdReport(scenario: ScenarioDef, data: SummaryData): string {
  const ms = data.state?.testRunDurationMs ?? 0;
  const lines = [`scenario ${scenario.name} (${scenario.service}), ${(ms / 1000).toFixed(1)}s`];
  let failed = 0;
  for (const [name, metric] of Object.entries(data.metrics)) {
    for (const [expression, result] of Object.entries(metric.thresholds ?? {})) {
      if (!result.ok) failed++;
      const key = expression.split(/[<>=!]/)[0] ?? "";
      const actual = metric.values[key];
      const shown = actual === undefined ? "" : ` (actual ${formatValue(metric, key, actual)})`;
      lines.push(`  ${result.ok ? "ok    " : "FAILED"} ${name}: ${expression}${shown}`);
    }
  }
  for (const name of ["http_reqs", "iterations", "dropped_iterations", "vus_max"]) {
    const metric = data.metrics[name];
    if (metric) {
      const parts = Object.entries(metric.values).map(([k, v]) => `${k}=${formatValue(metric, k, v)}`);
      lines.push(`  ${name}: ${parts.join(" ")}`);
    }
  }
  lines.push(failed === 0 ? "all thresholds passed" : `${failed} threshold(s) failed: k6 exits 99`);
  return `${lines.join("\n")}\n`;
}

/**
 * handleSummary's files: k6's own summary data with the scenario definition beside it, so the
 * report can put the figures next to the document's without re-reading the scenario file.
 */
export function summaryFiles(scenario: ScenarioDef, data: SummaryData): Record<string, string> {
  return {
    stdout: thresholdReport(scenario, data),
    [`${OUT_DIR}/k6-${scenario.name}.json`]: JSON.stringify({ scenario, k6: data }, null, 2),
  };
}
