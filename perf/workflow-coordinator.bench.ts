/**
 * Workflow coordinator benchmark: engine overhead per task, sustained starts per second, status reads
 * per second from the cache, and memory with many runs in flight.
 *
 *   bun run perf/workflow-coordinator.bench.ts [--seconds 10] [--inflight 10000]
 *
 * It starts the coordinator as its own process (src/main.ts) on a fresh Postgres database and the
 * Redis at TEST_REDIS_URL, and drives it over HTTP from this process. Tasks are `transform` and
 * `delay`, so what is timed is the engine, not the tasks.
 */
import { parseArgs } from "node:util";
import { createDatabase } from "../db/client.ts";
import { createTestDatabase, TEST_REDIS_URL } from "../shared/testing/services.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    inflight: { type: "string", default: "10000" },
    concurrency: { type: "string", default: "64" },
  },
});
const SECONDS = Number(values.seconds);
const IN_FLIGHT = Number(values.inflight);
const CONCURRENCY = Number(values.concurrency);
const API_KEY = "bench-key";

const testDb = await createTestDatabase("wf_bench");
const migrator = await createDatabase({ url: testDb.url });
await migrator.migrate();
await migrator.close();

const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
const port = probe.port ?? 0;
probe.stop(true);
const child = Bun.spawn(["bun", "run", "apps/workflow-coordinator/src/main.ts"], {
  cwd: new URL("../", import.meta.url).pathname,
  env: {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
    DATABASE_URL: testDb.url,
    REDIS_URL: TEST_REDIS_URL,
    API_KEYS: API_KEY,
    WORKFLOW_COORDINATOR_PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "error",
    DB_POOL_SIZE: "40",
  },
  stdout: "ignore",
  stderr: "inherit",
});
const base = `http://127.0.0.1:${port}`;
const headers = { "x-api-key": API_KEY, "content-type": "application/json" };

async function cleanup() {
  child.kill();
  await child.exited;
  await testDb.drop();
}

async function waitForHealth() {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (
      await fetch(`${base}/health`)
        .then((r) => r.ok)
        .catch(() => false)
    )
      return;
    await Bun.sleep(50);
  }
  throw new Error("coordinator did not start");
}

const execute = (body: unknown) =>
  fetch(`${base}/api/v1/workflows/execute`, { method: "POST", headers, body: JSON.stringify(body) });

interface Status {
  status: string;
  started_at: string;
  completed_at: string;
  tasks: { started_at: string; completed_at: string }[];
}
const status = (id: string): Promise<Status> =>
  fetch(`${base}/api/v1/workflows/${id}/status`, { headers }).then((r) => r.json() as Promise<Status>);

async function waitDone(id: string): Promise<Status> {
  for (;;) {
    const s = await status(id);
    if (s.status === "completed" || s.status === "failed") return s;
    await Bun.sleep(20);
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
const fmt = (n: number) => n.toFixed(2);
const rssMb = async () => {
  const text = await Bun.file(`/proc/${child.pid}/status`).text();
  return Number(/VmRSS:\s+(\d+)/.exec(text)?.[1] ?? 0) / 1024;
};

const chain = (n: number) => ({
  name: "bench-chain",
  tasks: Array.from({ length: n }, (_, i) => ({
    id: `t${i}`,
    type: "transform",
    depends_on: i === 0 ? [] : [`t${i - 1}`],
    params: { expression: "$count($keys(tasks))" },
  })),
});

async function engineOverhead(parallelRuns: number) {
  const TASKS = 10;
  const RUNS = 200;
  const perTask: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < RUNS) {
      next++;
      const res = await execute({ workflow_definition: chain(TASKS) });
      const { workflow_id } = (await res.json()) as { workflow_id: string };
      const s = await waitDone(workflow_id);
      // Transform tasks do next to no work, so run time over task count is the engine's cost per task.
      perTask.push((Date.parse(s.completed_at) - Date.parse(s.started_at)) / TASKS);
    }
  };
  await Promise.all(Array.from({ length: parallelRuns }, worker));
  perTask.sort((a, b) => a - b);
  console.log(
    `engine overhead, ${TASKS}-task transform chain, ${parallelRuns} run(s) at a time: per task p50 ${fmt(percentile(perTask, 50))} ms, p95 ${fmt(percentile(perTask, 95))} ms, p99 ${fmt(percentile(perTask, 99))} ms`,
  );
}

async function startsPerSecond() {
  const body = JSON.stringify({
    workflow_definition: {
      name: "bench-start",
      tasks: [{ id: "only", type: "transform", params: { expression: "1" } }],
    },
  });
  let started = 0;
  let errors = 0;
  const latencies: number[] = [];
  const until = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  const worker = async () => {
    while (performance.now() < until) {
      const at = performance.now();
      const res = await fetch(`${base}/api/v1/workflows/execute`, { method: "POST", headers, body });
      await res.arrayBuffer();
      latencies.push(performance.now() - at);
      if (res.status === 202) started++;
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(
    `starts: ${started} in ${fmt(elapsed)} s = ${fmt(started / elapsed)} starts/s (concurrency ${CONCURRENCY}, ${errors} errors), execute p50 ${fmt(percentile(latencies, 50))} ms p95 ${fmt(percentile(latencies, 95))} ms p99 ${fmt(percentile(latencies, 99))} ms`,
  );
  const drainStart = performance.now();
  for (;;) {
    const res = await fetch(`${base}/api/v1/workflows/active?limit=1`, { headers });
    const page = (await res.json()) as { workflows: unknown[] };
    if (page.workflows.length === 0) break;
    await Bun.sleep(50);
  }
  console.log(
    `  all ${started} started runs completed ${fmt((performance.now() - drainStart) / 1000)} s after the last start`,
  );
}

async function statusRps() {
  const res = await execute({ workflow_definition: chain(3) });
  const { workflow_id } = (await res.json()) as { workflow_id: string };
  await waitDone(workflow_id);
  const url = `${base}/api/v1/workflows/${workflow_id}/status`;
  const latencies: number[] = [];
  let errors = 0;
  const until = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  const worker = async () => {
    while (performance.now() < until) {
      const at = performance.now();
      const r = await fetch(url, { headers });
      await r.arrayBuffer();
      latencies.push(performance.now() - at);
      if (r.status !== 200) errors++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY * 2 }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(
    `status: ${fmt(latencies.length / elapsed)} req/s over ${fmt(elapsed)} s (concurrency ${CONCURRENCY * 2}, ${errors} errors), p50 ${fmt(percentile(latencies, 50))} ms p95 ${fmt(percentile(latencies, 95))} ms p99 ${fmt(percentile(latencies, 99))} ms`,
  );
}

async function inFlight() {
  if (IN_FLIGHT <= 0) return;
  const before = await rssMb();
  const body = JSON.stringify({
    workflow_definition: {
      name: "bench-inflight",
      timeout_ms: 600_000,
      tasks: [
        { id: "wait", type: "delay", params: { ms: 120_000 } },
        { id: "after", type: "transform", depends_on: ["wait"], params: { expression: "1" } },
      ],
    },
  });
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < IN_FLIGHT) {
      next++;
      const res = await fetch(`${base}/api/v1/workflows/execute`, { method: "POST", headers, body });
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const startSeconds = (performance.now() - t0) / 1000;
  await Bun.sleep(2_000);
  const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
  const active = /^workflow_runs_active (\d+)/m.exec(metrics)?.[1];
  console.log(
    `in flight: ${IN_FLIGHT} runs started in ${fmt(startSeconds)} s, ${active} active on the instance, RSS ${fmt(before)} MB before, ${fmt(await rssMb())} MB with them in flight`,
  );
}

try {
  await waitForHealth();
  await engineOverhead(1);
  await engineOverhead(32);
  await startsPerSecond();
  await statusRps();
  await inFlight();
} finally {
  await cleanup();
}
