import { z } from "zod";
import { validate } from "../../../../shared/http/validate.ts";
import { queryPerformance } from "../records/performance-query.ts";
import { windowSchema } from "../records/window.ts";
import { API_BASE, type RouteContext } from "./route-context.ts";

const querySchema = z.object({
  model: z.string().min(1).optional(),
  task_type: z.string().min(1).optional(),
  window: windowSchema.prefault("24h"),
});

const latencySchema = z.object({
  p50: z.number().nullable(),
  p95: z.number().nullable(),
  p99: z.number().nullable(),
});
const responseSchema = z.object({
  window_ms: z.number(),
  models: z.array(
    z.object({
      model: z.string(),
      task_type: z.string(),
      count: z.int(),
      success_rate: z.number(),
      latency_ms: latencySchema,
      tokens_per_second: z.number().nullable(),
      quality_score: z.number().nullable(),
    }),
  ),
});

export function registerPerformanceRoute({ api, openapi, database, recorder, now }: RouteContext): void {
  const path = `${API_BASE}/performance`;
  api.get(path, validate("query", querySchema), async (c) => {
    const { model, task_type, window } = c.req.valid("query");
    // Written records only: flushing first lets a caller see the executions it just made.
    await recorder.flush();
    const models = await queryPerformance(database, {
      since: new Date(now() - window),
      model,
      taskType: task_type,
    });
    return c.json({ window_ms: window, models });
  });
  openapi.add({
    method: "get",
    path,
    summary:
      "Count, success rate, latency percentiles (computed in Postgres), tokens/s and quality per model and task type",
    tags: ["statistics"],
    auth: "apiKey",
    query: querySchema,
    responses: { 200: { description: "One entry per model and task type", schema: responseSchema } },
  });
}
