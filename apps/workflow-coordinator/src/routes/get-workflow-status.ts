import { notFound } from "../../../../shared/errors.ts";
import { TERMINAL_WORKFLOW_STATUSES } from "../definition/schema.ts";
import { toStatusView } from "../store/status.ts";
import { type RouteDeps, runIdParam, statusResponseSchema, TAGS } from "./context.ts";

export function registerGetWorkflowStatus({ app, openapi, runs, statusCache }: RouteDeps): void {
  openapi.add({
    method: "get",
    path: "/api/v1/workflows/:id/status",
    summary: "A run's status with its tasks, read from the cache with Postgres behind it",
    tags: TAGS,
    auth: "apiKey",
    responses: {
      200: { description: "status", schema: statusResponseSchema },
      404: { description: "unknown run" },
    },
  });
  app.get("/api/v1/workflows/:id/status", async (c) => {
    const id = runIdParam(c.req.param("id"));
    const cached = await statusCache.get(id);
    if (cached !== null) return c.body(cached, 200, { "Content-Type": "application/json" });
    const loaded = await runs.loadRun(id);
    if (!loaded) throw notFound(`workflow ${id}`);
    const body = JSON.stringify(toStatusView(loaded.run, loaded.tasks));
    // Only a terminal status is safe to fill in from here: an active run's owner writes its own.
    if (TERMINAL_WORKFLOW_STATUSES.includes(loaded.run.status)) statusCache.write(id, () => body);
    return c.body(body, 200, { "Content-Type": "application/json" });
  });
}
