import type { Hono } from "hono";
import { z } from "zod";
import { TOPICS } from "../../../../shared/bus/topics.ts";
import { ApiError } from "../../../../shared/errors.ts";
import type { AppEnv } from "../../../../shared/http/context.ts";
import { jsonBody } from "../../../../shared/http/validate.ts";
import type { HookRoutesContext } from "../context.ts";
import { eventKey, type HookEvent } from "../intake/envelope.ts";
import { toHookEvent } from "../persistence/event-store.ts";

export const replaySchema = z
  .object({
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }),
    source: z.string().optional(),
    action: z.string().optional(),
    resource: z.string().optional(),
    resource_id: z.string().optional(),
    limit: z.number().int().min(1).max(10_000).default(1000),
  })
  .refine((v) => Date.parse(v.from) < Date.parse(v.to), { message: "from must be before to", path: ["to"] });

const PUBLISH_CHUNK = 500;

export function registerReplayHooks(app: Hono<AppEnv>, ctx: HookRoutesContext): void {
  ctx.openapi.add({
    method: "post",
    path: "/api/v1/hooks/replay",
    summary: "Re-publish stored events of a time window as new events marked replay_of",
    tags: ["hooks"],
    auth: "apiKey",
    body: replaySchema,
    responses: {
      202: { description: "replayed" },
      400: { description: "invalid window" },
      503: { description: "Kafka down" },
    },
  });
  app.post("/api/v1/hooks/replay", ctx.auth, ...jsonBody(replaySchema), async (c) => {
    const filter = c.req.valid("json");
    const rows = await ctx.events.window({ ...filter, from: new Date(filter.from), to: new Date(filter.to) });
    const replays: HookEvent[] = rows.map((row) => {
      const { stored_at: _stored, replay_of: _previous, ...original } = toHookEvent(row);
      return { ...original, event_id: Bun.randomUUIDv7(), replay_of: row.eventId };
    });
    let published = 0;
    try {
      for (let i = 0; i < replays.length; i += PUBLISH_CHUNK) {
        const chunk = replays.slice(i, i + PUBLISH_CHUNK);
        await ctx.bus.publish(
          TOPICS.events,
          chunk.map((e) => ({
            key: eventKey(e),
            value: JSON.stringify(e),
            headers: { event_id: e.event_id, replay: "true" },
          })),
        );
        published += chunk.length;
      }
    } catch (err) {
      const first = replays[published];
      throw new ApiError(
        503,
        "SERVICE_UNAVAILABLE",
        `Kafka stopped accepting the replay after ${published} of ${replays.length} events; the first not replayed was received at ${first?.received_at}, so narrow the window to resume from there`,
        { headers: { "Retry-After": "5" }, cause: err },
      );
    }
    return c.json(
      {
        replayed: replays.length,
        events: replays.map((e) => ({ event_id: e.event_id, replay_of: e.replay_of })),
      },
      202,
    );
  });
}
