import { z } from "zod";
import { validate } from "../../../../shared/http/validate.ts";
import { queryPerformance } from "../records/performance-query.ts";
import { recommend } from "../records/recommendations.ts";
import { windowSchema } from "../records/window.ts";
import { API_BASE, type RouteContext } from "./route-context.ts";

export const RECOMMENDATION_WINDOW = "7d";

const querySchema = z.object({
  task_type: z.string().min(1).max(100),
  window: windowSchema.prefault(RECOMMENDATION_WINDOW),
});

const responseSchema = z.object({
  task_type: z.string(),
  window_ms: z.number(),
  min_sample_size: z.int(),
  recommendations: z.array(
    z.object({
      model: z.string(),
      rank: z.int(),
      score: z.number(),
      confidence: z.number(),
      count: z.int(),
      success_rate: z.number(),
      p50_latency_ms: z.number().nullable(),
      quality_score: z.number().nullable(),
      reason: z.string(),
    }),
  ),
  insufficient_data: z.array(z.object({ model: z.string(), count: z.int() })),
});

export function registerRecommendationsRoute({
  api,
  openapi,
  database,
  recorder,
  catalog,
  now,
  tuning,
}: RouteContext): void {
  const path = `${API_BASE}/recommendations`;
  api.get(path, validate("query", querySchema), async (c) => {
    const { task_type, window } = c.req.valid("query");
    await recorder.flush();
    const rows = await queryPerformance(database, { since: new Date(now() - window), taskType: task_type });
    const registered = rows.filter((r) => catalog.get(r.model)?.model.task_types.includes(task_type));
    return c.json({ window_ms: window, ...recommend(task_type, registered, tuning.minSampleSize) });
  });
  openapi.add({
    method: "get",
    path,
    summary: "Models ranked for a task type from their recorded executions, with confidence and a reason",
    tags: ["statistics"],
    auth: "apiKey",
    query: querySchema,
    responses: {
      200: { description: "Ranked models and those without enough data yet", schema: responseSchema },
    },
  });
}
