import type { Database } from "../../../db/client.ts";
import type { EventBus } from "../../../shared/bus/interface.ts";
import type { Cache } from "../../../shared/cache/interface.ts";
import { apiKeyAuth } from "../../../shared/http/api-key.ts";
import { OpenApiDocument } from "../../../shared/http/openapi.ts";
import { createServiceApp } from "../../../shared/http/service-app.ts";
import type { Logger } from "../../../shared/logger.ts";
import { counter, type Registry } from "../../../shared/metrics.ts";
import type { Service } from "../../../shared/service.ts";
import { RateLimiter } from "./abuse/rate-limiter.ts";
import type { HookRoutesContext } from "./context.ts";
import { Deduplicator } from "./intake/deduplicator.ts";
import { MAX_JSON_DEPTH } from "./intake/envelope.ts";
import { HookIntake } from "./intake/hook-intake.ts";
import { EventStore } from "./persistence/event-store.ts";
import { HookPersister } from "./persistence/hook-persister.ts";
import { OutboxStore } from "./persistence/outbox-store.ts";
import { SessionStore } from "./persistence/session-store.ts";
import type { ProviderName } from "./providers/index.ts";
import {
  DEFAULT_PUBLISHER_OPTIONS,
  DurablePublisher,
  type DurablePublisherOptions,
} from "./publishing/durable-publisher.ts";
import { registerGetHook } from "./routes/get-hook.ts";
import { registerReceiveHook } from "./routes/receive-hook.ts";
import { registerReceiveProviderHook } from "./routes/receive-provider-hook.ts";
import { registerReplayHooks } from "./routes/replay-hooks.ts";
import { registerSessionRoutes } from "./routes/sessions.ts";

export interface HookReceiverDeps {
  database: Database;
  bus: EventBus;
  cache: Cache;
  registry: Registry;
  logger: Logger;
  apiKeys: string[];
  secrets: Partial<Record<ProviderName, string>>;
  rateLimits: { perKeyRps: number; perIpRps: number };
  bodyLimitBytes: number;
  maxJsonDepth?: number;
  publisher?: Partial<DurablePublisherOptions>;
  /** Runs the consumer that writes workflow.events into Postgres. Default true. */
  persist?: boolean;
}

export interface HookReceiverService extends Service {
  publisher: DurablePublisher;
}

export function createHookReceiverService(deps: HookReceiverDeps): HookReceiverService {
  const { database, bus, cache, registry, logger } = deps;
  const openapi = new OpenApiDocument("OmniNode Bridge hook receiver");
  const app = createServiceApp({
    service: "hook-receiver",
    logger,
    registry,
    openapi,
    bodyLimitBytes: deps.bodyLimitBytes,
    readiness: { database: () => database.check(), cache: () => cache.check(), kafka: () => bus.check() },
  });

  const outbox = new OutboxStore(database);
  const publisher = new DurablePublisher(bus, outbox, logger, registry, {
    ...DEFAULT_PUBLISHER_OPTIONS,
    ...deps.publisher,
    batch: { ...DEFAULT_PUBLISHER_OPTIONS.batch, ...deps.publisher?.batch },
  });
  const intake = new HookIntake(publisher, new Deduplicator(cache, logger), registry);
  const events = new EventStore(database);
  const sessions = new SessionStore(database);
  const persister = new HookPersister(bus, database, events, sessions, logger, registry);
  const rateLimiter = new RateLimiter(cache, logger);
  const rateLimited = counter(registry, {
    name: "hook_rate_limited_total",
    help: "Requests refused by a rate limit, by scope (key or ip)",
    labelNames: ["scope"],
  });

  const ctx: HookRoutesContext = {
    intake,
    events,
    sessions,
    publisher,
    bus,
    rateLimiter,
    openapi,
    auth: apiKeyAuth(deps.apiKeys),
    secrets: deps.secrets,
    limits: { ...deps.rateLimits, maxJsonDepth: deps.maxJsonDepth ?? MAX_JSON_DEPTH },
    onRateLimited: (scope) => rateLimited.inc({ scope }),
  };
  // Static paths before `/:provider`, which would otherwise claim them.
  registerReceiveHook(app, ctx);
  registerReplayHooks(app, ctx);
  registerReceiveProviderHook(app, ctx);
  registerGetHook(app, ctx);
  registerSessionRoutes(app, ctx);

  return {
    name: "hook-receiver",
    app,
    publisher,
    async start() {
      await publisher.start();
      if (deps.persist !== false) await persister.start();
    },
    async stop() {
      await rateLimiter.close();
      await publisher.stop();
      if (deps.persist !== false) await persister.stop();
    },
  };
}
