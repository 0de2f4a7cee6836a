import { mkdirSync, writeFileSync } from "node:fs";
import { percentile, runStep, type StepResult } from "../lib/open-loop.ts";
import { rssMiB } from "../lib/processes.ts";
import { reconcileHooks, topicRecords, waitForWorkflows } from "../lib/reconcile.ts";
import type { ResultRow, ScenarioResult } from "../lib/result.ts";
import type { Scenario } from "../lib/scenarios.ts";
import { startStack } from "../lib/stack.ts";
import { complexWorkflow, executeBody, hookBody } from "../lib/workloads.ts";
import { percent, round } from "./load.ts";

export interface StressOptions {
  /** Wall-clock seconds a stress scenario runs for, in place of the document's 15 to 60 minutes. */
  seconds: number;
}

const SHED = new Set([429, 503]);

function scaleNote(s: Scenario, seconds: number): string {
  return `scaled to ${seconds} s from the document's ${s.duration_s} s (factor ${(seconds / (s.duration_s ?? seconds)).toFixed(3)}) to fit a 2-core machine`;
}

/** Webhook flood: 100 → 2000 RPS with 1–10 KB payloads; excess must be shed with Retry-After, never time out. */
export async function runFlood(s: Scenario, options: StressOptions): Promise<ScenarioResult> {
  const stack = await startStack(["hook-receiver"]);
  const base = stack.urls["hook-receiver"]!;
  const headers = { "content-type": "application/json", "x-api-key": stack.apiKey };
  const rates = [100, 500, 1000, 1500, 2000].filter(
    (r) => r >= (s.ramp?.from ?? 100) && r <= (s.ramp?.to ?? 2000),
  );
  const stepSeconds = Math.max(3, Math.round(options.seconds / rates.length));
  const { min, max } = s.payload_bytes ?? { min: 1024, max: 10240 };
  let shedWithoutRetryAfter = 0;
  const steps: StepResult[] = [];
  try {
    const before = await topicRecords(stack);
    for (const rate of rates) {
      steps.push(
        await runStep({
          rate,
          durationS: stepSeconds,
          timeoutMs: 5000,
          isOk: (status) => status === 202,
          makeRequest: (i) =>
            new Request(`${base}/api/v1/hooks/receive`, {
              method: "POST",
              headers,
              body: hookBody(i, min + ((i * 7919) % (max - min))),
            }),
          onResponse: (res) => {
            if (SHED.has(res.status) && !res.headers.get("retry-after")) shedWithoutRetryAfter++;
          },
        }),
      );
    }
    const alive = stack.processes["hook-receiver"]?.exitCode === null;
    const all = steps.flatMap((st) => [st]);
    const sent = all.reduce((n, st) => n + st.sent + st.dropped, 0);
    const accepted = all.reduce((n, st) => n + (st.statuses[202] ?? 0), 0);
    const shed = all.reduce((n, st) => n + (st.statuses[429] ?? 0) + (st.statuses[503] ?? 0), 0);
    const timeouts = all.reduce((n, st) => n + (st.statuses[0] ?? 0) + st.dropped, 0);
    const hardErrors = sent - accepted - shed;
    const worstP95 = Math.max(...all.map((st) => st.p95));
    const criteria = s.criteria ?? {};
    const check = await reconcileHooks(stack, accepted, before, true);
    const rows: ResultRow[] = [
      { metric: "Service alive at the end", ours: alive ? "yes" : "no", threshold: "no crash", pass: alive },
      {
        metric: "Worst step P95 (ms)",
        ours: round(worstP95),
        threshold: `< ${criteria.p95_ms}`,
        pass: worstP95 < Number(criteria.p95_ms),
      },
      {
        metric: "Errors (not 202, not shed)",
        ours: percent(hardErrors / sent),
        threshold: `< ${percent(Number(criteria.error_rate))}`,
        pass: hardErrors / sent < Number(criteria.error_rate),
      },
      { metric: "Shed (429/503)", ours: `${shed} (${percent(shed / sent)})` },
      {
        metric: "Shed without Retry-After",
        ours: shedWithoutRetryAfter,
        threshold: "0",
        pass: shedWithoutRetryAfter === 0,
      },
      { metric: "Timeouts", ours: timeouts, threshold: "0", pass: timeouts === 0 },
    ];
    return {
      name: s.name,
      service: "hook-receiver",
      kind: s.kind,
      startedAt: new Date().toISOString(),
      conditions: `steps of ${stepSeconds} s at ${rates.join(", ")} RPS with ${min}–${max} byte payloads; ${scaleNote(s, stepSeconds * rates.length)}`,
      rows,
      steps,
      reconciled: check.reconciled,
      reconciliation: check.text,
      passed: rows.every((r) => r.pass !== false) && check.reconciled,
      notes: [],
    };
  } finally {
    await stack.stop();
  }
}

async function openFds(pid: number): Promise<number> {
  const proc = Bun.spawnSync(["ls", `/proc/${pid}/fd`]);
  return proc.stdout.toString().split("\n").filter(Boolean).length;
}

/** Complex workflow storm: rounds of 100 concurrent 10-task workflows; all complete, nothing leaks. */
export async function runStorm(s: Scenario, options: StressOptions): Promise<ScenarioResult> {
  const stack = await startStack(["workflow-coordinator"]);
  const base = stack.urls["workflow-coordinator"]!;
  const pid = stack.processes["workflow-coordinator"]!.pid;
  const headers = { "content-type": "application/json", "x-api-key": stack.apiKey };
  const concurrent = s.concurrent ?? 100;
  try {
    // Baseline after one full round, so start-up allocation, JIT, the pool's lazily opened connections
    // and the clients' keep-alive sockets are not counted as a leak: a leak is growth across rounds.
    const warm = await startRound(base, headers, concurrent);
    await waitForWorkflows(stack, warm, 300_000);
    await Bun.sleep(2000);
    const baselineRss = await rssMiB(pid);
    const baselineFds = await openFds(pid);
    const deadline = Date.now() + options.seconds * 1000;
    const ids: string[] = [];
    const roundTimes: number[] = [];
    let peakRss = baselineRss;
    while (Date.now() < deadline) {
      const started = performance.now();
      const round_ = await startRound(base, headers, concurrent);
      await waitForWorkflows(stack, round_, 300_000);
      roundTimes.push((performance.now() - started) / 1000);
      ids.push(...round_);
      peakRss = Math.max(peakRss, await rssMiB(pid));
    }
    const outcomes = await waitForWorkflows(stack, ids, 60_000);
    const completed = outcomes.filter((o) => o.status === "completed");
    const times = completed.map((o) => Number(o.execution_ms) / 1000).sort((a, b) => a - b);
    await Bun.sleep(5000);
    const afterRss = await rssMiB(pid);
    const afterFds = await openFds(pid);
    const mean = times.reduce((a, b) => a + b, 0) / Math.max(1, times.length);
    const rssOk = afterRss <= baselineRss * 1.5 + 32;
    const fdsOk = afterFds <= baselineFds + 5;
    const rows: ResultRow[] = [
      {
        metric: "Workflows completed",
        ours: `${completed.length} / ${ids.length}`,
        threshold: "all",
        pass: completed.length === ids.length,
      },
      {
        metric: "Mean execution (s)",
        ours: round(mean),
        threshold: `< ${s.criteria?.mean_execution_s}`,
        pass: mean < Number(s.criteria?.mean_execution_s ?? 300),
      },
      { metric: "Execution P99 (s)", ours: round(percentile(times, 99)) },
      {
        metric: "RSS after round 1 → peak → after (MiB)",
        ours: `${baselineRss.toFixed(0)} → ${peakRss.toFixed(0)} → ${afterRss.toFixed(0)}`,
        threshold: "after ≤ 1.5 × baseline + 32",
        pass: rssOk,
      },
      {
        metric: "Open file descriptors after round 1 → after",
        ours: `${baselineFds} → ${afterFds}`,
        threshold: "≤ baseline + 5",
        pass: fdsOk,
      },
    ];
    return {
      name: s.name,
      service: "workflow-coordinator",
      kind: s.kind,
      startedAt: new Date().toISOString(),
      conditions: `${roundTimes.length} rounds of ${concurrent} concurrent 10-task workflows (3 parallel branches, 50 ms delays); ${scaleNote(s, options.seconds)}`,
      rows,
      reconciled: completed.length === ids.length,
      reconciliation: `${ids.length} started; ${completed.length} completed`,
      passed: rows.every((r) => r.pass !== false),
      notes: [],
    };
  } finally {
    await stack.stop();
  }
}

async function startRound(base: string, headers: Record<string, string>, count: number): Promise<string[]> {
  const body = executeBody(complexWorkflow(50));
  const responses = await Promise.all(
    Array.from({ length: count }, () =>
      fetch(`${base}/api/v1/workflows/execute`, { method: "POST", headers, body }),
    ),
  );
  const ids: string[] = [];
  for (const res of responses)
    if (res.status === 202) ids.push(((await res.json()) as { workflow_id: string }).workflow_id);
  return ids;
}

async function persisterLag(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let lag = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("bus_consumer_lag{") && line.includes('group="hook-persister"'))
      lag += Number(line.split(" ").pop());
  }
  return lag;
}

/** Kafka saturation: 50,000 messages a minute of 5 KB through the receiver; lag stays bounded, nothing lost. */
export async function runSaturation(s: Scenario, options: StressOptions): Promise<ScenarioResult> {
  // Persistence in its own process, as a deployment under this load would run it (HOOK_PERSISTER).
  // A 25 ms linger: the mock cluster answers a fetch with one producer batch per partition, so the
  // persister keeps up only when producer batches are not tiny (real Kafka returns many per fetch).
  const stack = await startStack(["hook-receiver", "hook-persister"], { HOOK_BATCH_LINGER_MS: "25" });
  const base = stack.urls["hook-receiver"]!;
  const persister = stack.urls["hook-persister"]!;
  const headers = { "content-type": "application/json", "x-api-key": stack.apiKey };
  const rate = s.rate ?? 833;
  const bytes = s.payload_bytes?.min ?? 5120;
  let maxLag = 0;
  try {
    const before = await topicRecords(stack);
    const sampler = setInterval(() => {
      persisterLag(persister).then(
        (lag) => {
          maxLag = Math.max(maxLag, lag);
        },
        () => {},
      );
    }, 1000);
    const step = await runStep({
      rate,
      durationS: options.seconds,
      makeRequest: (i) =>
        new Request(`${base}/api/v1/hooks/receive`, { method: "POST", headers, body: hookBody(i, bytes) }),
    });
    clearInterval(sampler);
    const accepted = step.statuses[202] ?? 0;
    const check = await reconcileHooks(stack, accepted, before);
    const bound = Number(s.criteria?.consumer_lag_max ?? 10_000);
    const rows: ResultRow[] = [
      {
        metric: "Messages/min published",
        ours: Math.round((accepted / options.seconds) * 60),
        document: 50_000,
      },
      { metric: "Max persister lag (messages)", ours: maxLag, threshold: `< ${bound}`, pass: maxLag < bound },
      {
        metric: "Lost (202 but not stored)",
        ours: accepted - Math.min(check.stored, accepted),
        threshold: "0",
        pass: check.reconciled,
      },
      { metric: "Publish P99 (ms)", ours: round(step.p99) },
    ];
    return {
      name: s.name,
      service: "hook-receiver",
      kind: s.kind,
      startedAt: new Date().toISOString(),
      conditions: `${rate} hooks/s of ${bytes} bytes for ${options.seconds} s into an intake-only receiver (HOOK_BATCH_LINGER_MS=25), persisted by a second receiver process (HOOK_PERSISTER); ${scaleNote(s, options.seconds)}; the mock cluster keeps ~5 MiB per partition, so a lagging consumer would lose data and fail the run`,
      rows,
      steps: [step],
      reconciled: check.reconciled,
      reconciliation: check.text,
      passed: rows.every((r) => r.pass !== false),
      notes: check.reconciled
        ? []
        : [
            "every 202 reached workflow.events; the rows missing from hook_events were dropped by the mock cluster, which keeps ~5 MiB per partition and answers each fetch with a single producer batch, before the persister fetched them; against real Kafka they would wait in the topic",
          ],
    };
  } finally {
    await stack.stop();
  }
}

const CGROUP_ROOT = "/sys/fs/cgroup/memory";

/**
 * Memory pressure: the receiver in a memory cgroup capped at half the document's peak memory for the
 * service (512 MB → 256 MB), at the document's medium load, with the kernel's OOM killer armed.
 */
export async function runMemoryPressure(s: Scenario, options: StressOptions): Promise<ScenarioResult> {
  const capMiB = Math.round(512 * (s.memory_cap_fraction ?? 0.5));
  const group = `${CGROUP_ROOT}/omninode-perf-${process.pid}`;
  mkdirSync(group, { recursive: true });
  writeFileSync(`${group}/memory.limit_in_bytes`, String(capMiB * 1024 * 1024));
  const stack = await startStack(["hook-receiver"], {}, { memoryCgroup: group });
  const proc = stack.processes["hook-receiver"]!;
  const base = stack.urls["hook-receiver"]!;
  const headers = { "content-type": "application/json", "x-api-key": stack.apiKey };
  try {
    const before = await topicRecords(stack);
    const step = await runStep({
      rate: s.rate ?? 200,
      durationS: options.seconds,
      makeRequest: (i) =>
        new Request(`${base}/api/v1/hooks/receive`, { method: "POST", headers, body: hookBody(i, 2048) }),
    });
    const oomKills = Number(
      /oom_kill (\d+)/.exec(await Bun.file(`${group}/memory.oom_control`).text())?.[1] ?? 0,
    );
    const peak = Number(await Bun.file(`${group}/memory.max_usage_in_bytes`).text()) / 1024 / 1024;
    const alive = proc.exitCode === null;
    const check = await reconcileHooks(stack, step.statuses[202] ?? 0, before);
    const rows: ResultRow[] = [
      { metric: "Memory cap (MiB)", ours: capMiB, document: "50% of the container limit" },
      { metric: "Peak usage in the cgroup (MiB)", ours: round(peak) },
      { metric: "OOM kills", ours: oomKills, threshold: "0", pass: oomKills === 0 && alive },
      { metric: "P95 (ms)", ours: round(step.p95) },
      { metric: "Error rate", ours: percent((step.errors + step.dropped) / Math.max(1, step.sent)) },
    ];
    return {
      name: s.name,
      service: "hook-receiver",
      kind: s.kind,
      startedAt: new Date().toISOString(),
      conditions: `receiver in a memory cgroup of ${capMiB} MiB at ${s.rate} RPS of 2 KB hooks for ${options.seconds} s; ${scaleNote(s, options.seconds)}`,
      rows,
      steps: [step],
      reconciled: check.reconciled,
      reconciliation: check.text,
      passed: rows.every((r) => r.pass !== false) && check.reconciled,
      notes: [],
    };
  } finally {
    await stack.stop();
    try {
      Bun.spawnSync(["rmdir", group]);
    } catch {}
  }
}

async function metricValue(base: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let total = 0;
  for (const line of text.split("\n")) if (pattern.test(line)) total += Number(line.split(" ").pop());
  return total;
}

/**
 * Database connection exhaustion: the coordinator with a small pool while another session holds an
 * exclusive lock on workflow_runs (the document's "long-running queries"), under 500 list requests a
 * second. The guard must open its circuit and answer 503 + Retry-After at once; the pool must recover
 * once the lock is gone and the load drops.
 */
export async function runConnectionExhaustion(s: Scenario, options: StressOptions): Promise<ScenarioResult> {
  const stack = await startStack(["workflow-coordinator"], {
    DB_POOL_SIZE: "4",
    DB_STATEMENT_TIMEOUT_MS: "1000",
    DB_MAX_WAITING: "50",
    DB_ACQUIRE_TIMEOUT_MS: "1000",
  });
  const base = stack.urls["workflow-coordinator"]!;
  const headers = { "content-type": "application/json", "x-api-key": stack.apiKey };
  const list = () => new Request(`${base}/api/v1/workflows?limit=20`, { headers });
  const phase = Math.max(5, Math.round(options.seconds / 3));
  let shedWithoutRetryAfter = 0;
  const inspect = (res: Response) => {
    if (res.status === 503 && !res.headers.get("retry-after")) shedWithoutRetryAfter++;
  };
  const sql = (await import("postgres")).default(stack.db.url, { max: 1, onnotice: () => {} });
  try {
    await startRound(base, headers, 20);
    const before = await runStep({ rate: 100, durationS: 3, makeRequest: list, onResponse: inspect });

    let healthFailures = 0;
    const health = setInterval(() => {
      fetch(`${base}/health`).then(
        (r) => {
          if (!r.ok) healthFailures++;
        },
        () => healthFailures++,
      );
    }, 200);
    const lock = sql.begin(async (tx) => {
      await tx`lock table workflow_runs in access exclusive mode`;
      await Bun.sleep(phase * 1000);
    });
    const during = await runStep({
      rate: 500,
      durationS: phase,
      timeoutMs: 5000,
      makeRequest: list,
      onResponse: inspect,
    });
    await lock;
    clearInterval(health);
    const opened = (await metricValue(base, /^db_rejected_total\{.*reason="circuit_open"/)) > 0;
    const refused = await metricValue(base, /^db_rejected_total\{/);

    await Bun.sleep(2500);
    const after = await runStep({ rate: 100, durationS: phase, makeRequest: list, onResponse: inspect });
    const inUse = await metricValue(base, /^db_pool_connections\{.*state="in_use"/);
    const waiting = await metricValue(base, /^db_pool_connections\{.*state="waiting"/);
    const duringOther = Object.entries(during.statuses)
      .filter(([status]) => status !== "200" && status !== "503")
      .reduce((n, [, count]) => n + count, 0);
    const afterErrors = (after.errors + after.dropped) / Math.max(1, after.sent);
    const rows: ResultRow[] = [
      { metric: "Before: P95 (ms) / errors", ours: `${round(before.p95)} / ${before.errors}` },
      {
        metric: "During: answered 200 / 503",
        ours: `${during.statuses[200] ?? 0} / ${during.statuses[503] ?? 0}`,
      },
      {
        metric: "During: P95 (ms)",
        ours: round(during.p95),
        threshold: "< 1000 (fails fast)",
        pass: during.p95 < 1000,
      },
      {
        metric: "During: timeouts or other errors",
        ours: duringOther,
        threshold: "0",
        pass: duringOther === 0,
      },
      {
        metric: "Circuit breaker opened",
        ours: opened ? `yes (${refused} refused)` : "no",
        threshold: "yes",
        pass: opened,
      },
      {
        metric: "503 without Retry-After",
        ours: shedWithoutRetryAfter,
        threshold: "0",
        pass: shedWithoutRetryAfter === 0,
      },
      {
        metric: "Health failures during exhaustion",
        ours: healthFailures,
        threshold: "0",
        pass: healthFailures === 0,
      },
      {
        metric: "After: error rate",
        ours: percent(afterErrors),
        threshold: "< 1%",
        pass: afterErrors < 0.01,
      },
      {
        metric: "After: pool in use / waiting",
        ours: `${inUse} / ${waiting}`,
        threshold: "waiting 0",
        pass: waiting === 0,
      },
    ];
    return {
      name: s.name,
      service: "workflow-coordinator",
      kind: s.kind,
      startedAt: new Date().toISOString(),
      conditions: `pool of 4, statement timeout 1 s, waiting bound 50, acquire timeout 1 s; an exclusive lock on workflow_runs for ${phase} s under 500 list requests/s, then 100/s for ${phase} s; ${scaleNote(s, 3 + phase * 2)}`,
      rows,
      steps: [before, during, after],
      reconciled: null,
      passed: rows.every((r) => r.pass !== false),
      notes: [],
    };
  } finally {
    await sql.end();
    await stack.stop();
  }
}
