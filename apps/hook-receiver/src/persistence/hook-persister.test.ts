import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { count, eq } from "drizzle-orm";
import { hookEvents } from "../../../../db/schema/index.ts";
import { dlqTopic, TOPICS } from "../../../../shared/bus/topics.ts";
import { collect, type ReceiverHarness, sampleHook, startReceiver, waitUntil } from "../test-support.ts";

describe("hook persistence, lookup, replay and sessions", () => {
  let h: ReceiverHarness;
  beforeAll(async () => {
    h = await startReceiver();
  });
  afterAll(() => h.close());

  const accept = async (body: Record<string, unknown>) => {
    const res = await h.request("/api/v1/hooks/receive", { method: "POST", json: body });
    expect(res.status).toBe(202);
    return ((await res.json()) as { event_id: string }).event_id;
  };
  const stored = async (eventId: string) => {
    await waitUntil(
      async () => (await h.request(`/api/v1/hooks/${eventId}`)).status === 200,
      10_000,
      "event stored",
    );
    return (await (await h.request(`/api/v1/hooks/${eventId}`)).json()) as Record<string, unknown>;
  };

  test("an accepted hook is stored by the persister and served by GET /api/v1/hooks/{event_id}", async () => {
    const id = await accept(sampleHook({ correlation_id: "c-42" }));
    const event = await stored(id);
    expect(event).toMatchObject({
      event_id: id,
      source: "github",
      action: "push",
      resource_id: "acme/widgets",
      correlation_id: "c-42",
      payload: { ref: "refs/heads/main", commits: [{ id: "abc" }] },
    });
  });

  test("an unknown event id is a 404 and a malformed one a 400", async () => {
    expect((await h.request(`/api/v1/hooks/${Bun.randomUUIDv7()}`)).status).toBe(404);
    const bad = await h.request("/api/v1/hooks/not-a-uuid");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { details: { field: string }[] } }).error.details[0]?.field).toBe(
      "event_id",
    );
  });

  test("a redelivered event is stored once", async () => {
    const id = await accept(sampleHook({ resource_id: "redelivered" }));
    await stored(id);
    const message = {
      key: "github:redelivered",
      value: JSON.stringify({ ...(await stored(id)), stored_at: undefined }),
    };
    await h.bus.publish(TOPICS.events, [message, message]);
    await Bun.sleep(300);
    const [row] = await h.database.run("count", (db) =>
      db.select({ n: count() }).from(hookEvents).where(eq(hookEvents.eventId, id)),
    );
    expect(row?.n).toBe(1);
  });

  test("an unparseable record goes to workflow.events.dlq with its reason and does not block later events", async () => {
    const dlq = await collect(h.bus, dlqTopic(TOPICS.events));
    try {
      await h.bus.publish(TOPICS.events, [{ key: "github:poison", value: "{not json" }]);
      const after = await accept(sampleHook({ resource_id: "poison" }));
      await dlq.waitFor(1);
      const [dead] = dlq.values();
      expect(dead?.reason).toContain("unparseable");
      expect(dead?.value).toBe("{not json");
      await stored(after);
    } finally {
      await dlq.stop();
    }
  });

  test("replay re-publishes a window's stored events as new events marked replay_of", async () => {
    const resource = `replay-${crypto.randomUUID()}`;
    const from = new Date(Date.now() - 1000).toISOString();
    const originals = [
      await accept(sampleHook({ resource_id: resource })),
      await accept(sampleHook({ resource_id: resource })),
    ];
    await Promise.all(originals.map(stored));
    const events = await collect(h.bus, TOPICS.events);
    try {
      const res = await h.request("/api/v1/hooks/replay", {
        method: "POST",
        json: { from, to: new Date(Date.now() + 1000).toISOString(), resource_id: resource },
      });
      expect(res.status).toBe(202);
      const body = (await res.json()) as {
        replayed: number;
        events: { event_id: string; replay_of: string }[];
      };
      expect(body.replayed).toBe(2);
      expect(body.events.map((e) => e.replay_of).sort()).toEqual([...originals].sort());
      await waitUntil(
        () => events.values().filter((v) => v.replay_of && v.resource_id === resource).length === 2,
      );
      const replayed = await stored(body.events[0]!.event_id);
      expect(replayed.replay_of).toBe(body.events[0]!.replay_of);
    } finally {
      await events.stop();
    }
  });

  test("replay rejects a window whose end is before its start", async () => {
    const res = await h.request("/api/v1/hooks/replay", {
      method: "POST",
      json: { from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z" },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { details: { field: string }[] } }).error.details[0]?.field).toBe(
      "to",
    );
  });

  test("startup opens a service session, a repeated ready keeps it, shutdown ends it", async () => {
    const instance = `inst-${crypto.randomUUID()}`;
    const lifecycle = (action: string) =>
      accept({
        source: "billing-api",
        action,
        resource: "service",
        resource_id: instance,
        payload: { version: "1.2.3" },
      });
    await stored(await lifecycle("startup"));
    await stored(await lifecycle("ready"));
    const list = async () =>
      (
        (await (await h.request("/api/v1/sessions?limit=100")).json()) as {
          sessions: {
            id: string;
            instance_id: string;
            status: string;
            service_name: string;
            end_reason: string | null;
          }[];
        }
      ).sessions.filter((s) => s.instance_id === instance);
    // The session is applied right after the event row is written, so wait for it rather than race it.
    await waitUntil(async () => (await list()).length > 0, 15_000, "session opened");
    const open = await list();
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ service_name: "billing-api", status: "active" });

    await stored(await lifecycle("shutdown"));
    await waitUntil(async () => (await list())[0]?.status === "ended", 15_000, "session ended");
    expect((await list())[0]?.end_reason).toBe("shutdown");
  });

  test("POST /api/v1/sessions/{id}/end ends an active session and 404s for ended or unknown ones", async () => {
    const instance = `api-end-${crypto.randomUUID()}`;
    await stored(
      await accept({
        source: "search",
        action: "registration",
        resource: "service",
        resource_id: instance,
        payload: {},
      }),
    );
    const active = async () =>
      (
        (await (await h.request("/api/v1/sessions?status=active&limit=1000")).json()) as {
          sessions: { id: string; instance_id: string }[];
        }
      ).sessions.find((s) => s.instance_id === instance);
    await waitUntil(async () => (await active()) !== undefined, 15_000, "session opened");
    const session = (await active())!;
    const ended = await h.request(`/api/v1/sessions/${session.id}/end`, {
      method: "POST",
      json: { reason: "decommissioned" },
    });
    expect(ended.status).toBe(200);
    expect(await ended.json()).toMatchObject({
      id: session.id,
      status: "ended",
      end_reason: "decommissioned",
    });
    expect((await h.request(`/api/v1/sessions/${session.id}/end`, { method: "POST" })).status).toBe(404);
    expect((await h.request(`/api/v1/sessions/${Bun.randomUUIDv7()}/end`, { method: "POST" })).status).toBe(
      404,
    );
  });
});
