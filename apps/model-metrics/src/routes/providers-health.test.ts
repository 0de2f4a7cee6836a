import { afterAll, beforeAll, expect, test } from "bun:test";
import { BUILTIN_MODELS } from "../registry/model.ts";
import { LocalModelServer } from "../testing/local-model-server.ts";
import { API, startTestService } from "../testing/test-service.ts";

let svc: Awaited<ReturnType<typeof startTestService>>;
const ollamaHost = new LocalModelServer({ models: ["llama3.2:1b"] });
const openaiHost = new LocalModelServer({ apiKey: "sk-health", models: ["qwen2.5:0.5b"] });
const goneHost = new LocalModelServer();

beforeAll(async () => {
  await goneHost.stop();
  const model = { tier: "small", task_types: ["generate"], max_concurrency: 2, timeout_ms: 2000 };
  svc = await startTestService("mm_health", {
    env: { MODEL_API_KEY_HEALTH: "sk-health" },
    models: [
      ...BUILTIN_MODELS,
      { ...model, id: "ollama-up", provider: "ollama", base_url: ollamaHost.url, model: "llama3.2:1b" },
      { ...model, id: "ollama-unpulled", provider: "ollama", base_url: ollamaHost.url, model: "mistral:7b" },
      {
        ...model,
        id: "openai-up",
        provider: "openai",
        base_url: openaiHost.url,
        model: "qwen2.5:0.5b",
        api_key_env: "MODEL_API_KEY_HEALTH",
      },
      { ...model, id: "ollama-gone", provider: "ollama", base_url: goneHost.url, model: "llama3.2:1b" },
    ],
  });
});
afterAll(async () => {
  await svc.drop();
  await Promise.all([ollamaHost.stop(), openaiHost.stop()]);
});

test("with one model host down, providers/health reports it degraded while /ready stays 200", async () => {
  const res = await svc.call("GET", `${API}/providers/health`);
  expect(res.status).toBe(200);
  expect(res.body.status).toBe("degraded");
  const byUrl = Object.fromEntries(
    res.body.providers.map((p: { base_url: string | null }) => [p.base_url, p]),
  );

  expect(byUrl[ollamaHost.url]).toMatchObject({
    provider: "ollama",
    status: "up",
    models: [
      { id: "ollama-unpulled", model: "mistral:7b", listed: false, circuit: "closed" },
      { id: "ollama-up", model: "llama3.2:1b", listed: true, circuit: "closed" },
    ],
  });
  expect(byUrl[openaiHost.url]).toMatchObject({ provider: "openai", status: "up" });
  expect(byUrl[goneHost.url]).toMatchObject({ provider: "ollama", status: "down" });
  expect(byUrl[goneHost.url].error).toContain("unreachable");
  expect(byUrl.null).toMatchObject({ provider: "builtin", status: "up" });

  const ready = await svc.service.app.request("/ready");
  expect(ready.status).toBe(200);

  const down = await svc.call("POST", `${API}/infer`, {
    task_type: "generate",
    model: "ollama-gone",
    prompt: "hi",
  });
  expect(down.status).toBe(502);
  const up = await svc.call("POST", `${API}/infer`, {
    task_type: "generate",
    model: "ollama-up",
    prompt: "hi",
  });
  expect(up.status).toBe(200);
});

test("the OpenAPI document lists every model-metrics operation", async () => {
  const res = await svc.service.app.request("/openapi.json");
  const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
  const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
  );
  expect(operations.sort()).toEqual([
    "GET /api/v1/model-metrics/models",
    "GET /api/v1/model-metrics/models/{id}",
    "GET /api/v1/model-metrics/performance",
    "GET /api/v1/model-metrics/providers/health",
    "GET /api/v1/model-metrics/recommendations",
    "POST /api/v1/model-metrics/compare",
    "POST /api/v1/model-metrics/infer",
    "POST /api/v1/model-metrics/infer/batch",
    "PUT /api/v1/model-metrics/models/{id}",
  ]);
});
