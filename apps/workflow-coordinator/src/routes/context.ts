import type { Hono } from "hono";
import { z } from "zod";
import { notFound } from "../../../../shared/errors.ts";
import type { AppEnv } from "../../../../shared/http/context.ts";
import type { OpenApiDocument } from "../../../../shared/http/openapi.ts";
import { TASK_STATUSES, WORKFLOW_STATUSES } from "../definition/schema.ts";
import type { WorkflowScheduler } from "../engine/scheduler.ts";
import type { DefinitionStore } from "../store/definitions.ts";
import type { RunStore } from "../store/runs.ts";
import type { StatusCache } from "../store/status-cache.ts";

export interface RouteDeps {
  app: Hono<AppEnv>;
  openapi: OpenApiDocument;
  scheduler: WorkflowScheduler;
  runs: RunStore;
  definitions: DefinitionStore;
  statusCache: StatusCache;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A workflow id from the path; anything that is not a UUID cannot name a run. */
export function runIdParam(id: string): string {
  if (!UUID.test(id)) throw notFound(`workflow ${id}`);
  return id.toLowerCase();
}

export const TAGS = ["workflows"];

export const statusResponseSchema = z.object({
  workflow_id: z.string(),
  name: z.string(),
  version: z.number().nullable(),
  status: z.enum(WORKFLOW_STATUSES),
  progress: z.number(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  duration_ms: z.number().nullable(),
  output: z.unknown(),
  error: z.string().nullable(),
  tasks: z.array(
    z.object({
      id: z.string(),
      type: z.string(),
      status: z.enum(TASK_STATUSES),
      attempts: z.number(),
      started_at: z.string().nullable(),
      completed_at: z.string().nullable(),
      output: z.unknown(),
      error: z.string().nullable(),
    }),
  ),
});

export const listResponseSchema = z.object({
  workflows: z.array(
    z.object({
      workflow_id: z.string(),
      name: z.string(),
      status: z.enum(WORKFLOW_STATUSES),
      created_at: z.string(),
    }),
  ),
  next_cursor: z.string().nullable(),
});
