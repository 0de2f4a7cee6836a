import { createDatabase, type Database } from "../db/client.ts";
import type { EventBus } from "./bus/interface.ts";
import { KafkaBus } from "./bus/kafka.ts";
import { MemoryBus } from "./bus/memory.ts";
import { TOPIC_SPECS } from "./bus/topics.ts";
import type { Cache } from "./cache/interface.ts";
import { MemoryCache } from "./cache/memory.ts";
import { RedisCache } from "./cache/redis.ts";
import type { Config } from "./config.ts";
import type { Logger } from "./logger.ts";
import { createRegistry, type Registry } from "./metrics.ts";

/** The real dependencies a service is wired with: chosen by the environment, shared in one process. */
export interface Platform {
  config: Config;
  logger: Logger;
  registry: Registry;
  database: Database;
  bus: EventBus;
  cache: Cache;
  /** API keys in force; in embedded mode one is generated when none is configured. */
  apiKeys: string[];
  close(): Promise<void>;
}

export async function createPlatform(config: Config, logger: Logger): Promise<Platform> {
  const registry = createRegistry();
  const database = await createDatabase({
    url: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolSize: config.DB_POOL_SIZE,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    maxWaiting: config.DB_MAX_WAITING,
    acquireTimeoutMs: config.DB_ACQUIRE_TIMEOUT_MS,
    registry,
  });
  await database.migrate();

  const bus: EventBus =
    config.KAFKA_BROKERS.length > 0
      ? new KafkaBus({
          brokers: config.KAFKA_BROKERS,
          clientId: config.KAFKA_CLIENT_ID,
          idempotent: config.KAFKA_IDEMPOTENT,
          topicPrefix: config.KAFKA_TOPIC_PREFIX,
          compression: config.KAFKA_COMPRESSION,
          registry,
          logger: logger.child({ component: "kafka" }),
          // A short fetch wait keeps shutdown quick: stopping a consumer waits for its fetch in hand.
          maxWaitTimeMs: 1000,
        })
      : new MemoryBus({ topicPrefix: config.KAFKA_TOPIC_PREFIX, registry, logger });
  await bus.ensureTopics(TOPIC_SPECS);

  const cache: Cache = config.REDIS_URL
    ? await RedisCache.connect({ url: config.REDIS_URL, registry })
    : new MemoryCache({ registry });

  const apiKeys =
    config.API_KEYS.length > 0 ? config.API_KEYS : [`onb_${crypto.randomUUID().replaceAll("-", "")}`];

  let closing: Promise<void> | undefined;
  return {
    config,
    logger,
    registry,
    database,
    bus,
    cache,
    apiKeys,
    close() {
      closing ??= (async () => {
        await bus.close().catch((err) => logger.error({ err }, "closing the event bus failed"));
        await Promise.allSettled([database.close(), cache.close()]);
      })();
      return closing;
    },
  };
}
