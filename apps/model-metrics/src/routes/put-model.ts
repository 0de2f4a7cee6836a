import { z } from "zod";
import { ApiError } from "../../../../shared/errors.ts";
import { jsonBody } from "../../../../shared/http/validate.ts";
import { modelIdSchema, modelResponseSchema, modelSpecSchema } from "../registry/model.ts";
import { API_BASE, type RouteContext } from "./route-context.ts";

/** The body may repeat the path's id, as a `GET` answer sent back would. */
const bodySchema = modelSpecSchema.and(z.object({ id: z.string().optional() }));

const invalidId = (message: string) =>
  new ApiError(400, "VALIDATION_FAILED", `invalid model id: ${message}`, {
    details: [{ field: "id", message }],
  });

export function registerPutModelRoute({ api, openapi, catalog }: RouteContext): void {
  const path = `${API_BASE}/models/:id`;
  api.put(path, ...jsonBody(bodySchema), async (c) => {
    const id = c.req.param("id");
    const parsedId = modelIdSchema.safeParse(id);
    if (!parsedId.success) throw invalidId(parsedId.error.issues[0]?.message ?? "invalid");
    const { id: bodyId, ...spec } = c.req.valid("json");
    if (bodyId !== undefined && bodyId !== id) throw invalidId("the body's id differs from the path's");
    const model = { id, ...spec };
    const { created } = await catalog.put(model);
    return c.json(model, created ? 201 : 200);
  });
  openapi.add({
    method: "put",
    path,
    summary: "Register or replace a model; takes effect at once and is kept in Postgres",
    tags: ["models"],
    auth: "apiKey",
    body: modelSpecSchema,
    responses: {
      200: { description: "Replaced", schema: modelResponseSchema },
      201: { description: "Registered", schema: modelResponseSchema },
      400: { description: "Invalid model" },
    },
  });
}
