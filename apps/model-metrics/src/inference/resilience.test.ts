import { afterAll, beforeAll, expect, test } from "bun:test";
import { asc, eq } from "drizzle-orm";
import { modelExecutions } from "../../../../db/schema/models.ts";
import { LocalModelServer } from "../testing/local-model-server.ts";
import { API, startTestService } from "../testing/test-service.ts";

const RESET_MS = 300;
let svc: Awaited<ReturnType<typeof startTestService>>;
const hosts: LocalModelServer[] = [];

function host(): LocalModelServer {
  const server = new LocalModelServer();
  hosts.push(server);
  return server;
}

async function register(id: string, server: LocalModelServer, more: Record<string, unknown> = {}) {
  const res = await svc.call("PUT", `${API}/models/${id}`, {
    provider: "ollama",
    base_url: server.url,
    model: "llama3.2:1b",
    tier: "small",
    task_types: ["generate"],
    max_concurrency: 4,
    timeout_ms: 2000,
    ...more,
  });
  expect(res.status).toBe(201);
}

beforeAll(async () => {
  svc = await startTestService("mm_resilience", {
    tuning: { circuit: { volumeThreshold: 3, errorThresholdPercentage: 50, resetTimeoutMs: RESET_MS } },
  });
});
afterAll(async () => {
  await svc.drop();
  await Promise.all(hosts.map((h) => h.stop()));
});

const metric = async (line: string) => {
  const text = await svc.registry.metrics();
  return text.split("\n").find((l) => l.startsWith(line));
};

test("a model slower than its timeout_ms answers 504 TIMEOUT at the deadline and is recorded as a timeout", async () => {
  const slow = host();
  slow.delayMs = 2000;
  await register("slow-model", slow, { timeout_ms: 100 });
  const started = performance.now();
  const res = await svc.call("POST", `${API}/infer`, {
    task_type: "generate",
    model: "slow-model",
    prompt: "hi",
  });
  const elapsed = performance.now() - started;
  expect(res.status).toBe(504);
  expect(res.body.error).toMatchObject({
    code: "TIMEOUT",
    message: "model slow-model did not answer within 100 ms",
  });
  expect(elapsed).toBeGreaterThanOrEqual(95);
  expect(elapsed).toBeLessThan(1000);

  const perf = await svc.call("GET", `${API}/performance?model=slow-model`);
  expect(perf.body.models).toEqual([
    {
      model: "slow-model",
      task_type: "generate",
      count: 1,
      success_rate: 0,
      latency_ms: { p50: null, p95: null, p99: null },
      tokens_per_second: null,
      quality_score: null,
    },
  ]);
  expect(
    await metric(
      'model_inference_duration_seconds_count{model="slow-model",task_type="generate",status="timeout"}',
    ),
  ).toEndWith(" 1");
});

test("an open circuit answers 503 quickly without calling the host, and closes once the host recovers", async () => {
  const flaky = host();
  // The host takes 200 ms to fail, so a fast 503 can only come from the open circuit.
  flaky.delayMs = 200;
  flaky.failWith = 500;
  await register("flaky-model", flaky);
  const infer = () =>
    svc.call("POST", `${API}/infer`, { task_type: "generate", model: "flaky-model", prompt: "hi" });

  for (let i = 0; i < 3; i++) expect((await infer()).status).toBe(502);
  const callsBefore = flaky.requests.length;
  const started = performance.now();
  const rejected = await infer();
  expect(performance.now() - started).toBeLessThan(100);
  expect(rejected.status).toBe(503);
  expect(rejected.body.error.code).toBe("SERVICE_UNAVAILABLE");
  expect(rejected.body.error.message).toContain("circuit is open");
  expect(rejected.headers.get("retry-after")).toBe("1");
  expect(flaky.requests.length).toBe(callsBefore);
  expect(await metric('model_circuit_state{model="flaky-model"}')).toEndWith(" 2");

  flaky.failWith = undefined;
  await Bun.sleep(RESET_MS + 50);
  const recovered = await infer();
  expect(recovered.status).toBe(200);
  expect((await infer()).status).toBe(200);
  expect(await metric('model_circuit_state{model="flaky-model"}')).toEndWith(" 0");
});

test("a failing model falls back to the next model of its tier and the escalation is recorded", async () => {
  const down = host();
  down.failWith = 503;
  const healthy = host();
  await register("esc-a", down, { task_types: ["translate"], tier: "medium" });
  await register("esc-b", healthy, { task_types: ["translate"], tier: "medium" });

  const pinned = await svc.call("POST", `${API}/infer`, {
    task_type: "translate",
    model: "esc-a",
    prompt: "hola",
  });
  expect(pinned.status).toBe(502);

  const res = await svc.call("POST", `${API}/infer`, {
    task_type: "translate",
    model: "esc-a",
    prompt: "hola",
    fallback: true,
  });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ model: "esc-b", escalated_from: "esc-a" });

  const routed = await svc.call("POST", `${API}/infer`, { task_type: "translate", prompt: "hola" });
  expect(routed.body).toMatchObject({ model: "esc-b", escalated_from: "esc-a" });
  expect(await metric('model_escalations_total{from="esc-a",to="esc-b"}')).toEndWith(" 2");

  await svc.service.stop();
  await svc.service.start();
  const rows = await svc.database.db
    .select({
      model: modelExecutions.modelId,
      status: modelExecutions.status,
      from: modelExecutions.escalatedFrom,
    })
    .from(modelExecutions)
    .where(eq(modelExecutions.taskType, "translate"))
    .orderBy(asc(modelExecutions.id));
  expect(rows).toEqual([
    { model: "esc-a", status: "error", from: null },
    { model: "esc-a", status: "error", from: null },
    { model: "esc-b", status: "success", from: "esc-a" },
    { model: "esc-a", status: "error", from: null },
    { model: "esc-b", status: "success", from: "esc-a" },
  ]);
});

test("a model never runs more than max_concurrency inferences at once; the rest wait their turn", async () => {
  const server = host();
  server.delayMs = 50;
  await register("narrow-model", server, { max_concurrency: 2 });
  const res = await svc.call("POST", `${API}/infer/batch`, {
    concurrency: 8,
    items: Array.from({ length: 8 }, (_, i) => ({
      task_type: "generate",
      model: "narrow-model",
      prompt: `p${i}`,
    })),
  });
  expect(res.status).toBe(200);
  expect(res.body.succeeded).toBe(8);
  expect(server.maxInFlight).toBe(2);
  // Four rounds of two at 50 ms each.
  expect(res.body.duration_ms).toBeGreaterThanOrEqual(190);
});
