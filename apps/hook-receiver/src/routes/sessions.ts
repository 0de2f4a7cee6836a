import type { Hono } from "hono";
import { z } from "zod";
import { notFound } from "../../../../shared/errors.ts";
import type { AppEnv } from "../../../../shared/http/context.ts";
import { validate } from "../../../../shared/http/validate.ts";
import type { HookRoutesContext } from "../context.ts";
import { toSessionView } from "../persistence/session-store.ts";

const listQuery = z.object({
  status: z.enum(["active", "ended"]).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const idParam = z.object({ id: z.uuid({ error: "expected a UUID" }) });
const endBody = z.object({ reason: z.string().max(200).optional() }).optional();

export function registerSessionRoutes(app: Hono<AppEnv>, ctx: HookRoutesContext): void {
  ctx.openapi.add({
    method: "get",
    path: "/api/v1/sessions",
    summary: "Service lifecycle sessions, newest first",
    tags: ["sessions"],
    auth: "apiKey",
    query: listQuery,
    responses: { 200: { description: "{sessions: [...]}" } },
  });
  app.get("/api/v1/sessions", ctx.auth, validate("query", listQuery), async (c) => {
    const sessions = await ctx.sessions.list(c.req.valid("query"));
    return c.json({ sessions: sessions.map(toSessionView) });
  });

  ctx.openapi.add({
    method: "post",
    path: "/api/v1/sessions/:id/end",
    summary: "End an active session",
    tags: ["sessions"],
    auth: "apiKey",
    responses: {
      200: { description: "the ended session" },
      404: { description: "unknown or already ended" },
    },
  });
  app.post("/api/v1/sessions/:id/end", ctx.auth, validate("param", idParam), async (c) => {
    let reason = "ended_by_api";
    if (c.req.header("content-length") !== "0" && c.req.header("content-type")?.includes("json")) {
      const parsed = endBody.safeParse(await c.req.json().catch(() => undefined));
      if (parsed.success && parsed.data?.reason) reason = parsed.data.reason;
    }
    const session = await ctx.sessions.end(c.req.valid("param").id, reason);
    if (!session) throw notFound("active session");
    return c.json(toSessionView(session));
  });
}
