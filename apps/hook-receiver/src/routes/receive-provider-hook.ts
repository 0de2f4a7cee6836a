import type { Hono } from "hono";
import { z } from "zod";
import { ApiError, notFound } from "../../../../shared/errors.ts";
import type { AppEnv } from "../../../../shared/http/context.ts";
import { rateLimit } from "../abuse/rate-limit-middleware.ts";
import { type HookRoutesContext, isJsonContentType, parseJsonBody } from "../context.ts";
import { isProviderName, ProviderPayloadError, type ProviderRequest, providers } from "../providers/index.ts";

const accepted = z.object({ event_id: z.uuid(), status: z.enum(["accepted", "duplicate"]) });
const FORM_TYPE = /^application\/x-www-form-urlencoded/i;

export function registerReceiveProviderHook(app: Hono<AppEnv>, ctx: HookRoutesContext): void {
  ctx.openapi.add({
    method: "post",
    path: "/api/v1/hooks/:provider",
    summary: "Accept a provider-signed delivery (github, stripe, slack, shopify, standard)",
    tags: ["hooks"],
    auth: "signature",
    responses: {
      202: { description: "accepted", schema: accepted },
      200: { description: "a repeated delivery id, or Slack's url_verification answer" },
      400: { description: "malformed body or a payload the provider mapping cannot read" },
      401: { description: "signature missing, invalid or outside the timestamp window" },
      404: { description: "unknown provider, or its signing secret is not configured" },
      415: { description: "unsupported content type" },
      503: { description: "not durable right now; see Retry-After" },
    },
  });

  app.post("/api/v1/hooks/:provider", rateLimit(ctx, false), async (c) => {
    const name = c.req.param("provider");
    if (!isProviderName(name)) throw notFound(`provider ${name}`);
    const secret = ctx.secrets[name];
    if (!secret) throw notFound(`provider ${name} (no signing secret is configured)`);
    const provider = providers[name];

    // Slack posts slash commands and interactivity as forms; every other provider sends JSON.
    const json = isJsonContentType(c);
    if (!json && !(name === "slack" && FORM_TYPE.test(c.req.header("content-type") ?? ""))) {
      throw new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "expected Content-Type: application/json");
    }
    const request: ProviderRequest = {
      headers: c.req.raw.headers,
      rawBody: await c.req.text(),
      nowMs: Date.now(),
    };
    const verification = provider.verify(secret, request);
    if (!verification.ok) {
      ctx.intake.reject(name, "unknown", "bad_signature");
      throw new ApiError(401, "UNAUTHORIZED", `${name} signature rejected: ${verification.reason}`);
    }
    const body = json ? parseJsonBody(request.rawBody, ctx.limits.maxJsonDepth) : undefined;
    const immediate = provider.immediateResponse?.(body);
    if (immediate !== undefined) return c.json(immediate as object, 200);

    let envelope: ReturnType<typeof provider.toEnvelope>;
    try {
      envelope = provider.toEnvelope(request, body);
    } catch (err) {
      if (err instanceof ProviderPayloadError) throw new ApiError(400, "BAD_REQUEST", err.message);
      throw err;
    }
    const result = await ctx.intake.accept(
      { ...envelope, source: name, correlation_id: c.req.header("x-correlation-id") },
      `delivery:${name}:${envelope.delivery_id}`,
    );
    return c.json(result, result.status === "accepted" ? 202 : 200);
  });
}
