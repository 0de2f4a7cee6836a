import type { Database } from "../../../db/client.ts";
import { apiKeyAuth } from "../../../shared/http/api-key.ts";
import { OpenApiDocument } from "../../../shared/http/openapi.ts";
import { createServiceApp } from "../../../shared/http/service-app.ts";
import type { Logger } from "../../../shared/logger.ts";
import type { Registry } from "../../../shared/metrics.ts";
import type { Service } from "../../../shared/service.ts";
import { type Clock, systemClock } from "./clock.ts";
import { InferenceEngine } from "./inference/inference-engine.ts";
import { inferenceMetrics } from "./inference/inference-metrics.ts";
import { ModelRouter } from "./inference/model-router.ts";
import type { CircuitTuning } from "./inference/model-runner.ts";
import { ExecutionRecorder, type RecorderTuning } from "./records/execution-recorder.ts";
import { queryPerformance } from "./records/performance-query.ts";
import { recommend } from "./records/recommendations.ts";
import type { Model } from "./registry/model.ts";
import { ModelCatalog } from "./registry/model-catalog.ts";
import { registerCompareRoute } from "./routes/compare.ts";
import { registerGetModelRoute } from "./routes/get-model.ts";
import { registerInferRoute } from "./routes/infer.ts";
import { registerInferBatchRoute } from "./routes/infer-batch.ts";
import { registerListModelsRoute } from "./routes/list-models.ts";
import { registerPerformanceRoute } from "./routes/performance.ts";
import { registerProvidersHealthRoute } from "./routes/providers-health.ts";
import { registerPutModelRoute } from "./routes/put-model.ts";
import { registerRecommendationsRoute } from "./routes/recommendations.ts";
import type { RouteContext, RouteTuning } from "./routes/route-context.ts";

export interface ModelMetricsTuning extends RouteTuning {
  recorder: RecorderTuning;
  circuit: CircuitTuning;
  maxQueuedPerModel: number;
  maxEscalations: number;
  /** Tier names from first choice to last resort for routing and escalation. */
  tierOrder: string[];
  /** How long the router trusts a task type's top recommendation before refreshing it. */
  routingCacheMs: number;
  /** Look-back of the executions the router's recommendations are computed from. */
  routingWindowMs: number;
  bodyLimitBytes: number;
}

export const DEFAULT_TUNING: ModelMetricsTuning = {
  maxBatchItems: 1000,
  defaultBatchConcurrency: 10,
  maxBatchConcurrency: 100,
  minSampleSize: 20,
  probeTimeoutMs: 2000,
  recorder: { flushIntervalMs: 250, maxBatchRows: 500, maxBufferedRows: 50_000 },
  circuit: {
    errorThresholdPercentage: 50,
    volumeThreshold: 5,
    resetTimeoutMs: 10_000,
    rollingWindowMs: 10_000,
  },
  maxQueuedPerModel: 1000,
  maxEscalations: 2,
  tierOrder: ["builtin", "small", "medium", "large"],
  routingCacheMs: 30_000,
  routingWindowMs: 7 * 86_400_000,
  bodyLimitBytes: 4 * 1024 * 1024,
};

export interface ModelMetricsDeps {
  database: Database;
  registry: Registry;
  logger: Logger;
  apiKeys: readonly string[];
  /** Registered (over the stored ones) when the service starts: the builtin models and `MODELS_FILE`. */
  models: readonly Model[];
  clock?: Clock;
  /** Resolves a model's `api_key_env`. */
  env?: Record<string, string | undefined>;
  tuning?: Partial<Omit<ModelMetricsTuning, "recorder" | "circuit">> & {
    recorder?: Partial<RecorderTuning>;
    circuit?: Partial<CircuitTuning>;
  };
}

export function createModelMetricsService(deps: ModelMetricsDeps): Service {
  const { database, registry, logger } = deps;
  const tuning: ModelMetricsTuning = {
    ...DEFAULT_TUNING,
    ...deps.tuning,
    recorder: { ...DEFAULT_TUNING.recorder, ...deps.tuning?.recorder },
    circuit: { ...DEFAULT_TUNING.circuit, ...deps.tuning?.circuit },
  };
  const clock = deps.clock ?? systemClock;
  const now = () => clock.now();
  const metrics = inferenceMetrics(registry);
  const catalog = new ModelCatalog({
    database,
    metrics,
    env: deps.env ?? process.env,
    tuning: { maxQueuedPerModel: tuning.maxQueuedPerModel, circuit: tuning.circuit },
    tierOrder: tuning.tierOrder,
  });
  const recorder = new ExecutionRecorder(database, logger, metrics, tuning.recorder);
  const bestModel = async (taskType: string) => {
    const rows = await queryPerformance(database, {
      since: new Date(now() - tuning.routingWindowMs),
      taskType,
    });
    const serving = rows.filter((r) => catalog.get(r.model)?.model.task_types.includes(taskType));
    return recommend(taskType, serving, tuning.minSampleSize).recommendations[0]?.model;
  };
  const router = new ModelRouter(catalog, bestModel, tuning.routingCacheMs, now, logger);
  const engine = new InferenceEngine({
    catalog,
    router,
    recorder,
    metrics,
    now,
    monotonic: () => clock.monotonic(),
    maxEscalations: tuning.maxEscalations,
  });

  const openapi = new OpenApiDocument("OmniNode Bridge model metrics");
  const app = createServiceApp({
    service: "model-metrics",
    logger,
    registry,
    // Model hosts are left out on purpose: one host down degrades the service, it does not make it unready.
    readiness: { database: () => database.check() },
    bodyLimitBytes: tuning.bodyLimitBytes,
    openapi,
  });
  app.use("/api/v1/*", apiKeyAuth(deps.apiKeys));
  const context: RouteContext = { api: app, openapi, engine, catalog, recorder, database, now, tuning };
  for (const register of [
    registerInferRoute,
    registerInferBatchRoute,
    registerCompareRoute,
    registerListModelsRoute,
    registerGetModelRoute,
    registerPutModelRoute,
    registerPerformanceRoute,
    registerRecommendationsRoute,
    registerProvidersHealthRoute,
  ]) {
    register(context);
  }

  return {
    name: "model-metrics",
    app,
    async start() {
      await catalog.load(deps.models);
      recorder.start();
    },
    async stop() {
      await recorder.stop();
      catalog.shutdown();
    },
  };
}
