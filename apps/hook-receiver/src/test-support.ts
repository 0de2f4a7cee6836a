import { createDatabase, type Database } from "../../../db/client.ts";
import type { EventBus, IncomingMessage, Subscription } from "../../../shared/bus/interface.ts";
import { MemoryBus } from "../../../shared/bus/memory.ts";
import { TOPIC_SPECS } from "../../../shared/bus/topics.ts";
import type { Cache } from "../../../shared/cache/interface.ts";
import { RedisCache } from "../../../shared/cache/redis.ts";
import { silentLogger } from "../../../shared/logger.ts";
import { createRegistry, type Registry } from "../../../shared/metrics.ts";
import {
  createTestDatabase,
  TEST_REDIS_URL,
  type TestDatabase,
  uniquePrefix,
} from "../../../shared/testing/services.ts";
import { TcpProxy } from "../../../shared/testing/tcp-proxy.ts";
import { createHookReceiverService, type HookReceiverDeps, type HookReceiverService } from "./app.ts";

export const API_KEY = "test-key-0123456789";
export const SECRETS = {
  github: "gh-secret",
  stripe: "whsec_stripe_test_secret",
  slack: "slack-signing-secret",
  shopify: "shopify-secret",
  standard: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
};

export interface ReceiverHarness {
  service: HookReceiverService;
  database: Database;
  bus: EventBus;
  cache: Cache;
  registry: Registry;
  testDb: TestDatabase;
  pgProxy: TcpProxy | undefined;
  request(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  close(): Promise<void>;
}

/** The receiver built through app.ts with real Postgres and Redis, and the given (or an in-process) bus. */
export async function startReceiver(
  options: {
    bus?: EventBus;
    cache?: Cache;
    /** Reach Postgres through a TcpProxy the test can take down. */
    postgresProxy?: boolean;
    overrides?: Partial<HookReceiverDeps>;
  } = {},
): Promise<ReceiverHarness> {
  const testDb = await createTestDatabase("hooks");
  const registry = createRegistry({ defaultMetrics: false });
  let pgProxy: TcpProxy | undefined;
  let url = testDb.url;
  if (options.postgresProxy) {
    const target = new URL(testDb.url);
    pgProxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
    const proxied = new URL(testDb.url);
    proxied.host = `127.0.0.1:${pgProxy.port}`;
    url = proxied.toString();
  }
  const serviceDb = await createDatabase({ url, poolSize: 5, registry });
  await serviceDb.migrate();
  const bus = options.bus ?? new MemoryBus({ registry });
  await bus.ensureTopics(TOPIC_SPECS);
  const cache =
    options.cache ??
    (await RedisCache.connect({ url: TEST_REDIS_URL, keyPrefix: uniquePrefix("hooks"), registry }));
  const service = createHookReceiverService({
    database: serviceDb,
    bus,
    cache,
    registry,
    logger: silentLogger,
    apiKeys: [API_KEY],
    secrets: SECRETS,
    rateLimits: { perKeyRps: 0, perIpRps: 0 },
    bodyLimitBytes: 1024 * 1024,
    ...options.overrides,
  });
  await service.start();
  return {
    service,
    database: serviceDb,
    bus,
    cache,
    registry,
    testDb,
    pgProxy,
    request(path, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has("x-api-key") && !headers.has("authorization")) headers.set("x-api-key", API_KEY);
      if (init.json !== undefined) headers.set("content-type", "application/json");
      const body = init.json !== undefined ? JSON.stringify(init.json) : init.body;
      return Promise.resolve(service.app.request(path, { ...init, headers, body }));
    },
    async close() {
      await service.stop();
      await bus.close();
      await cache.close();
      await serviceDb.close();
      pgProxy?.stop();
      await testDb.drop();
    },
  };
}

/** A consumer group that collects what reaches a topic, as a downstream consumer would see it. */
export async function collect(bus: EventBus, topic: string, groupId = `collector-${crypto.randomUUID()}`) {
  const messages: IncomingMessage[] = [];
  const subscription: Subscription = await bus.subscribe({
    groupId,
    topics: [topic],
    handler: async (batch) => {
      messages.push(...batch);
    },
  });
  return {
    messages,
    values: () =>
      messages.flatMap((m) => {
        try {
          return [JSON.parse(m.value) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    async waitFor(count: number, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count && Date.now() < deadline) await Bun.sleep(20);
      return messages.length;
    },
    stop: () => subscription.stop(),
  };
}

export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
  what = "condition",
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await Bun.sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const sampleHook = (overrides: Record<string, unknown> = {}) => ({
  source: "github",
  action: "push",
  resource: "repository",
  resource_id: "acme/widgets",
  payload: { ref: "refs/heads/main", commits: [{ id: "abc" }] },
  ...overrides,
});
