/**
 * Model metrics scenarios: single inferences at fixed rates, and batches of 100.
 *
 *   k6 run -e SCENARIO=infer-medium -e API_KEY=... perf/k6/model-metrics.ts
 */
import exec from "k6/execution";
import http from "k6/http";
import { batchItemFailed, preflight, recordResponse, type SummaryData, summaryFiles } from "./lib/outcome.ts";
import { API_KEY, healthCall, inferBatchCall, inferCall, send } from "./lib/requests.ts";
import { type IterationTime, optionsFor, requestIterationTime, selectScenario } from "./lib/scenarios.ts";

const scenario = selectScenario("model-metrics", "infer-light");

function iterationTime(): IterationTime {
  if (scenario.request !== "infer-batch") return requestIterationTime(scenario);
  const batchS = scenario.sla?.batch_s ?? 30;
  // The document's alert level is four times the per-batch target.
  return { typical_s: batchS, worst_s: 4 * batchS };
}

export const options = optionsFor(scenario, iterationTime());

http.setResponseCallback(http.expectedStatuses(200));

export function setup(): void {
  preflight(send(healthCall("model-metrics")).status, "model-metrics", API_KEY);
}

interface BatchBody {
  results?: { ok: boolean }[];
}

export default function (): void {
  const seq = exec.scenario.iterationInTest;
  if (scenario.request !== "infer-batch") {
    recordResponse(send(inferCall(seq)), [200]);
    return;
  }
  const res = send(inferBatchCall(scenario, seq));
  if (!recordResponse(res, [200])) {
    // A failed batch fails every item in it.
    for (let i = 0; i < (scenario.items ?? 100); i++) batchItemFailed.add(true);
    return;
  }
  // 200 with per-item errors is still a partial failure the SLA's error rate has to see.
  const body = res.json() as unknown as BatchBody;
  for (const result of body.results ?? []) batchItemFailed.add(!result.ok);
}

export function handleSummary(data: SummaryData): Record<string, string> {
  return summaryFiles(scenario, data);
}
