import { afterAll, beforeAll, expect, test } from "bun:test";
import { count, eq } from "drizzle-orm";
import { modelExecutions } from "../../../../db/schema/models.ts";
import { LocalModelServer } from "../testing/local-model-server.ts";
import { API, startTestService } from "../testing/test-service.ts";

let now = Date.now();
let elapsed = 0;
let svc: Awaited<ReturnType<typeof startTestService>>;
// "sleep:NN" in a prompt makes the host take exactly NN ms of the service's clock, so latencies are
// known to the digit; requests run one at a time so each advance belongs to one request.
const host = new LocalModelServer({
  respond: (prompt) => {
    elapsed += Number(/sleep:(\d+)/.exec(prompt)?.[1] ?? 0);
    return {};
  },
});

const model = (tier: string, task_types: string[]) => ({
  provider: "ollama",
  base_url: host.url,
  model: "llama3.2:1b",
  tier,
  task_types,
  max_concurrency: 20,
  timeout_ms: 5000,
});

beforeAll(async () => {
  svc = await startTestService("mm_statistics", {
    clock: { now: () => now, monotonic: () => elapsed },
    tuning: { minSampleSize: 5, tierOrder: ["small", "medium", "large"] },
  });
});
afterAll(async () => {
  await svc.drop();
  await host.stop();
});

test("performance percentiles come out of Postgres matching the latencies the host was told to take", async () => {
  await svc.call("PUT", `${API}/models/timed`, model("small", ["generate"]));
  // Skewed on purpose, so the median, the mean and the tail all differ: 12 × 20 ms, 7 × 100 ms, 1 × 300 ms.
  const delays = [...Array(12).fill(20), ...Array(7).fill(100), 300];
  const batch = await svc.call("POST", `${API}/infer/batch`, {
    concurrency: 1,
    items: delays.map((ms) => ({ task_type: "generate", model: "timed", prompt: `sleep:${ms}` })),
  });
  expect(batch.body.succeeded).toBe(20);

  const res = await svc.call("GET", `${API}/performance?model=timed&task_type=generate&window=1h`);
  expect(res.status).toBe(200);
  const [row] = res.body.models;
  expect(row).toMatchObject({ model: "timed", task_type: "generate", count: 20, success_rate: 1 });
  // percentile_cont over those: p50 20, p95 100 + 0.05 × 200 = 110, p99 100 + 0.81 × 200 = 262.
  expect(row.latency_ms).toEqual({ p50: 20, p95: 110, p99: 262 });
  expect(row.tokens_per_second).toBe(100);
  expect(row.quality_score).toBe(1);
});

test("the window counts only executions inside it", async () => {
  await svc.call("PUT", `${API}/models/windowed`, model("small", ["generate"]));
  now = Date.now() - 2 * 3_600_000;
  await svc.call("POST", `${API}/infer`, { task_type: "generate", model: "windowed", prompt: "old" });
  now = Date.now();
  await svc.call("POST", `${API}/infer`, { task_type: "generate", model: "windowed", prompt: "new" });

  const lastHour = await svc.call("GET", `${API}/performance?model=windowed&window=1h`);
  expect(lastHour.body.models[0].count).toBe(1);
  const lastDay = await svc.call("GET", `${API}/performance?model=windowed&window=1d`);
  expect(lastDay.body.models[0].count).toBe(2);

  const bad = await svc.call("GET", `${API}/performance?window=soon`);
  expect(bad.status).toBe(400);
  expect(bad.body.error.details[0].field).toBe("window");
});

test("recommendations rank models once they have enough executions, with confidence and a reason, and routing follows them", async () => {
  await svc.call("PUT", `${API}/models/chat-slow`, model("small", ["chat"]));
  await svc.call("PUT", `${API}/models/chat-fast`, model("medium", ["chat"]));
  await svc.call("PUT", `${API}/models/chat-new`, model("large", ["chat"]));
  const chat = (modelId: string | undefined, ms: number) =>
    svc.call("POST", `${API}/infer`, {
      task_type: "chat",
      prompt: `sleep:${ms} tell me about otters`,
      expect: { keywords: ["otters"] },
      ...(modelId ? { model: modelId } : {}),
    });

  // Without records the tier order decides: small first.
  expect((await chat(undefined, 0)).body.model).toBe("chat-slow");

  const before = await svc.call("GET", `${API}/recommendations?task_type=chat`);
  expect(before.body.recommendations).toEqual([]);
  expect(before.body.insufficient_data).toEqual([{ model: "chat-slow", count: 1 }]);

  for (let i = 0; i < 6; i++) {
    await chat("chat-slow", 60);
    await chat("chat-fast", 5);
  }
  await chat("chat-new", 5);

  const res = await svc.call("GET", `${API}/recommendations?task_type=chat`);
  expect(res.status).toBe(200);
  expect(res.body.min_sample_size).toBe(5);
  const [best, second] = res.body.recommendations;
  expect(best).toMatchObject({ model: "chat-fast", rank: 1, count: 6, success_rate: 1, quality_score: 1 });
  expect(best).toMatchObject({ score: 1, p50_latency_ms: 5 });
  // √(6 / (4 × 5))
  expect(best.confidence).toBe(0.55);
  expect(best.reason).toStartWith("Best score");
  // 0.5 × 1 + 0.3 × 1 + 0.2 × (5 / 60)
  expect(second).toMatchObject({ model: "chat-slow", rank: 2, count: 7, score: 0.817, p50_latency_ms: 60 });
  expect(second.reason).toContain("slower than chat-fast");
  expect(res.body.insufficient_data).toEqual([{ model: "chat-new", count: 1 }]);

  const restarted = await svc.restart();
  try {
    const routed = await restarted.call("POST", `${API}/infer`, { task_type: "chat", prompt: "otters?" });
    expect(routed.status).toBe(200);
    expect(routed.body.model).toBe("chat-fast");
  } finally {
    await restarted.close();
  }
});

test("recommendations need a task type", async () => {
  const res = await svc.call("GET", `${API}/recommendations`);
  expect(res.status).toBe(400);
  expect(res.body.error.details[0].field).toBe("task_type");
});

test("execution records are written in batches off the request path, and stop() writes what is pending", async () => {
  const quiet = await svc.restart({ tuning: { minSampleSize: 5, recorder: { flushIntervalMs: 60_000 } } });
  const written = async () => {
    const [row] = await svc.database.db
      .select({ n: count() })
      .from(modelExecutions)
      .where(eq(modelExecutions.taskType, "keywords"));
    return row?.n;
  };
  try {
    await quiet.call("PUT", `${API}/models/kw`, model("small", ["keywords"]));
    for (let i = 0; i < 3; i++) {
      expect(
        (await quiet.call("POST", `${API}/infer`, { task_type: "keywords", model: "kw", prompt: "a" }))
          .status,
      ).toBe(200);
    }
    expect(await written()).toBe(0);
  } finally {
    await quiet.close();
  }
  expect(await written()).toBe(3);
});
