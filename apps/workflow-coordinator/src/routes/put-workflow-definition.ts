import { z } from "zod";
import { ApiError } from "../../../../shared/errors.ts";
import { jsonBody } from "../../../../shared/http/validate.ts";
import { definitionSchema } from "../definition/schema.ts";
import { assertValidDag } from "../definition/validate.ts";
import type { RouteDeps } from "./context.ts";

const putBody = definitionSchema.extend({ name: definitionSchema.shape.name.optional() });
const putResponse = z.object({ name: z.string(), version: z.number(), created_at: z.string() });

export function registerPutWorkflowDefinition({ app, openapi, definitions }: RouteDeps): void {
  openapi.add({
    method: "put",
    path: "/api/v1/workflow-definitions/:name",
    summary: "Register a new version of a definition; runs keep the version they started with",
    tags: ["workflow-definitions"],
    auth: "apiKey",
    body: putBody,
    responses: { 201: { description: "registered", schema: putResponse }, 400: { description: "invalid" } },
  });
  app.put("/api/v1/workflow-definitions/:name", ...jsonBody(putBody), async (c) => {
    const name = c.req.param("name");
    const body = c.req.valid("json");
    if (body.name !== undefined && body.name !== name) {
      throw new ApiError(400, "VALIDATION_FAILED", "invalid request body: name", {
        details: [{ field: "name", message: `body names "${body.name}" but the path names "${name}"` }],
      });
    }
    const parsed = definitionSchema.safeParse({ ...body, name });
    if (!parsed.success) {
      throw new ApiError(400, "VALIDATION_FAILED", "invalid request body: name", {
        details: [{ field: "name", message: parsed.error.issues[0]?.message ?? "invalid name" }],
      });
    }
    assertValidDag(parsed.data);
    const stored = await definitions.put(parsed.data);
    return c.json(
      { name: stored.name, version: stored.version, created_at: stored.createdAt.toISOString() },
      201,
    );
  });
}
