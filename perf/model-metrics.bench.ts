/**
 * Model metrics benchmark: `bun run perf/model-metrics.bench.ts`.
 * Three processes so the load generator never shares an event loop with what it measures: this one
 * (load), a local model host answering in 50 ms, and the service on a fresh Postgres database.
 * Latencies are taken from each request's scheduled send time, so a stalled server cannot hide
 * queueing (no coordinated omission).
 */
import { createModelMetricsService } from "../apps/model-metrics/src/app.ts";
import { BUILTIN_MODELS } from "../apps/model-metrics/src/registry/model.ts";
import { LocalModelServer } from "../apps/model-metrics/src/testing/local-model-server.ts";
import { createDatabase } from "../db/client.ts";
import { silentLogger } from "../shared/logger.ts";
import { createRegistry } from "../shared/metrics.ts";
import { firstLine } from "../shared/testing/ports.ts";
import { createTestDatabase } from "../shared/testing/services.ts";
import { runStep, type StepResult } from "./lib/open-loop.ts";

const API_KEY = "bench-key";
const MODEL_DELAY_MS = 50;
const RPS = Number(process.env.BENCH_RPS ?? 500);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const role = process.argv[2];

async function spawnRole(flag: string, env: Record<string, string> = {}) {
  const child = Bun.spawn(["bun", "run", import.meta.path, flag], {
    env: { ...process.env, LOG_LEVEL: "silent", ...env },
    stdout: "pipe",
    stderr: "inherit",
  });
  const { url } = JSON.parse(await firstLine(child.stdout, flag)) as { url: string };
  return { url, child };
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN);
const ms = (value: number) => `${value.toFixed(2)} ms`;

interface LoadResult {
  step: StepResult;
  /** Per successful request: round trip minus the latency_ms the service measured for the model. */
  overheadMs: number[];
}

const decoder = new TextDecoder();

/** Sends `rps` requests a second for `seconds`, each on its own schedule whatever the answers do. */
async function openLoop(url: string, body: string, rps: number, seconds: number): Promise<LoadResult> {
  const overheadMs: number[] = [];
  const headers = { "content-type": "application/json", "x-api-key": API_KEY };
  const step = await runStep({
    rate: rps,
    durationS: seconds,
    isOk: (status) => status === 200,
    makeRequest: () => new Request(url, { method: "POST", headers, body }),
    onResponse: (res, raw, latencyMs) => {
      if (res.status !== 200) return;
      const { latency_ms } = JSON.parse(decoder.decode(raw)) as { latency_ms?: number };
      if (latency_ms !== undefined) overheadMs.push(latencyMs - latency_ms);
    },
  });
  return { step, overheadMs };
}

function report(title: string, { step }: LoadResult, seconds: number) {
  console.log(`\n${title}`);
  console.log(
    `  requests ${step.sent}, errors ${step.errors + step.dropped}, achieved ${(step.sent / seconds).toFixed(0)} req/s`,
  );
  console.log(`  latency p50 ${ms(step.p50)}  p95 ${ms(step.p95)}  p99 ${ms(step.p99)}  max ${ms(step.max)}`);
}

async function runBenchmark() {
  const testDb = await createTestDatabase("bench_model_metrics");
  const host = await spawnRole("--model-host");
  const service = await spawnRole("--service", { BENCH_DATABASE_URL: testDb.url, BENCH_MODEL_URL: host.url });
  const infer = `${service.url}/api/v1/model-metrics/infer`;
  try {
    console.log(
      `model-metrics benchmark: model host answers in ${MODEL_DELAY_MS} ms; service on real Postgres`,
    );
    await openLoop(
      infer,
      JSON.stringify({ task_type: "generate", model: "bench-llm", prompt: "warm up" }),
      100,
      2,
    );

    const generate = JSON.stringify({
      task_type: "generate",
      model: "bench-llm",
      prompt: "Say hello in five words",
    });
    const heavy = await openLoop(infer, generate, RPS, DURATION_S);
    report(
      `/infer against the 50 ms model, open loop ${RPS} req/s for ${DURATION_S} s (SLA: p95 < 80 ms)`,
      heavy,
      DURATION_S,
    );

    const items = Array.from({ length: 100 }, (_, i) => ({
      task_type: "generate",
      model: "bench-llm-10",
      prompt: `item ${i}`,
    }));
    const batchStart = performance.now();
    const batchRes = await fetch(`${service.url}/api/v1/model-metrics/infer/batch`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": API_KEY },
      body: JSON.stringify({ items, concurrency: 10 }),
    });
    const batch = (await batchRes.json()) as { succeeded: number; failed: number; duration_ms: number };
    console.log(
      "\n/infer/batch of 100 at concurrency 10 (model max_concurrency 10) against the 50 ms model (SLA: < 1 s)",
    );
    console.log(
      `  succeeded ${batch.succeeded}, failed ${batch.failed}, server duration ${ms(batch.duration_ms)}, round trip ${ms(performance.now() - batchStart)}`,
    );

    const sentiment = JSON.stringify({
      task_type: "sentiment",
      model: "builtin-sentiment",
      prompt: "The new release is fast and I love it.",
    });
    const builtinRps = Math.min(RPS, 500);
    const builtin = await openLoop(infer, sentiment, builtinRps, 5);
    report(`/infer with the builtin model, open loop ${builtinRps} req/s for 5 s`, builtin, 5);
    const overhead = builtin.overheadMs.toSorted((a, b) => a - b);
    console.log(
      `  API overhead (round trip − the model's own latency_ms) p50 ${ms(percentile(overhead, 0.5))}  p99 ${ms(percentile(overhead, 0.99))} (SLA: p99 < 5 ms)`,
    );

    const inProcess = await inProcessOverhead(testDb.url, sentiment);
    console.log("\n/infer with the builtin model through app.request (no sockets), 5000 sequential requests");
    console.log(
      `  p50 ${ms(percentile(inProcess, 0.5))}  p99 ${ms(percentile(inProcess, 0.99))}  p99.9 ${ms(percentile(inProcess, 0.999))}`,
    );
  } finally {
    service.child.kill();
    host.child.kill();
    await Promise.all([service.child.exited, host.child.exited]);
    await testDb.drop();
  }
}

/** The API's own cost without the kernel, the client or the socket: the service called in-process. */
async function inProcessOverhead(databaseUrl: string, body: string): Promise<number[]> {
  const database = await createDatabase({ url: databaseUrl, poolSize: 5 });
  const service = createModelMetricsService({
    database,
    registry: createRegistry({ defaultMetrics: false }),
    logger: silentLogger,
    apiKeys: [API_KEY],
    models: BUILTIN_MODELS,
  });
  await service.start();
  const latencies: number[] = [];
  const init = {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": API_KEY },
    body,
  };
  try {
    for (let i = 0; i < 6000; i++) {
      const started = performance.now();
      await (await service.app.request("/api/v1/model-metrics/infer", init)).text();
      // The first thousand warm the JIT; yielding lets the record writer run as it would between requests.
      if (i >= 1000) latencies.push(performance.now() - started);
      if (i % 2 === 0) await Bun.sleep(0);
    }
  } finally {
    await service.stop();
    await database.close();
  }
  return latencies.sort((a, b) => a - b);
}

async function serveModelHost() {
  const host = new LocalModelServer();
  host.delayMs = MODEL_DELAY_MS;
  console.log(JSON.stringify({ url: host.url }));
  await new Promise(() => {});
}

async function serveService() {
  const database = await createDatabase({ url: process.env.BENCH_DATABASE_URL, poolSize: 20 });
  await database.migrate();
  const service = createModelMetricsService({
    database,
    registry: createRegistry(),
    logger: silentLogger,
    apiKeys: [API_KEY],
    models: [
      ...BUILTIN_MODELS,
      {
        id: "bench-llm",
        provider: "ollama",
        base_url: process.env.BENCH_MODEL_URL,
        model: "llama3.2:1b",
        tier: "small",
        task_types: ["generate"],
        max_concurrency: 200,
        timeout_ms: 5000,
      },
      {
        id: "bench-llm-10",
        provider: "ollama",
        base_url: process.env.BENCH_MODEL_URL,
        model: "llama3.2:1b",
        tier: "small",
        task_types: ["generate"],
        max_concurrency: 10,
        timeout_ms: 30_000,
      },
    ],
  });
  await service.start();
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: service.app.fetch });
  console.log(JSON.stringify({ url: `http://127.0.0.1:${server.port}` }));
  await new Promise(() => {});
}

if (role === "--model-host") await serveModelHost();
else if (role === "--service") await serveService();
else await runBenchmark();
