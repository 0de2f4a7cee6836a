import type { Hono } from "hono";
import { z } from "zod";
import { notFound } from "../../../../shared/errors.ts";
import type { AppEnv } from "../../../../shared/http/context.ts";
import { validate } from "../../../../shared/http/validate.ts";
import type { HookRoutesContext } from "../context.ts";
import { toHookEvent } from "../persistence/event-store.ts";

const params = z.object({ event_id: z.uuid({ error: "expected a UUID" }) });

export function registerGetHook(app: Hono<AppEnv>, ctx: HookRoutesContext): void {
  ctx.openapi.add({
    method: "get",
    path: "/api/v1/hooks/:event_id",
    summary: "A stored event, once the persister has written it",
    tags: ["hooks"],
    auth: "apiKey",
    responses: {
      200: { description: "the event" },
      400: { description: "not a UUID" },
      404: { description: "not stored" },
    },
  });
  app.get("/api/v1/hooks/:event_id", ctx.auth, validate("param", params), async (c) => {
    const row = await ctx.events.get(c.req.valid("param").event_id);
    if (!row) throw notFound("event");
    return c.json(toHookEvent(row));
  });
}
