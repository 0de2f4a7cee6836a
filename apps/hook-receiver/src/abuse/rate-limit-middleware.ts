import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../../../shared/errors.ts";
import type { AppEnv } from "../../../../shared/http/context.ts";
import { clientIp, type HookRoutesContext } from "../context.ts";
import type { RateDecision } from "./rate-limiter.ts";

function headers(decision: RateDecision): Record<string, string> {
  return {
    "RateLimit-Limit": String(decision.limit),
    "RateLimit-Remaining": String(decision.remaining),
    "RateLimit-Reset": String(decision.resetSeconds),
  };
}

/** Per client IP always; per API key when the route is authenticated. Both windows are checked at once. */
export function rateLimit(ctx: HookRoutesContext, perKey: boolean): MiddlewareHandler<AppEnv> {
  const { rateLimiter, limits } = ctx;
  return async (c, next) => {
    const apiKey = perKey ? c.var.apiKey : undefined;
    const [byIp, byKey] = await Promise.all([
      rateLimiter.check("ip", clientIp(c), limits.perIpRps),
      apiKey ? rateLimiter.check("key", Bun.hash(apiKey).toString(36), limits.perKeyRps) : undefined,
    ]);
    for (const [scope, decision] of [
      ["key", byKey],
      ["ip", byIp],
    ] as const) {
      if (decision && !decision.allowed) {
        ctx.onRateLimited(scope);
        throw new ApiError(
          429,
          "RATE_LIMITED",
          `rate limit of ${decision.limit} requests per second per ${scope === "ip" ? "client IP" : "API key"} exceeded`,
          {
            headers: { ...headers(decision), "Retry-After": String(decision.resetSeconds) },
          },
        );
      }
    }
    const tightest = [byKey, byIp]
      .filter((d): d is RateDecision => d !== undefined)
      .sort((a, b) => a.remaining - b.remaining)[0];
    await next();
    if (tightest) for (const [k, v] of Object.entries(headers(tightest))) c.res.headers.set(k, v);
  };
}
