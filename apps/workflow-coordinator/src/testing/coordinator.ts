import { expect } from "bun:test";
import { createDatabase, type Database } from "../../../../db/client.ts";
import type { EventBus } from "../../../../shared/bus/interface.ts";
import { MemoryBus } from "../../../../shared/bus/memory.ts";
import { RedisCache } from "../../../../shared/cache/redis.ts";
import { silentLogger } from "../../../../shared/logger.ts";
import { createRegistry } from "../../../../shared/metrics.ts";
import type { Service } from "../../../../shared/service.ts";
import {
  createTestDatabase,
  TEST_REDIS_URL,
  type TestDatabase,
  uniquePrefix,
} from "../../../../shared/testing/services.ts";
import { createWorkflowCoordinatorService, type WorkflowCoordinatorDeps } from "../app.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests assert response bodies field by field.
export type JsonBody = any;

export const TEST_API_KEY = "test-key-workflows";

/** Short leases so takeover tests finish in seconds. */
export const FAST_TUNING = { leaseMs: 1_500, heartbeatMs: 300, claimIntervalMs: 200, completionSweepMs: 200 };

export interface TestStatus {
  workflow_id: string;
  name: string;
  version: number | null;
  status: string;
  progress: number;
  started_at: string | null;
  completed_at: string | null;
  duration_ms: number | null;
  output: unknown;
  error: string | null;
  tasks: {
    id: string;
    type: string;
    status: string;
    attempts: number;
    started_at: string | null;
    completed_at: string | null;
    output: unknown;
    error: string | null;
  }[];
}

export interface Coordinator {
  service: Service;
  database: Database;
  bus: EventBus;
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: JsonBody }>;
  status(id: string): Promise<TestStatus>;
  waitFor(id: string, statuses: string[], timeoutMs?: number): Promise<TestStatus>;
  stop(): Promise<void>;
}

/** A real Postgres database for one test file, migrated. */
export async function setUpDatabase(label: string): Promise<{ testDb: TestDatabase; url: string }> {
  const testDb = await createTestDatabase(label);
  const database = await createDatabase({ url: testDb.url });
  await database.migrate();
  await database.close();
  return { testDb, url: testDb.url };
}

/** Builds the service through app.ts on real Postgres and Redis, and starts its background work. */
export async function startCoordinator(
  url: string,
  overrides: Partial<WorkflowCoordinatorDeps> = {},
): Promise<Coordinator> {
  const registry = createRegistry({ defaultMetrics: false });
  const database = overrides.database ?? (await createDatabase({ url, poolSize: 10, registry }));
  const cache =
    overrides.cache ?? (await RedisCache.connect({ url: TEST_REDIS_URL, keyPrefix: uniquePrefix("wf") }));
  const bus = overrides.bus ?? new MemoryBus({ registry, retryBackoffMs: 20 });
  const service = createWorkflowCoordinatorService({
    registry,
    logger: silentLogger,
    apiKeys: [TEST_API_KEY],
    modelMetricsUrl: "http://127.0.0.1:9",
    allowPrivateHttp: true,
    triggers: false,
    ...overrides,
    tuning: { ...FAST_TUNING, ...overrides.tuning },
    database,
    cache,
    bus,
  });
  await service.start();
  const call = async (method: string, path: string, body?: unknown) => {
    const init: RequestInit = { method, headers: { "x-api-key": TEST_API_KEY } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { "x-api-key": TEST_API_KEY, "content-type": "application/json" };
    }
    const response = await service.app.request(path, init);
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  const status = async (id: string) => {
    const res = await call("GET", `/api/v1/workflows/${id}/status`);
    expect(res.status).toBe(200);
    return res.body as TestStatus;
  };
  let stopped = false;
  return {
    service,
    database,
    bus,
    call,
    status,
    async waitFor(id, statuses, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      let last: TestStatus | undefined;
      while (Date.now() < deadline) {
        last = await status(id);
        if (statuses.includes(last.status)) return last;
        await Bun.sleep(20);
      }
      throw new Error(`workflow ${id} did not reach ${statuses.join("|")}: ${JSON.stringify(last)}`);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await service.stop();
      if (!overrides.bus) await bus.close();
      if (!overrides.cache) await cache.close();
      if (!overrides.database) await database.close();
    },
  };
}

export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    await Bun.sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const ms = (iso: string | null) => (iso ? Date.parse(iso) : Number.NaN);
