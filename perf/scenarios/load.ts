import { runStep, type StepResult } from "../lib/open-loop.ts";
import { reconcileHooks, topicRecords, waitForWorkflows } from "../lib/reconcile.ts";
import { below, errorRate, type ResultRow, type ScenarioResult } from "../lib/result.ts";
import { type Scenario, slaFor } from "../lib/scenarios.ts";
import { type ServiceName, startStack } from "../lib/stack.ts";
import { executeBody, hookBody, inferBody, simpleWorkflow } from "../lib/workloads.ts";

export interface RunOptions {
  /** Fraction of the document's duration each fixed-rate scenario runs for. */
  scale: number;
}

/** Latency rows in the order of the document's tables: p50, p95, p99 and the error rate. */
export function latencyRows(step: StepResult, s: Scenario): ResultRow[] {
  const sla = slaFor(s);
  const rate = errorRate(step);
  return [
    { metric: "P50 (ms)", ours: round(step.p50), document: s.document.p50_ms },
    {
      metric: "P95 (ms)",
      ours: round(step.p95),
      document: s.document.p95_ms,
      threshold: `< ${sla.p95_ms}`,
      pass: below(step.p95, sla.p95_ms),
    },
    {
      metric: "P99 (ms)",
      ours: round(step.p99),
      document: s.document.p99_ms,
      threshold: `< ${sla.p99_ms}`,
      pass: below(step.p99, sla.p99_ms),
    },
    {
      metric: "Error rate",
      ours: percent(rate),
      document: s.document.error_rate === undefined ? undefined : percent(s.document.error_rate),
      threshold: sla.error_rate === undefined ? undefined : `< ${percent(sla.error_rate)}`,
      pass: below(rate, sla.error_rate === undefined ? undefined : sla.error_rate + Number.EPSILON),
    },
    { metric: "Achieved RPS", ours: Math.round(step.achievedRps), document: s.rate },
  ];
}

export const round = (n: number) => Math.round(n * 100) / 100;
export const percent = (n: number) => `${(n * 100).toFixed(3)}%`;

const SERVICE_FOR: Record<string, ServiceName> = {
  hook: "hook-receiver",
  infer: "model-metrics",
  "workflow-status": "workflow-coordinator",
};

export async function runLoad(s: Scenario, options: RunOptions): Promise<ScenarioResult> {
  const service = SERVICE_FOR[s.request];
  if (!service || !s.rate || !s.duration_s) throw new Error(`scenario ${s.name} is not a fixed-rate load`);
  const stack = await startStack([service]);
  const base = stack.urls[service]!;
  const headers = { "content-type": "application/json", "x-api-key": stack.apiKey };
  const durationS = Math.max(5, Math.round(s.duration_s * options.scale));
  const notes: string[] = [];
  try {
    let makeRequest: (i: number) => Request;
    let recordsBefore = 0;
    if (s.request === "hook") {
      recordsBefore = await topicRecords(stack);
      makeRequest = (i) =>
        new Request(`${base}/api/v1/hooks/receive`, { method: "POST", headers, body: hookBody(i) });
    } else if (s.request === "infer") {
      makeRequest = (i) =>
        new Request(`${base}/api/v1/model-metrics/infer`, { method: "POST", headers, body: inferBody(i) });
    } else {
      // Status reads of finished runs: what a dashboard polling many workflows does.
      const ids: string[] = [];
      for (let i = 0; i < 200; i++) {
        const res = await fetch(`${base}/api/v1/workflows/execute`, {
          method: "POST",
          headers,
          body: executeBody(simpleWorkflow(5)),
        });
        ids.push(((await res.json()) as { workflow_id: string }).workflow_id);
      }
      await waitForWorkflows(stack, ids, 60_000);
      notes.push("status reads spread over 200 finished runs");
      makeRequest = (i) => new Request(`${base}/api/v1/workflows/${ids[i % ids.length]}/status`, { headers });
    }
    // A short warm-up so connection set-up and JIT are not billed to the first second.
    await runStep({ rate: Math.min(s.rate, 200), durationS: 2, makeRequest });
    const warmed = s.request === "hook" ? await topicRecords(stack) : 0;
    const step = await runStep({ rate: s.rate, durationS, makeRequest });
    const rows = latencyRows(step, s);

    let reconciled: boolean | null = null;
    let reconciliation: string | undefined;
    if (s.request === "hook") {
      const warmupAccepted = warmed - recordsBefore;
      const check = await reconcileHooks(stack, (step.statuses[202] ?? 0) + warmupAccepted, recordsBefore);
      reconciled = check.reconciled;
      reconciliation = `${check.text} (including ${warmupAccepted} warm-up hooks)`;
    }
    return {
      name: s.name,
      service,
      kind: s.kind,
      startedAt: new Date().toISOString(),
      conditions: `${s.rate} RPS open-loop for ${durationS} s (document: ${s.duration_s} s; scale ${options.scale}), service in its own process on real Postgres/Redis and the Kafka mock`,
      rows,
      steps: [step],
      reconciled,
      reconciliation,
      passed: rows.every((r) => r.pass !== false) && reconciled !== false,
      notes,
    };
  } finally {
    await stack.stop();
  }
}
