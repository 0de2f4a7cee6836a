import type { ServiceEntry } from "../../../shared/run.ts";
import { createHookReceiverService } from "./app.ts";

export const hookReceiverEntry: ServiceEntry = {
  port: (config) => config.HOOK_RECEIVER_PORT,
  build: ({ config, database, bus, cache, registry, logger, apiKeys }) =>
    createHookReceiverService({
      database,
      bus,
      cache,
      registry,
      logger: logger.child({ service: "hook-receiver" }),
      apiKeys,
      secrets: {
        github: config.GITHUB_WEBHOOK_SECRET,
        stripe: config.STRIPE_WEBHOOK_SECRET,
        slack: config.SLACK_SIGNING_SECRET,
        shopify: config.SHOPIFY_WEBHOOK_SECRET,
        standard: config.STANDARD_WEBHOOK_SECRET,
      },
      rateLimits: { perKeyRps: config.RATE_LIMIT_PER_KEY_RPS, perIpRps: config.RATE_LIMIT_PER_IP_RPS },
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
      persist: config.HOOK_PERSISTER,
      publisher: {
        kafkaTimeoutMs: config.HOOK_KAFKA_TIMEOUT_MS,
        batch: {
          lingerMs: config.HOOK_BATCH_LINGER_MS,
          maxBatchCount: config.HOOK_BATCH_MAX_MESSAGES,
          maxBatchBytes: 900_000,
          maxQueued: config.HOOK_QUEUE_MAX,
        },
      },
    }),
};
