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

/** Per client IP always; per API key when the route is authenticated. */
export function rateLimit(ctx: HookRoutesContext, perKey: boolean): MiddlewareHandler<AppEnv> {
  const { rateLimiter, limits } = ctx;
  return async (c, next) => {
    const apiKey = perKey ? c.var.apiKey : undefined;
    const byIp = rateLimiter.check("ip", clientIp(c), limits.perIpRps);
    const byKey = apiKey
      ? rateLimiter.check("key", Bun.hash(apiKey).toString(36), limits.perKeyRps)
      : undefined;
    const denied = byKey && !byKey.allowed ? byKey : byIp && !byIp.allowed ? byIp : undefined;
    if (denied) {
      const scope = denied === byKey ? "key" : "ip";
      ctx.onRateLimited(scope);
      throw new ApiError(
        429,
        "RATE_LIMITED",
        `rate limit of ${denied.limit} requests per second per ${scope === "ip" ? "client IP" : "API key"} exceeded`,
        { headers: { ...headers(denied), "Retry-After": String(denied.resetSeconds) } },
      );
    }
    const tightest = byKey && (!byIp || byKey.remaining <= byIp.remaining) ? byKey : byIp;
    await next();
    if (tightest) for (const [k, v] of Object.entries(headers(tightest))) c.res.headers.set(k, v);
  };
}
