import { createDatabase, type Database } from "../../../../db/client.ts";
import { silentLogger } from "../../../../shared/logger.ts";
import { createRegistry, type Registry } from "../../../../shared/metrics.ts";
import type { Service } from "../../../../shared/service.ts";
import { createTestDatabase, type TestDatabase } from "../../../../shared/testing/services.ts";
import { createModelMetricsService, type ModelMetricsDeps } from "../app.ts";
import type { Model } from "../registry/model.ts";

export const TEST_API_KEY = "test-key";

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies field by field and assert each one
type JsonBody = any;

export interface TestResponse<T = JsonBody> {
  status: number;
  body: T;
  headers: Headers;
}

export interface TestService {
  service: Service;
  database: Database;
  registry: Registry;
  call<T = JsonBody>(method: string, path: string, body?: unknown): Promise<TestResponse<T>>;
  /** Builds a second service on the same database, as a restart would. */
  restart(options?: Partial<ModelMetricsDeps>): Promise<TestService>;
  close(): Promise<void>;
}

export const API = "/api/v1/model-metrics";

/** The service built through app.ts on a fresh database of the real Postgres server. */
export async function startTestService(
  label: string,
  options: Partial<ModelMetricsDeps> & { models?: Model[] } = {},
): Promise<TestService & { drop(): Promise<void> }> {
  const testDb = await createTestDatabase(label);
  const database = await createDatabase({ url: testDb.url, poolSize: 5 });
  await database.migrate();
  const running = await build(database, options);
  return {
    ...running,
    async close() {
      await running.close();
    },
    async drop() {
      await running.close();
      await database.close();
      await testDb.drop();
    },
  };
}

async function build(database: Database, options: Partial<ModelMetricsDeps>): Promise<TestService> {
  const registry = createRegistry({ defaultMetrics: false });
  const service = createModelMetricsService({
    database,
    registry,
    logger: silentLogger,
    apiKeys: [TEST_API_KEY],
    models: [],
    ...options,
  });
  await service.start();
  let stopped = false;
  return {
    service,
    database,
    registry,
    async call(method, path, body) {
      const headers: Record<string, string> = { "x-api-key": TEST_API_KEY };
      if (body !== undefined) headers["content-type"] = "application/json";
      const response = await service.app.request(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return {
        status: response.status,
        body: text ? JSON.parse(text) : undefined,
        headers: response.headers,
      };
    },
    restart: (more = {}) => build(database, { ...options, ...more }),
    async close() {
      if (stopped) return;
      stopped = true;
      await service.stop();
    },
  };
}

export type { TestDatabase };
