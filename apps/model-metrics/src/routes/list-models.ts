import { z } from "zod";
import { modelResponseSchema } from "../registry/model.ts";
import { API_BASE, type RouteContext } from "./route-context.ts";

export function registerListModelsRoute({ api, openapi, catalog }: RouteContext): void {
  const path = `${API_BASE}/models`;
  api.get(path, (c) => c.json({ models: catalog.list() }));
  openapi.add({
    method: "get",
    path,
    summary: "List the registered models",
    tags: ["models"],
    auth: "apiKey",
    responses: {
      200: { description: "Every model, by id", schema: z.object({ models: z.array(modelResponseSchema) }) },
    },
  });
}
