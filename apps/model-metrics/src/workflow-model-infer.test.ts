import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Coordinator, startCoordinator } from "../../workflow-coordinator/src/testing/coordinator.ts";
import { BUILTIN_MODELS } from "./registry/model.ts";
import { API, startTestService, TEST_API_KEY } from "./testing/test-service.ts";

let metrics: Awaited<ReturnType<typeof startTestService>>;
let server: ReturnType<typeof Bun.serve>;
let coordinator: Coordinator;

beforeAll(async () => {
  metrics = await startTestService("mm_workflow", { models: BUILTIN_MODELS });
  server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: metrics.service.app.fetch });
  coordinator = await startCoordinator("", {
    database: metrics.database,
    modelMetricsUrl: `http://127.0.0.1:${server.port}`,
    modelMetricsApiKey: TEST_API_KEY,
  });
});
afterAll(async () => {
  await coordinator.stop();
  await server.stop(true);
  await metrics.drop();
});

test("a workflow's model_infer task runs through model-metrics and its execution is recorded", async () => {
  const started = await coordinator.call("POST", "/api/v1/workflows/execute", {
    workflow_definition: {
      name: "review-triage",
      tasks: [
        { id: "mood", type: "model_infer", params: { task_type: "sentiment", prompt: "{{input.review}}" } },
      ],
    },
    input: { review: "Fast delivery and a wonderful product, I love it." },
  });
  expect(started.status).toBe(202);
  const done = await coordinator.waitFor(started.body.workflow_id, ["completed", "failed"]);
  expect(done.status).toBe("completed");
  expect(done.tasks[0]?.output).toMatchObject({
    model: "builtin-sentiment",
    output: { label: "positive" },
    quality_score: 1,
  });

  const perf = await metrics.call("GET", `${API}/performance?task_type=sentiment`);
  expect(perf.body.models).toMatchObject([
    { model: "builtin-sentiment", task_type: "sentiment", count: 1, success_rate: 1 },
  ]);
});
