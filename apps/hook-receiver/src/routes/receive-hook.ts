import type { Hono } from "hono";
import { z } from "zod";
import { ApiError } from "../../../../shared/errors.ts";
import type { AppEnv } from "../../../../shared/http/context.ts";
import { validationError } from "../../../../shared/http/validate.ts";
import { rateLimit } from "../abuse/rate-limit-middleware.ts";
import { type HookRoutesContext, parseJsonBody, requireJsonType } from "../context.ts";
import { hookEnvelopeSchema } from "../intake/envelope.ts";

const accepted = z.object({ event_id: z.uuid(), status: z.enum(["accepted", "duplicate"]) });
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export function registerReceiveHook(app: Hono<AppEnv>, ctx: HookRoutesContext): void {
  ctx.openapi.add({
    method: "post",
    path: "/api/v1/hooks/receive",
    summary: "Accept a generic hook; answered after the event is durable on Kafka (or the outbox)",
    tags: ["hooks"],
    auth: "apiKey",
    body: hookEnvelopeSchema,
    responses: {
      202: { description: "accepted", schema: accepted },
      200: { description: "a repeated Idempotency-Key: the first event's id", schema: accepted },
      400: { description: "malformed or invalid body" },
      401: { description: "missing or invalid API key" },
      413: { description: "body too large" },
      415: { description: "not JSON" },
      429: { description: "rate limited" },
      503: { description: "not durable right now, or shedding load; see Retry-After" },
    },
  });

  app.post("/api/v1/hooks/receive", ctx.auth, rateLimit(ctx, true), async (c) => {
    requireJsonType(c);
    const body = parseJsonBody(await c.req.text(), ctx.limits.maxJsonDepth);
    const parsed = hookEnvelopeSchema.safeParse(body);
    if (!parsed.success) {
      ctx.intake.reject("invalid", "invalid", "invalid");
      throw validationError(parsed.error);
    }
    const key = c.req.header("idempotency-key");
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      throw new ApiError(
        400,
        "VALIDATION_FAILED",
        "invalid Idempotency-Key header: 1-255 printable ASCII characters",
        {
          details: [{ field: "Idempotency-Key", message: "1-255 printable ASCII characters" }],
        },
      );
    }
    // Keys are scoped per API key, so two clients choosing the same key never collide.
    const dedupeKey = key ? `idem:${Bun.hash(c.var.apiKey ?? "").toString(36)}:${key}` : undefined;
    const result = await ctx.intake.accept(parsed.data, dedupeKey);
    return c.json(result, result.status === "accepted" ? 202 : 200);
  });
}
