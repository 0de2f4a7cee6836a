import { toStatusView } from "../store/status.ts";
import { type RouteDeps, runIdParam, statusResponseSchema, TAGS } from "./context.ts";

export function registerPauseWorkflow({ app, openapi, scheduler }: RouteDeps): void {
  openapi.add({
    method: "post",
    path: "/api/v1/workflows/:id/pause",
    summary: "Stop scheduling new tasks; running tasks finish",
    tags: TAGS,
    auth: "apiKey",
    responses: {
      200: { description: "the status after the transition", schema: statusResponseSchema },
      404: { description: "unknown run" },
      409: { description: "the run's state does not allow it" },
    },
  });
  app.post("/api/v1/workflows/:id/pause", async (c) => {
    const { run, tasks } = await scheduler.pause(runIdParam(c.req.param("id")));
    return c.json(toStatusView(run, tasks));
  });
}
