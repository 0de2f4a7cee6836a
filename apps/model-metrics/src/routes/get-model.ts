import { notFound } from "../../../../shared/errors.ts";
import { modelResponseSchema } from "../registry/model.ts";
import { API_BASE, type RouteContext } from "./route-context.ts";

export function registerGetModelRoute({ api, openapi, catalog }: RouteContext): void {
  const path = `${API_BASE}/models/:id`;
  api.get(path, (c) => {
    const runner = catalog.get(c.req.param("id"));
    if (!runner) throw notFound(`model ${c.req.param("id")}`);
    return c.json(runner.model);
  });
  openapi.add({
    method: "get",
    path,
    summary: "One registered model",
    tags: ["models"],
    auth: "apiKey",
    responses: {
      200: { description: "The model", schema: modelResponseSchema },
      404: { description: "Unknown model" },
    },
  });
}
