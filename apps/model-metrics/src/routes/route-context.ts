import type { Hono } from "hono";
import type { Database } from "../../../../db/client.ts";
import type { AppEnv } from "../../../../shared/http/context.ts";
import type { OpenApiDocument } from "../../../../shared/http/openapi.ts";
import type { InferenceEngine } from "../inference/inference-engine.ts";
import type { ExecutionRecorder } from "../records/execution-recorder.ts";
import type { ModelCatalog } from "../registry/model-catalog.ts";

export const API_BASE = "/api/v1/model-metrics";

export interface RouteTuning {
  maxBatchItems: number;
  defaultBatchConcurrency: number;
  maxBatchConcurrency: number;
  minSampleSize: number;
  probeTimeoutMs: number;
}

/** What the route operations share; each `routes/*.ts` registers one operation with it. */
export interface RouteContext {
  api: Hono<AppEnv>;
  openapi: OpenApiDocument;
  engine: InferenceEngine;
  catalog: ModelCatalog;
  recorder: ExecutionRecorder;
  database: Database;
  now: () => number;
  tuning: RouteTuning;
}
