import { hostname } from "node:os";
import type { Database } from "../../../db/client.ts";
import type { EventBus } from "../../../shared/bus/interface.ts";
import type { Cache } from "../../../shared/cache/interface.ts";
import { apiKeyAuth } from "../../../shared/http/api-key.ts";
import { OpenApiDocument } from "../../../shared/http/openapi.ts";
import { createServiceApp } from "../../../shared/http/service-app.ts";
import type { Logger } from "../../../shared/logger.ts";
import type { Registry } from "../../../shared/metrics.ts";
import type { Service } from "../../../shared/service.ts";
import { CompletionPublisher } from "./completions/publisher.ts";
import { type SchedulerTuning, WorkflowScheduler } from "./engine/scheduler.ts";
import { createCoordinatorMetrics } from "./metrics.ts";
import { registerCancelWorkflow } from "./routes/cancel-workflow.ts";
import type { RouteDeps } from "./routes/context.ts";
import { registerExecuteWorkflow } from "./routes/execute-workflow.ts";
import { registerGetWorkflowStatus } from "./routes/get-workflow-status.ts";
import { registerListWorkflowDefinitions } from "./routes/list-workflow-definitions.ts";
import { registerListWorkflows } from "./routes/list-workflows.ts";
import { registerPauseWorkflow } from "./routes/pause-workflow.ts";
import { registerPutWorkflowDefinition } from "./routes/put-workflow-definition.ts";
import { registerResumeWorkflow } from "./routes/resume-workflow.ts";
import { DefinitionStore } from "./store/definitions.ts";
import { RunStore } from "./store/runs.ts";
import { StatusCache } from "./store/status-cache.ts";
import { createTaskRunners } from "./tasks/index.ts";
import { TriggerConsumer } from "./triggers/consumer.ts";

export const SERVICE_NAME = "workflow-coordinator";

export interface WorkflowCoordinatorDeps {
  database: Database;
  /**
   * A small pool for lease heartbeats only, so a busy main pool cannot delay them past the lease.
   * The service closes it on stop. Default: the main pool.
   */
  leaseDatabase?: Database;
  bus: EventBus;
  cache: Cache;
  registry: Registry;
  logger: Logger;
  apiKeys: readonly string[];
  modelMetricsUrl: string;
  modelMetricsApiKey?: string;
  /** Names this instance in leases and attempts; unique per process. */
  instanceId?: string;
  /** Lets `http` tasks reach loopback and private addresses (tests, trusted networks). */
  allowPrivateHttp?: boolean;
  clock?: () => number;
  bodyLimitBytes?: number;
  tuning?: Partial<SchedulerTuning> & { completionSweepMs?: number };
  /** Consume workflow.events for triggers. Default true. */
  triggers?: boolean;
}

export const DEFAULT_TUNING: SchedulerTuning = {
  leaseMs: 15_000,
  heartbeatMs: 3_000,
  claimIntervalMs: 1_000,
  maxConcurrentTasks: 5_000,
  maxOwnedRuns: 20_000,
  drainTimeoutMs: 5_000,
};

export function createWorkflowCoordinatorService(deps: WorkflowCoordinatorDeps): Service {
  const logger = deps.logger.child({ service: SERVICE_NAME });
  const tuning = { ...DEFAULT_TUNING, ...deps.tuning };
  const instanceId = deps.instanceId ?? `${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`;
  const metrics = createCoordinatorMetrics(deps.registry);
  const runs = new RunStore(deps.database, instanceId, tuning.leaseMs, deps.leaseDatabase);
  const definitions = new DefinitionStore(deps.database);
  const statusCache = new StatusCache(deps.cache, logger);
  const publisher = new CompletionPublisher(
    deps.database,
    deps.bus,
    logger,
    metrics,
    deps.tuning?.completionSweepMs,
  );
  const scheduler = new WorkflowScheduler({
    ...tuning,
    store: runs,
    statusCache,
    runners: createTaskRunners({
      bus: deps.bus,
      modelMetricsUrl: deps.modelMetricsUrl,
      modelMetricsApiKey: deps.modelMetricsApiKey,
      allowPrivateHttp: deps.allowPrivateHttp ?? false,
    }),
    metrics,
    logger,
    instanceId,
    now: deps.clock ?? Date.now,
    onTerminal: () => publisher.kick(),
  });
  const triggers = new TriggerConsumer(deps.bus, definitions, scheduler, logger);

  const openapi = new OpenApiDocument("OmniNode Bridge workflow coordinator");
  const app = createServiceApp({
    service: SERVICE_NAME,
    logger,
    registry: deps.registry,
    readiness: {
      database: () => deps.database.check(),
      bus: () => deps.bus.check(),
      cache: () => deps.cache.check(),
    },
    bodyLimitBytes: deps.bodyLimitBytes ?? 1024 * 1024,
    openapi,
  });
  app.use("/api/v1/*", apiKeyAuth(deps.apiKeys));
  const routes: RouteDeps = { app, openapi, scheduler, runs, definitions, statusCache };
  registerExecuteWorkflow(routes);
  registerListWorkflows(routes);
  registerGetWorkflowStatus(routes);
  registerPauseWorkflow(routes);
  registerResumeWorkflow(routes);
  registerCancelWorkflow(routes);
  registerPutWorkflowDefinition(routes);
  registerListWorkflowDefinitions(routes);

  let started = false;
  return {
    name: SERVICE_NAME,
    app,
    async start() {
      if (started) return;
      started = true;
      scheduler.start();
      publisher.start();
      if (deps.triggers !== false) await triggers.start();
      logger.info({ instance_id: instanceId }, "workflow coordinator started");
    },
    async stop() {
      if (!started) return;
      started = false;
      await triggers.stop();
      await scheduler.stop();
      await publisher.stop();
      await statusCache.settle();
      if (deps.leaseDatabase && deps.leaseDatabase !== deps.database) await deps.leaseDatabase.close();
    },
  };
}
