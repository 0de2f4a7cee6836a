import { percentile, runStep } from "../lib/open-loop.ts";
import { waitForWorkflows } from "../lib/reconcile.ts";
import type { ScenarioResult } from "../lib/result.ts";
import type { Scenario } from "../lib/scenarios.ts";
import { startStack } from "../lib/stack.ts";
import { complexWorkflow, executeBody, simpleWorkflow } from "../lib/workloads.ts";
import { latencyRows, type RunOptions, round } from "./load.ts";

const TASK_DELAY_MS = 50;
const decoder = new TextDecoder();

/** Workflows started open-loop at the scenario's rate; every run must reach `completed`. */
export async function runWorkflows(s: Scenario, options: RunOptions): Promise<ScenarioResult> {
  if (!s.rate || !s.duration_s) throw new Error(`scenario ${s.name} has no rate`);
  const stack = await startStack(["workflow-coordinator"]);
  const base = stack.urls["workflow-coordinator"]!;
  const headers = { "content-type": "application/json", "x-api-key": stack.apiKey };
  const durationS = Math.max(5, Math.round(s.duration_s * options.scale));
  const body = executeBody(
    s.request === "workflow-complex" ? complexWorkflow(TASK_DELAY_MS) : simpleWorkflow(TASK_DELAY_MS),
  );
  const ids: string[] = [];
  try {
    const step = await runStep({
      rate: s.rate,
      durationS,
      makeRequest: (i) =>
        new Request(`${base}/api/v1/workflows/execute`, {
          method: "POST",
          headers,
          body: body.replace("perf-", `perf-${i}-`),
        }),
      onResponse: (res, raw) => {
        if (res.status === 202)
          ids.push((JSON.parse(decoder.decode(raw)) as { workflow_id: string }).workflow_id);
      },
    });
    const limitS = s.sla?.execution_s ?? 300;
    const outcomes = await waitForWorkflows(stack, ids, limitS * 1000);
    const completed = outcomes.filter((o) => o.status === "completed");
    const times = completed.map((o) => Number(o.execution_ms)).sort((a, b) => a - b);
    const started = step.statuses[202] ?? 0;
    const p = (q: number) => round(percentile(times, q) / 1000);
    const rows = [
      ...latencyRows(step, s).map((r) => ({ ...r, metric: `Start ${r.metric}`, document: undefined })),
      { metric: "Execution P50 (s)", ours: p(50), document: s.document.execution_p50_s },
      {
        metric: "Execution P95 (s)",
        ours: p(95),
        document: s.document.execution_p95_s,
        threshold: `< ${limitS}`,
        pass: p(95) < limitS,
      },
      { metric: "Execution P99 (s)", ours: p(99), document: s.document.execution_p99_s },
      {
        metric: "Runs completed",
        ours: `${completed.length} / ${started}`,
        pass: completed.length === started,
      },
    ];
    const tasks = s.tasks ?? 3;
    const criticalPathMs = s.request === "workflow-complex" ? 2 * TASK_DELAY_MS : 2 * TASK_DELAY_MS;
    return {
      name: s.name,
      service: "workflow-coordinator",
      kind: s.kind,
      startedAt: new Date().toISOString(),
      conditions: `${s.rate} starts/s for ${durationS} s (document: ${s.duration_s} s; scale ${options.scale}); ${tasks} tasks of delay ${TASK_DELAY_MS} ms and transform, critical path ${criticalPathMs} ms of delays`,
      rows,
      steps: [step],
      reconciled: completed.length === started && ids.length === started,
      reconciliation: `${started} started (202); ${completed.length} completed; ${outcomes.length - completed.length} not completed`,
      passed: rows.every((r) => r.pass !== false) && completed.length === started,
      notes: ["execution time is creation to completion as recorded in workflow_runs"],
    };
  } finally {
    await stack.stop();
  }
}
