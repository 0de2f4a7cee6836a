import { z } from "zod";
import { ApiError } from "../../../../shared/errors.ts";
import { jsonBody } from "../../../../shared/http/validate.ts";
import { definitionSchema, type WorkflowDefinition } from "../definition/schema.ts";
import { assertValidDag } from "../definition/validate.ts";
import { type RouteDeps, TAGS } from "./context.ts";

const executeBody = z
  .object({
    workflow_definition: definitionSchema.optional(),
    workflow: z.string().min(1).optional(),
    version: z.number().int().min(1).optional(),
    input: z.record(z.string(), z.json()).default({}),
    priority: z.number().int().min(-1000).max(1000).default(0),
    idempotency_key: z.string().min(1).max(256).optional(),
  })
  .refine((b) => (b.workflow_definition === undefined) !== (b.workflow === undefined), {
    message: "send exactly one of workflow_definition or workflow",
    path: ["workflow"],
  });

const executeResponse = z.object({ workflow_id: z.string(), status: z.string() });

export function registerExecuteWorkflow({ app, openapi, scheduler, definitions }: RouteDeps): void {
  openapi.add({
    method: "post",
    path: "/api/v1/workflows/execute",
    summary: "Start a workflow from an inline or registered definition",
    tags: TAGS,
    auth: "apiKey",
    body: executeBody,
    responses: {
      202: { description: "started", schema: executeResponse },
      200: { description: "a run with this idempotency_key already exists", schema: executeResponse },
      400: { description: "invalid definition" },
      404: { description: "no registered definition of that name" },
    },
  });
  app.post("/api/v1/workflows/execute", ...jsonBody(executeBody), async (c) => {
    const body = c.req.valid("json");
    let definition: WorkflowDefinition;
    let version: number | null = null;
    if (body.workflow_definition) {
      definition = body.workflow_definition;
      assertValidDag(definition, "workflow_definition");
    } else {
      const stored = await definitions.get(body.workflow ?? "", body.version);
      if (!stored) {
        const what = body.version ? `${body.workflow} version ${body.version}` : body.workflow;
        throw new ApiError(404, "NOT_FOUND", `workflow definition ${what} not found`);
      }
      definition = stored.definition;
      version = stored.version;
    }
    const { run, created } = await scheduler.startRun({
      definition,
      version,
      input: body.input,
      priority: body.priority,
      idempotencyKey: body.idempotency_key,
    });
    return c.json({ workflow_id: run.id, status: run.status }, created ? 202 : 200);
  });
}
