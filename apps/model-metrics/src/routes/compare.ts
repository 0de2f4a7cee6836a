import { z } from "zod";
import { ApiError } from "../../../../shared/errors.ts";
import { requestLog } from "../../../../shared/http/context.ts";
import { jsonBody } from "../../../../shared/http/validate.ts";
import type { InferResponse } from "../inference/infer-request.ts";
import { expectationSchema } from "../quality/expectation.ts";
import { modelIdSchema } from "../registry/model.ts";
import { API_BASE, type RouteContext } from "./route-context.ts";

/** The compare ranking weights; the README states the same rule. */
export const COMPARE_WEIGHTS = { quality: 0.6, speed: 0.4 } as const;

const requestSchema = z
  .object({
    task_type: z.string().min(1).max(100),
    prompt: z.string().min(1).max(1_000_000).optional(),
    input: z.unknown().optional(),
    models: z.array(modelIdSchema).min(1).max(20),
    params: z.record(z.string(), z.unknown()).optional(),
    expect: expectationSchema.optional(),
  })
  .refine((r) => r.prompt !== undefined || r.input !== undefined, {
    message: "give prompt or input",
    path: ["prompt"],
  })
  .refine((r) => new Set(r.models).size === r.models.length, { message: "models repeat", path: ["models"] });

const resultSchema = z.object({
  model: z.string(),
  rank: z.int(),
  score: z.number(),
  ok: z.boolean(),
  output: z.unknown().optional(),
  latency_ms: z.number().optional(),
  tokens_in: z.int().optional(),
  tokens_out: z.int().optional(),
  tokens_per_second: z.number().optional(),
  quality_score: z.number().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
const responseSchema = z.object({
  task_type: z.string(),
  best: z.string().nullable(),
  results: z.array(resultSchema),
});

type Outcome =
  | { model: string; answer: InferResponse }
  | { model: string; error: { code: string; message: string } };

/**
 * Score per model: 0 when it failed, else 0.6 × quality + 0.4 × speed, where speed is the fastest
 * successful latency divided by this model's latency.
 */
function rank(outcomes: Outcome[]) {
  const latencies = outcomes.flatMap((o) => ("answer" in o ? [o.answer.latency_ms] : []));
  const fastest = latencies.length > 0 ? Math.min(...latencies) : 0;
  return outcomes
    .map((o) => {
      if (!("answer" in o)) return { model: o.model, score: 0, ok: false, error: o.error };
      const { model: _model, escalated_from: _escalated, ...answer } = o.answer;
      const speed = answer.latency_ms > 0 ? fastest / answer.latency_ms : 1;
      const score = COMPARE_WEIGHTS.quality * answer.quality_score + COMPARE_WEIGHTS.speed * speed;
      return { model: o.model, score: Math.round(score * 1000) / 1000, ok: true, ...answer };
    })
    .sort((a, b) => b.score - a.score || a.model.localeCompare(b.model))
    .map((r, index) => ({ rank: index + 1, ...r }));
}

export function registerCompareRoute({ api, openapi, engine }: RouteContext): void {
  const path = `${API_BASE}/compare`;
  api.post(path, ...jsonBody(requestSchema), async (c) => {
    const { models, ...request } = c.req.valid("json");
    const outcomes = await Promise.all(
      models.map(async (model): Promise<Outcome> => {
        try {
          return { model, answer: await engine.infer({ ...request, model, fallback: false }) };
        } catch (err) {
          if (!(err instanceof ApiError))
            requestLog(c).error({ err, model }, "inference failed unexpectedly");
          const { code, message } =
            err instanceof ApiError ? err : { code: "INTERNAL", message: "internal server error" };
          return { model, error: { code, message } };
        }
      }),
    );
    const results = rank(outcomes);
    const best = results.find((r) => r.ok)?.model ?? null;
    return c.json({ task_type: request.task_type, best, results });
  });
  openapi.add({
    method: "post",
    path,
    summary: "Run one prompt on several models at once and rank them by quality, latency and success",
    tags: ["inference"],
    auth: "apiKey",
    body: requestSchema,
    responses: { 200: { description: "Models ranked best first", schema: responseSchema } },
  });
}
