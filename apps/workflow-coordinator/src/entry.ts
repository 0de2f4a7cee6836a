import { createDatabase } from "../../../db/client.ts";
import type { ServiceEntry } from "../../../shared/run.ts";
import { createWorkflowCoordinatorService } from "./app.ts";

export const workflowCoordinatorEntry: ServiceEntry = {
  build: async (platform) =>
    createWorkflowCoordinatorService({
      database: platform.database,
      // PGlite is one in-process connection; only a Postgres server gets a separate heartbeat pool.
      leaseDatabase:
        platform.database.kind === "postgres" && platform.config.DATABASE_URL
          ? await createDatabase({
              url: platform.config.DATABASE_URL,
              poolSize: 2,
              statementTimeoutMs: platform.config.DB_STATEMENT_TIMEOUT_MS,
            })
          : undefined,
      bus: platform.bus,
      cache: platform.cache,
      registry: platform.registry,
      logger: platform.logger,
      apiKeys: platform.apiKeys,
      modelMetricsUrl: platform.config.MODEL_METRICS_URL,
      modelMetricsApiKey: platform.apiKeys[0],
      bodyLimitBytes: platform.config.BODY_LIMIT_BYTES,
    }),
  port: (config) => config.WORKFLOW_COORDINATOR_PORT,
};
