import type { Context, MiddlewareHandler } from "hono";
import type { EventBus } from "../../../shared/bus/interface.ts";
import { ApiError } from "../../../shared/errors.ts";
import type { AppEnv } from "../../../shared/http/context.ts";
import type { OpenApiDocument } from "../../../shared/http/openapi.ts";
import type { RateLimiter } from "./abuse/rate-limiter.ts";
import { exceedsDepth, MAX_JSON_DEPTH } from "./intake/envelope.ts";
import type { HookIntake } from "./intake/hook-intake.ts";
import type { EventStore } from "./persistence/event-store.ts";
import type { SessionStore } from "./persistence/session-store.ts";
import type { ProviderName } from "./providers/index.ts";
import type { DurablePublisher } from "./publishing/durable-publisher.ts";

export interface HookRoutesContext {
  intake: HookIntake;
  events: EventStore;
  sessions: SessionStore;
  publisher: DurablePublisher;
  bus: EventBus;
  rateLimiter: RateLimiter;
  openapi: OpenApiDocument;
  auth: MiddlewareHandler<AppEnv>;
  secrets: Partial<Record<ProviderName, string>>;
  limits: { perKeyRps: number; perIpRps: number; maxJsonDepth: number };
  onRateLimited(scope: "key" | "ip"): void;
}

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

export function isJsonContentType(c: Context): boolean {
  return JSON_TYPE.test(c.req.header("content-type") ?? "");
}

/** Parses a JSON body with the receiver's limits: 415 off-type, 400 malformed, 400 too deep. */
export function parseJsonBody(raw: string, maxDepth = MAX_JSON_DEPTH): unknown {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new ApiError(400, "MALFORMED_JSON", "request body is not valid JSON");
  }
  if (exceedsDepth(body, maxDepth)) {
    throw new ApiError(400, "BAD_REQUEST", `request body nests deeper than ${maxDepth} levels`);
  }
  return body;
}

export function requireJsonType(c: Context): void {
  if (!isJsonContentType(c)) {
    throw new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "expected Content-Type: application/json");
  }
}

/** The peer address from Bun's server; "unknown" when the app is called without one (in-process). */
export function clientIp(c: Context): string {
  const server = c.env as { requestIP?: (req: Request) => { address: string } | null } | undefined;
  return server?.requestIP?.(c.req.raw)?.address ?? "unknown";
}
