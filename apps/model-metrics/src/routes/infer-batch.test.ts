import { afterAll, beforeAll, expect, test } from "bun:test";
import { BUILTIN_MODELS } from "../registry/model.ts";
import { LocalModelServer } from "../testing/local-model-server.ts";
import { API, startTestService } from "../testing/test-service.ts";

let svc: Awaited<ReturnType<typeof startTestService>>;
// A prompt containing "crash" makes the host answer 500.
const host = new LocalModelServer({
  respond: (prompt) => (prompt.includes("crash") ? { failWith: 500 } : { delayMs: 20 }),
});

beforeAll(async () => {
  svc = await startTestService("mm_batch", {
    models: [
      ...BUILTIN_MODELS,
      {
        id: "local-llm",
        provider: "openai",
        base_url: host.url,
        model: "llama3.2:1b",
        tier: "small",
        task_types: ["generate"],
        max_concurrency: 10,
        timeout_ms: 5000,
      },
    ],
  });
});
afterAll(async () => {
  await svc.drop();
  await host.stop();
});

test("a batch with failing items answers every item in request order and counts both outcomes", async () => {
  const items = [
    { task_type: "generate", model: "local-llm", prompt: "one" },
    { task_type: "generate", model: "local-llm", prompt: "crash two" },
    { task_type: "sentiment", prompt: "What a lovely day" },
    { task_type: "generate", model: "missing-model", prompt: "four" },
    { task_type: "generate", model: "local-llm", prompt: "five" },
    { task_type: "generate", model: "builtin-sentiment", prompt: "six" },
  ];
  const res = await svc.call("POST", `${API}/infer/batch`, { items, concurrency: 3 });
  expect(res.status).toBe(200);
  expect(res.body.succeeded).toBe(3);
  expect(res.body.failed).toBe(3);
  expect(res.body.duration_ms).toBeGreaterThan(0);
  const results = res.body.results;
  expect(results.map((r: { ok: boolean }) => r.ok)).toEqual([true, false, true, false, true, false]);
  expect(results[0]).toMatchObject({ ok: true, model: "local-llm", output: "Answer to: one" });
  expect(results[1].error.code).toBe("UPSTREAM_FAILED");
  expect(results[2]).toMatchObject({ ok: true, model: "builtin-sentiment", output: { label: "positive" } });
  expect(results[3].error).toEqual({ code: "NOT_FOUND", message: "model missing-model not found" });
  expect(results[4].output).toBe("Answer to: five");
  expect(results[5].error.code).toBe("BAD_REQUEST");
});

test("a batch of 100 items at concurrency 10 against a 20 ms model finishes in well under a second", async () => {
  const items = Array.from({ length: 100 }, (_, i) => ({
    task_type: "generate",
    model: "local-llm",
    prompt: `n${i}`,
  }));
  const res = await svc.call("POST", `${API}/infer/batch`, { items, concurrency: 10 });
  expect(res.body.succeeded).toBe(100);
  expect(res.body.results[99].output).toBe("Answer to: n99");
  // Ten rounds of 20 ms.
  expect(res.body.duration_ms).toBeGreaterThanOrEqual(200);
  expect(res.body.duration_ms).toBeLessThan(1000);
});

test("a batch over 1000 items, or with an invalid item, is refused naming the field", async () => {
  const tooMany = Array.from({ length: 1001 }, () => ({ task_type: "sentiment", prompt: "x" }));
  const big = await svc.call("POST", `${API}/infer/batch`, { items: tooMany });
  expect(big.status).toBe(400);
  expect(big.body.error.details[0].field).toBe("items");

  const invalid = await svc.call("POST", `${API}/infer/batch`, {
    items: [{ task_type: "sentiment", prompt: "x" }, { prompt: "no task type" }],
  });
  expect(invalid.status).toBe(400);
  expect(invalid.body.error.details[0].field).toBe("items.1.task_type");
});

test("compare runs one prompt on several models and ranks them by quality, speed and success", async () => {
  await svc.call("PUT", `${API}/models/local-llm-2`, {
    provider: "ollama",
    base_url: host.url,
    model: "qwen2.5:0.5b",
    tier: "small",
    task_types: ["summarize"],
    max_concurrency: 2,
    timeout_ms: 5000,
  });
  const res = await svc.call("POST", `${API}/compare`, {
    task_type: "summarize",
    prompt: "Otters hold hands while sleeping so they do not drift apart. Otters also use rocks as tools.",
    models: ["builtin-summarize", "local-llm-2", "local-llm"],
    expect: { keywords: ["otters"] },
  });
  expect(res.status).toBe(200);
  expect(res.body.task_type).toBe("summarize");
  const byModel = Object.fromEntries(res.body.results.map((r: { model: string }) => [r.model, r]));
  // The builtin model answers in-process, so it is the fastest and scores 0.6 × 1 + 0.4 × 1.
  expect(res.body.best).toBe("builtin-summarize");
  expect(byModel["builtin-summarize"]).toMatchObject({ rank: 1, ok: true, score: 1 });
  expect(byModel["local-llm-2"]).toMatchObject({ rank: 2, ok: true });
  expect(byModel["local-llm-2"].score).toBeLessThan(1);
  expect(byModel["local-llm"]).toMatchObject({ rank: 3, ok: false, score: 0 });
  expect(byModel["local-llm"].error.code).toBe("BAD_REQUEST");
});
