import { z } from "zod";
import { ApiError } from "../../../../shared/errors.ts";
import { validate } from "../../../../shared/http/validate.ts";
import { WORKFLOW_STATUSES } from "../definition/schema.ts";
import { ACTIVE_STATUSES, type RunRow } from "../store/runs.ts";
import { listResponseSchema, type RouteDeps, TAGS } from "./context.ts";

const listQuery = z.object({
  status: z.enum(WORKFLOW_STATUSES).optional(),
  name: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: z.string().optional(),
});

const encodeCursor = (run: RunRow) =>
  Buffer.from(`${run.createdAt.toISOString()}|${run.id}`).toString("base64url");

function decodeCursor(cursor: string | undefined): { createdAt: Date; id: string } | undefined {
  if (cursor === undefined) return undefined;
  const [at, id] = Buffer.from(cursor, "base64url").toString().split("|");
  const createdAt = new Date(at ?? "");
  if (!id || Number.isNaN(createdAt.getTime())) {
    throw new ApiError(400, "VALIDATION_FAILED", "invalid query: cursor", {
      details: [{ field: "cursor", message: "not a cursor this API returned" }],
    });
  }
  return { createdAt, id };
}

function page(rows: RunRow[], limit: number) {
  const last = rows.length === limit ? rows[rows.length - 1] : undefined;
  return {
    workflows: rows.map((r) => ({
      workflow_id: r.id,
      name: r.name,
      status: r.status,
      created_at: r.createdAt.toISOString(),
    })),
    next_cursor: last ? encodeCursor(last) : null,
  };
}

export function registerListWorkflows({ app, openapi, runs }: RouteDeps): void {
  openapi.add({
    method: "get",
    path: "/api/v1/workflows",
    summary: "Runs, newest first, filtered by status and name, paginated by cursor",
    tags: TAGS,
    auth: "apiKey",
    query: listQuery,
    responses: { 200: { description: "a page of runs", schema: listResponseSchema } },
  });
  app.get("/api/v1/workflows", validate("query", listQuery), async (c) => {
    const query = c.req.valid("query");
    const rows = await runs.list({
      status: query.status ? [query.status] : undefined,
      name: query.name,
      limit: query.limit,
      cursor: decodeCursor(query.cursor),
    });
    return c.json(page(rows, query.limit));
  });

  const activeQuery = listQuery.omit({ status: true });
  openapi.add({
    method: "get",
    path: "/api/v1/workflows/active",
    summary: "Runs that are pending, running or paused, newest first",
    tags: TAGS,
    auth: "apiKey",
    query: activeQuery,
    responses: { 200: { description: "a page of active runs", schema: listResponseSchema } },
  });
  app.get("/api/v1/workflows/active", validate("query", activeQuery), async (c) => {
    const query = c.req.valid("query");
    const rows = await runs.list({
      status: ACTIVE_STATUSES,
      name: query.name,
      limit: query.limit,
      cursor: decodeCursor(query.cursor),
    });
    return c.json(page(rows, query.limit));
  });
}
