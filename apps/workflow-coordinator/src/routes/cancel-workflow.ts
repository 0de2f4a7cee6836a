import { toStatusView } from "../store/status.ts";
import { type RouteDeps, runIdParam, statusResponseSchema, TAGS } from "./context.ts";

export function registerCancelWorkflow({ app, openapi, scheduler }: RouteDeps): void {
  openapi.add({
    method: "post",
    path: "/api/v1/workflows/:id/cancel",
    summary: "Cancel a run and abort its running tasks",
    tags: TAGS,
    auth: "apiKey",
    responses: {
      200: { description: "the status after the transition", schema: statusResponseSchema },
      404: { description: "unknown run" },
      409: { description: "the run's state does not allow it" },
    },
  });
  app.post("/api/v1/workflows/:id/cancel", async (c) => {
    const { run, tasks } = await scheduler.cancel(runIdParam(c.req.param("id")));
    return c.json(toStatusView(run, tasks));
  });
}
