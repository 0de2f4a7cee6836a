import { z } from "zod";
import type { RouteDeps } from "./context.ts";

const listResponse = z.object({
  definitions: z.array(
    z.object({ name: z.string(), version: z.number(), created_at: z.string(), definition: z.unknown() }),
  ),
});

export function registerListWorkflowDefinitions({ app, openapi, definitions }: RouteDeps): void {
  openapi.add({
    method: "get",
    path: "/api/v1/workflow-definitions",
    summary: "The latest version of every registered definition",
    tags: ["workflow-definitions"],
    auth: "apiKey",
    responses: { 200: { description: "definitions", schema: listResponse } },
  });
  app.get("/api/v1/workflow-definitions", async (c) => {
    const rows = await definitions.latest();
    return c.json({
      definitions: rows.map((d) => ({
        name: d.name,
        version: d.version,
        created_at: d.createdAt.toISOString(),
        definition: d.definition,
      })),
    });
  });
}
