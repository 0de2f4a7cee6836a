import { z } from "zod";
import { ApiError } from "../../../../shared/errors.ts";
import { requestLog } from "../../../../shared/http/context.ts";
import { jsonBody } from "../../../../shared/http/validate.ts";
import { inferRequestSchema, inferResponseSchema } from "../inference/infer-request.ts";
import { mapWithConcurrency } from "../inference/map-with-concurrency.ts";
import { API_BASE, type RouteContext } from "./route-context.ts";

const batchResultSchema = z.union([
  inferResponseSchema.extend({ ok: z.literal(true) }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);

export function registerInferBatchRoute({ api, openapi, engine, tuning }: RouteContext): void {
  const path = `${API_BASE}/infer/batch`;
  const requestSchema = z.object({
    items: z.array(inferRequestSchema).min(1).max(tuning.maxBatchItems),
    /** Items in flight at once; each model's own max_concurrency still applies. */
    concurrency: z.int().min(1).max(tuning.maxBatchConcurrency).optional(),
  });
  const responseSchema = z.object({
    results: z.array(batchResultSchema),
    succeeded: z.int(),
    failed: z.int(),
    duration_ms: z.number(),
  });

  api.post(path, ...jsonBody(requestSchema), async (c) => {
    const { items, concurrency = tuning.defaultBatchConcurrency } = c.req.valid("json");
    const started = performance.now();
    const results = await mapWithConcurrency(items, concurrency, async (item) => {
      try {
        return { ok: true as const, ...(await engine.infer(item)) };
      } catch (err) {
        if (!(err instanceof ApiError)) requestLog(c).error({ err }, "inference failed unexpectedly");
        const { code, message } =
          err instanceof ApiError ? err : { code: "INTERNAL", message: "internal server error" };
        return { ok: false as const, error: { code, message } };
      }
    });
    const succeeded = results.filter((r) => r.ok).length;
    return c.json({
      results,
      succeeded,
      failed: results.length - succeeded,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
    });
  });
  openapi.add({
    method: "post",
    path,
    summary: "Run up to 1000 inferences with bounded concurrency; each item gets its own result or error",
    tags: ["inference"],
    auth: "apiKey",
    body: requestSchema,
    responses: { 200: { description: "Results in request order", schema: responseSchema } },
  });
}
