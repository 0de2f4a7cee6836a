import { percentile } from "../lib/open-loop.ts";
import type { ScenarioResult } from "../lib/result.ts";
import type { Scenario } from "../lib/scenarios.ts";
import { startStack } from "../lib/stack.ts";
import { inferBatchBody } from "../lib/workloads.ts";
import { round } from "./load.ts";

/** Batches of 100 built-in inferences, one after another, each timed end to end. */
export async function runBatch(s: Scenario): Promise<ScenarioResult> {
  const stack = await startStack(["model-metrics"]);
  const base = stack.urls["model-metrics"]!;
  const headers = { "content-type": "application/json", "x-api-key": stack.apiKey };
  const items = s.items ?? 100;
  const durations: number[] = [];
  let failedItems = 0;
  try {
    for (let b = 0; b < (s.batches ?? 5); b++) {
      const started = performance.now();
      const res = await fetch(`${base}/api/v1/model-metrics/infer/batch`, {
        method: "POST",
        headers,
        body: inferBatchBody(items),
      });
      const body = (await res.json()) as { failed?: number };
      durations.push((performance.now() - started) / 1000);
      failedItems += res.status === 200 ? (body.failed ?? 0) : items;
    }
    durations.sort((a, b) => a - b);
    const limit = s.sla?.batch_s ?? 30;
    const worst = durations[durations.length - 1] ?? Number.NaN;
    return {
      name: s.name,
      service: "model-metrics",
      kind: s.kind,
      startedAt: new Date().toISOString(),
      conditions: `${durations.length} batches of ${items} built-in inferences (sentiment, entities, keywords), concurrency 10`,
      rows: [
        {
          metric: "Batch time P50 (s)",
          ours: round(percentile(durations, 50)),
          document: s.document.light_s,
        },
        {
          metric: "Batch time max (s)",
          ours: round(worst),
          document: s.document.heavy_s,
          threshold: `< ${limit}`,
          pass: worst < limit,
        },
        { metric: "Failed items", ours: failedItems, pass: failedItems === 0 },
      ],
      reconciled: null,
      passed: worst < limit && failedItems === 0,
      notes: ["the document's light/medium/heavy batch times are shown beside our median and worst"],
    };
  } finally {
    await stack.stop();
  }
}
