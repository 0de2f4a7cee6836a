import { timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../errors.ts";
import type { AppEnv } from "./context.ts";

const digest = (value: string) => new Bun.CryptoHasher("sha256").update(value).digest();

/**
 * Accepts `X-API-Key: k` or `Authorization: Bearer k`. Keys are compared as SHA-256 digests with
 * timingSafeEqual, so neither the key's length nor its prefix leaks through timing.
 */
export function apiKeyAuth(keys: readonly string[]): MiddlewareHandler<AppEnv> {
  const accepted = keys.map(digest);
  return async (c, next) => {
    const presented = c.req.header("x-api-key") ?? bearer(c.req.header("authorization"));
    if (!presented)
      throw new ApiError(401, "UNAUTHORIZED", "missing API key: send X-API-Key or Authorization: Bearer");
    const candidate = digest(presented);
    let match = false;
    for (const key of accepted) match = timingSafeEqual(key, candidate) || match;
    if (!match) throw new ApiError(401, "UNAUTHORIZED", "invalid API key");
    c.set("apiKey", presented);
    await next();
  };
}

function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme, token] = header.split(" ", 2);
  return scheme?.toLowerCase() === "bearer" && token ? token.trim() : undefined;
}
