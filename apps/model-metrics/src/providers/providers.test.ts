import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BUILTIN_MODELS } from "../registry/model.ts";
import { LocalModelServer } from "../testing/local-model-server.ts";
import { API, startTestService } from "../testing/test-service.ts";

const ollamaHost = new LocalModelServer();
const openaiHost = new LocalModelServer({ apiKey: "sk-local" });
let svc: Awaited<ReturnType<typeof startTestService>>;

beforeAll(async () => {
  svc = await startTestService("mm_providers", {
    models: [
      ...BUILTIN_MODELS,
      {
        id: "ollama-llama",
        provider: "ollama",
        base_url: ollamaHost.url,
        model: "llama3.2:1b",
        tier: "small",
        task_types: ["generate", "summarize"],
        max_concurrency: 4,
        timeout_ms: 5000,
      },
      {
        id: "openai-qwen",
        provider: "openai",
        base_url: `${openaiHost.url}/v1`,
        model: "qwen2.5:0.5b",
        tier: "small",
        task_types: ["generate", "json"],
        max_concurrency: 4,
        timeout_ms: 5000,
        api_key_env: "MODEL_API_KEY_LOCAL",
      },
    ],
    env: { MODEL_API_KEY_LOCAL: "sk-local" },
  });
});

afterAll(async () => {
  await svc.drop();
  await Promise.all([ollamaHost.stop(), openaiHost.stop()]);
});

describe("ollama provider", () => {
  test("sends /api/generate without streaming and answers with the token counts and speed Ollama reports", async () => {
    const res = await svc.call("POST", `${API}/infer`, {
      task_type: "generate",
      model: "ollama-llama",
      prompt: "Write three words",
      params: { temperature: 0.1, system: "be brief" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      output: "Answer to: Write three words",
      model: "ollama-llama",
      tokens_in: 3,
      tokens_out: 5,
      // The local host reports 10 ms of eval_duration per token.
      tokens_per_second: 100,
    });
    expect(res.body.latency_ms).toBeGreaterThan(0);
    expect(res.body.quality_score).toBe(1);
    expect(ollamaHost.requests.at(-1)).toMatchObject({
      path: "/api/generate",
      body: {
        model: "llama3.2:1b",
        prompt: "Write three words",
        stream: false,
        system: "be brief",
        options: { temperature: 0.1 },
      },
    });
    const metrics = await svc.registry.metrics();
    expect(metrics).toContain('model_tokens_total{model="ollama-llama",direction="in"} 3');
    expect(metrics).toContain('model_tokens_total{model="ollama-llama",direction="out"} 5');
    expect(metrics).toContain('model_quality_score_count{model="ollama-llama",task_type="generate"} 1');
    expect(metrics).toContain('model_in_flight{model="ollama-llama"} 0');
  });

  test("a length range in expect scores an answer outside it by how far it misses", async () => {
    const res = await svc.call("POST", `${API}/infer`, {
      task_type: "generate",
      model: "ollama-llama",
      prompt: "abc",
      expect: { length: { max: 7 } },
    });
    // "Answer to: abc" is 14 characters: heuristic 1, length 7 / 14 → mean 0.75
    expect(res.body.quality_score).toBe(0.75);
  });
});

describe("openai-compatible provider", () => {
  test("sends /v1/chat/completions with the key from api_key_env and answers with usage token counts", async () => {
    const res = await svc.call("POST", `${API}/infer`, {
      task_type: "generate",
      model: "openai-qwen",
      input: { text: "Name a colour" },
      params: { max_tokens: 16 },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      output: "Answer to: Name a colour",
      model: "openai-qwen",
      tokens_in: 3,
      tokens_out: 5,
    });
    expect(res.body.tokens_per_second).toBeGreaterThan(0);
    expect(openaiHost.requests.at(-1)).toMatchObject({
      path: "/v1/chat/completions",
      authorization: "Bearer sk-local",
      body: { model: "qwen2.5:0.5b", max_tokens: 16, messages: [{ role: "user", content: "Name a colour" }] },
    });
  });

  test("a host answering 500 gives 502 UPSTREAM_FAILED naming the model", async () => {
    openaiHost.failWith = 500;
    try {
      const res = await svc.call("POST", `${API}/infer`, {
        task_type: "generate",
        model: "openai-qwen",
        prompt: "hi",
      });
      expect(res.status).toBe(502);
      expect(res.body.error.code).toBe("UPSTREAM_FAILED");
      expect(res.body.error.message).toContain("openai-qwen");
    } finally {
      openaiHost.failWith = undefined;
    }
  });

  test("a JSON schema in expect scores an answer that does not match it lower", async () => {
    const res = await svc.call("POST", `${API}/infer`, {
      task_type: "json",
      model: "openai-qwen",
      prompt: "Give me JSON",
      expect: { json_schema: { type: "object", required: ["name"] }, keywords: ["Answer"] },
    });
    expect(res.status).toBe(200);
    // heuristic 0.5 (not JSON), keywords 1, schema 0 → mean 0.5
    expect(res.body.quality_score).toBe(0.5);
  });
});

describe("builtin provider", () => {
  test("runs sentiment, entities, keywords and summaries in-process", async () => {
    const text =
      "Acme opened a new office in Berlin on 5 March 2024 for $2 million. The staff love the new office. " +
      "The office has a great view. Rain fell in the afternoon.";
    const infer = (task_type: string) => svc.call("POST", `${API}/infer`, { task_type, prompt: text });

    const sentiment = await infer("sentiment");
    expect(sentiment.status).toBe(200);
    expect(sentiment.body.model).toBe("builtin-sentiment");
    expect(sentiment.body.output.label).toBe("positive");
    expect(sentiment.body.tokens_in).toBeGreaterThan(20);

    const entities = await infer("entities");
    expect(entities.body.output.entities).toContainEqual({ value: "5 March 2024", type: "DATE" });
    expect(entities.body.output.entities).toContainEqual({ value: "$2 million", type: "MONEY" });

    const keywords = await infer("keywords");
    expect(keywords.body.output.keywords[0]).toEqual({ term: "office", count: 3 });

    const summary = await infer("summarize");
    expect(summary.body.output.summary.length).toBeLessThan(text.length);
    expect(summary.body.output.summary).toContain("office");
    expect(summary.body.quality_score).toBe(1);

    const negative = await svc.call("POST", `${API}/infer`, {
      task_type: "sentiment",
      prompt: "This is terrible, I hate it and it is awful.",
    });
    expect(negative.body.output.label).toBe("negative");
  });

  test("a model asked for a task type it does not serve answers 400", async () => {
    const res = await svc.call("POST", `${API}/infer`, {
      task_type: "generate",
      model: "builtin-sentiment",
      prompt: "hi",
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain("does not serve task type generate");
  });

  test("a request without prompt or input fails validation naming the field", async () => {
    const res = await svc.call("POST", `${API}/infer`, { task_type: "sentiment" });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
    expect(res.body.error.details).toContainEqual({ field: "prompt", message: "give prompt or input" });
  });
});
