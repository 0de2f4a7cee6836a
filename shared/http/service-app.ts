import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { routePath } from "hono/route";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError, type ErrorCode, errorBody, unavailableCause } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { counter, histogram, LATENCY_BUCKETS, type Registry } from "../metrics.ts";
import { type AppEnv, requestLog } from "./context.ts";
import type { OpenApiDocument } from "./openapi.ts";
import { requestId } from "./request-id.ts";

export type ReadinessCheck = () => Promise<unknown>;

export interface ServiceAppOptions {
  service: string;
  logger: Logger;
  registry: Registry;
  /** Named dependency checks for /ready; each must resolve within `readyTimeoutMs`. */
  readiness: Record<string, ReadinessCheck>;
  bodyLimitBytes: number;
  openapi: OpenApiDocument;
  readyTimeoutMs?: number;
}

const STATUS_CODES: Record<number, ErrorCode> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "RATE_LIMITED",
  503: "SERVICE_UNAVAILABLE",
  504: "TIMEOUT",
};

/**
 * The base every service is built on: request ids, the one error body, body limit, HTTP metrics
 * labelled by route template, and the system routes (/health, /ready, /metrics, /openapi.json).
 */
export function createServiceApp(options: ServiceAppOptions): Hono<AppEnv> {
  const { service, logger, registry, openapi } = options;
  const app = new Hono<AppEnv>();
  const duration = histogram(registry, {
    name: "http_request_duration_seconds",
    help: "HTTP request duration by service, method, route template and status",
    labelNames: ["service", "method", "route", "status"],
    buckets: LATENCY_BUCKETS,
  });

  const bytesIn = counter(registry, {
    name: "http_request_bytes_total",
    help: "Request body bytes received, by service (from Content-Length)",
    labelNames: ["service"],
  }).labels({ service });

  app.use(requestId(logger));
  app.use(async (c, next) => {
    const start = performance.now();
    await next();
    const status = c.res.status;
    bytesIn.inc(Number(c.req.header("content-length") ?? 0) || 0);
    let route = routePath(c);
    if (status === 404 && route.endsWith("*")) route = "unmatched";
    duration.observe({ service, method: c.req.method, route, status }, (performance.now() - start) / 1000);
    const log = status >= 500 ? "error" : status >= 400 ? "info" : "debug";
    if (logger.isLevelEnabled(log)) {
      requestLog(c)[log]({ method: c.req.method, route, path: c.req.path, status }, "request");
    }
  });
  app.use(
    bodyLimit({
      maxSize: options.bodyLimitBytes,
      onError: () => {
        throw new ApiError(413, "PAYLOAD_TOO_LARGE", `request body exceeds ${options.bodyLimitBytes} bytes`);
      },
    }),
  );

  app.onError((err, c) => {
    const id = c.var.requestId ?? "unknown";
    if (err instanceof ApiError) {
      if (err.headers) for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      return c.json(errorBody(err.code, err.message, id, err.details), err.status);
    }
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode;
      return c.json(
        errorBody(STATUS_CODES[status] ?? "BAD_REQUEST", err.message || "request failed", id),
        status,
      );
    }
    const unavailable = unavailableCause(err);
    if (unavailable) {
      c.header("Retry-After", String(unavailable.retryAfterSeconds));
      return c.json(errorBody("SERVICE_UNAVAILABLE", unavailable.message, id), 503);
    }
    (c.var.rootLogger ? requestLog(c) : logger).error({ err }, "unhandled error");
    return c.json(errorBody("INTERNAL", "internal server error", id), 500);
  });

  let routeMatchers: { method: string; pattern: RegExp }[] | undefined;
  app.notFound((c) => {
    routeMatchers ??= app.routes
      .filter((r) => r.method !== "ALL" && !r.path.includes("*"))
      .map((r) => ({ method: r.method, pattern: new RegExp(`^${r.path.replace(/:\w+/g, "[^/]+")}/?$`) }));
    const allowed = [
      ...new Set(routeMatchers.filter((r) => r.pattern.test(c.req.path)).map((r) => r.method)),
    ];
    if (allowed.length > 0) {
      c.header("Allow", allowed.join(", "));
      return c.json(
        errorBody("METHOD_NOT_ALLOWED", `${c.req.method} is not allowed on ${c.req.path}`, c.var.requestId),
        405,
      );
    }
    return c.json(errorBody("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`, c.var.requestId), 404);
  });

  app.get("/health", (c) => c.json({ status: "ok", service }));
  app.get("/ready", async (c) => {
    const results = await checkReadiness(options.readiness, options.readyTimeoutMs ?? 1500);
    const failing = Object.entries(results).filter(([, r]) => r !== "ok");
    if (failing.length === 0) return c.json({ status: "ready", service, checks: results });
    const names = failing.map(([name]) => name).join(", ");
    const details = failing.map(([name, error]) => ({ field: name, message: error }));
    return c.json(
      { ...errorBody("NOT_READY", `not ready: ${names}`, c.var.requestId, details), checks: results },
      503,
    );
  });
  app.get("/metrics", async (c) =>
    c.body(await registry.metrics(), 200, { "Content-Type": registry.contentType }),
  );
  app.get("/openapi.json", (c) => c.json(openapi.toJSON()));
  return app;
}

async function checkReadiness(
  checks: Record<string, ReadinessCheck>,
  timeoutMs: number,
): Promise<Record<string, string>> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: Timer | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([check(), timeout]);
        return [name, "ok"] as const;
      } catch (err) {
        return [name, err instanceof Error ? err.message : String(err)] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return Object.fromEntries(entries);
}
