import { jsonBody } from "../../../../shared/http/validate.ts";
import { inferRequestSchema, inferResponseSchema } from "../inference/infer-request.ts";
import { API_BASE, type RouteContext } from "./route-context.ts";

export function registerInferRoute({ api, openapi, engine }: RouteContext): void {
  const path = `${API_BASE}/infer`;
  api.post(path, ...jsonBody(inferRequestSchema), async (c) =>
    c.json(await engine.infer(c.req.valid("json"))),
  );
  openapi.add({
    method: "post",
    path,
    summary: "Run one inference; without `model`, the recommended model for the task type answers",
    tags: ["inference"],
    auth: "apiKey",
    body: inferRequestSchema,
    responses: {
      200: { description: "The model's answer, timed and scored", schema: inferResponseSchema },
      400: { description: "Invalid request, or the model does not serve the task type" },
      404: { description: "Unknown model, or no model serves the task type" },
      502: { description: "The model host failed" },
      503: { description: "The model's circuit is open or its queue is full" },
      504: { description: "The model did not answer within its timeout_ms" },
    },
  });
}
