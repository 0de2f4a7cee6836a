import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../../../shared/logger.ts";
import { createRegistry } from "../../../../shared/metrics.ts";
import { modelMetricsEntry } from "../entry.ts";
import { API, startTestService } from "../testing/test-service.ts";
import { BUILTIN_MODELS } from "./model.ts";

let svc: Awaited<ReturnType<typeof startTestService>>;

beforeAll(async () => {
  svc = await startTestService("mm_models", { models: BUILTIN_MODELS });
});
afterAll(() => svc.drop());

const vllm = {
  provider: "openai",
  base_url: "http://gpu-1.internal:8000",
  model: "meta-llama/Llama-3.1-8B-Instruct",
  tier: "medium",
  task_types: ["generate", "summarize"],
  max_concurrency: 8,
  timeout_ms: 20000,
  api_key_env: "MODEL_API_KEY_VLLM",
};

test("the builtin models are registered on start", async () => {
  const res = await svc.call("GET", `${API}/models`);
  expect(res.status).toBe(200);
  expect(res.body.models.map((m: { id: string }) => m.id)).toEqual([
    "builtin-entities",
    "builtin-keywords",
    "builtin-sentiment",
    "builtin-summarize",
  ]);
});

test("PUT registers a model (201), replaces it (200), and it survives a restart", async () => {
  const created = await svc.call("PUT", `${API}/models/vllm-8b`, vllm);
  expect(created.status).toBe(201);
  expect(created.body).toEqual({ id: "vllm-8b", ...vllm });

  const replaced = await svc.call("PUT", `${API}/models/vllm-8b`, { ...vllm, max_concurrency: 2 });
  expect(replaced.status).toBe(200);

  const restarted = await svc.restart({ models: [] });
  try {
    const listed = await restarted.call("GET", `${API}/models`);
    expect(listed.body.models.map((m: { id: string }) => m.id)).toEqual([
      "builtin-entities",
      "builtin-keywords",
      "builtin-sentiment",
      "builtin-summarize",
      "vllm-8b",
    ]);
    const one = await restarted.call("GET", `${API}/models/vllm-8b`);
    expect(one.body).toEqual({ id: "vllm-8b", ...vllm, max_concurrency: 2 });
  } finally {
    await restarted.close();
  }
});

test("a model without base_url for an HTTP provider, or with a bad provider, is refused naming the fields", async () => {
  const res = await svc.call("PUT", `${API}/models/broken`, {
    ...vllm,
    base_url: undefined,
    provider: "bard",
  });
  expect(res.status).toBe(400);
  expect(res.body.error.code).toBe("VALIDATION_FAILED");
  expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain("provider");

  const noUrl = await svc.call("PUT", `${API}/models/broken`, { ...vllm, base_url: undefined });
  expect(noUrl.status).toBe(400);
  expect(noUrl.body.error.details).toContainEqual({
    field: "base_url",
    message: "base_url is required for ollama and openai models",
  });
});

test("an unknown model answers 404 in the one error body", async () => {
  const res = await svc.call("GET", `${API}/models/nope`);
  expect(res.status).toBe(404);
  expect(res.body.error).toMatchObject({ code: "NOT_FOUND", message: "model nope not found" });
  expect(res.headers.get("x-request-id")).toBeTruthy();
});

test("the API needs a key", async () => {
  const res = await svc.service.app.request(`${API}/models`);
  expect(res.status).toBe(401);
});

test("MODELS_FILE is read with the PUT schema at boot", async () => {
  const dir = await mkdtemp(join(tmpdir(), "models-file-"));
  try {
    const file = join(dir, "models.json");
    await writeFile(file, JSON.stringify({ models: [{ id: "from-file", ...vllm }] }));
    const platform = {
      config: { MODELS_FILE: file },
      logger: silentLogger,
      registry: createRegistry({ defaultMetrics: false }),
      database: svc.database,
      apiKeys: ["file-key"],
    } as unknown as Parameters<typeof modelMetricsEntry.build>[0];
    const service = await modelMetricsEntry.build(platform);
    await service.start();
    try {
      const res = await service.app.request(`${API}/models/from-file`, {
        headers: { "x-api-key": "file-key" },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ id: "from-file", tier: "medium" });
    } finally {
      await service.stop();
    }

    await writeFile(file, JSON.stringify([{ id: "bad", ...vllm, max_concurrency: 0 }]));
    await expect(modelMetricsEntry.build(platform)).rejects.toThrow(
      /MODELS_FILE .* is not a valid models list/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a model id with spaces, or a body id that differs from the path, is refused", async () => {
  const spaced = await svc.call("PUT", `${API}/models/${encodeURIComponent("has space")}`, vllm);
  expect(spaced.status).toBe(400);
  expect(spaced.body.error.details[0].field).toBe("id");
  const differs = await svc.call("PUT", `${API}/models/one`, { ...vllm, id: "two" });
  expect(differs.status).toBe(400);
  expect(differs.body.error.message).toBe("invalid model id: the body's id differs from the path's");
});
