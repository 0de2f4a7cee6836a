import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { TOPICS } from "../../../../shared/bus/topics.ts";
import { collect, type ReceiverHarness, sampleHook, startReceiver, waitUntil } from "../test-support.ts";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("POST /api/v1/hooks/receive", () => {
  let h: ReceiverHarness;
  let events: Awaited<ReturnType<typeof collect>>;
  beforeAll(async () => {
    h = await startReceiver();
    events = await collect(h.bus, TOPICS.events);
  });
  afterAll(async () => {
    await events.stop();
    await h.close();
  });

  test("an accepted hook answers 202 with a UUIDv7 and reaches workflow.events keyed by source and resource", async () => {
    const res = await h.request("/api/v1/hooks/receive", {
      method: "POST",
      json: sampleHook({ correlation_id: "corr-1", resource_id: "acme/first" }),
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { event_id: string; status: string };
    expect(body.status).toBe("accepted");
    expect(body.event_id).toMatch(UUID_V7);
    expect(res.headers.get("x-request-id")).toBeTruthy();

    await waitUntil(() => events.messages.some((m) => JSON.parse(m.value).event_id === body.event_id));
    const message = events.messages.find((m) => JSON.parse(m.value).event_id === body.event_id);
    expect(message?.key).toBe("github:acme/first");
    const value = JSON.parse(message!.value);
    expect(value).toMatchObject({
      event_id: body.event_id,
      source: "github",
      action: "push",
      resource: "repository",
      resource_id: "acme/first",
      correlation_id: "corr-1",
      delivery_id: null,
      payload: { ref: "refs/heads/main", commits: [{ id: "abc" }] },
    });
    expect(Date.parse(value.received_at)).toBeGreaterThan(Date.now() - 60_000);
  });

  test("a body missing fields is rejected with 400 naming each field, and nothing is published", async () => {
    const before = events.messages.length;
    const res = await h.request("/api/v1/hooks/receive", {
      method: "POST",
      json: { source: "", action: "push", payload: {} },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as {
      error: { code: string; details: { field: string }[]; request_id: string };
    };
    expect(body.error.code).toBe("VALIDATION_FAILED");
    expect(body.error.details.map((d) => d.field).sort()).toEqual(["resource", "resource_id", "source"]);
    expect(body.error.request_id).toBe(res.headers.get("x-request-id")!);
    await Bun.sleep(50);
    expect(events.messages.length).toBe(before);
  });

  test("malformed JSON is a 400 MALFORMED_JSON in the one error format", async () => {
    const res = await h.request("/api/v1/hooks/receive", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"source": "github",',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("MALFORMED_JSON");
  });

  test("a non-JSON content type is a 415", async () => {
    const res = await h.request("/api/v1/hooks/receive", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify(sampleHook()),
    });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  test("a body over 1 MiB is refused with 413", async () => {
    const res = await h.request("/api/v1/hooks/receive", {
      method: "POST",
      json: sampleHook({ payload: { blob: "x".repeat(1024 * 1024 + 10) } }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("PAYLOAD_TOO_LARGE");
  });

  test("a payload nested deeper than the limit is refused", async () => {
    let payload: unknown = {};
    for (let i = 0; i < 40; i++) payload = { inner: payload };
    const res = await h.request("/api/v1/hooks/receive", { method: "POST", json: sampleHook({ payload }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("deeper");
  });

  test("envelope fields over their length limits are rejected", async () => {
    const res = await h.request("/api/v1/hooks/receive", {
      method: "POST",
      json: sampleHook({ resource_id: "r".repeat(300) }),
    });
    expect(res.status).toBe(400);
  });

  test("a missing or wrong API key is a 401; a Bearer token is accepted", async () => {
    const missing = await h.service.app.request("/api/v1/hooks/receive", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(sampleHook()),
    });
    expect(missing.status).toBe(401);
    const wrong = await h.request("/api/v1/hooks/receive", {
      method: "POST",
      headers: { "x-api-key": "nope" },
      json: sampleHook(),
    });
    expect(wrong.status).toBe(401);
    const bearer = await h.request("/api/v1/hooks/receive", {
      method: "POST",
      headers: { authorization: "Bearer test-key-0123456789" },
      json: sampleHook(),
    });
    expect(bearer.status).toBe(202);
  });

  test("a repeated Idempotency-Key answers 200 with the first event id and publishes nothing", async () => {
    const key = `idem-${crypto.randomUUID()}`;
    const first = await h.request("/api/v1/hooks/receive", {
      method: "POST",
      headers: { "idempotency-key": key },
      json: sampleHook({ resource_id: key }),
    });
    expect(first.status).toBe(202);
    const firstBody = (await first.json()) as { event_id: string };
    const second = await h.request("/api/v1/hooks/receive", {
      method: "POST",
      headers: { "idempotency-key": key },
      json: sampleHook({ resource_id: key }),
    });
    expect(second.status).toBe(200);
    expect(await second.json()).toEqual({ event_id: firstBody.event_id, status: "duplicate" });
    await waitUntil(() => events.values().some((v) => v.resource_id === key));
    await Bun.sleep(100);
    expect(events.values().filter((v) => v.resource_id === key)).toHaveLength(1);
  });

  test("concurrent deliveries with one Idempotency-Key publish once and all name the same event", async () => {
    const key = `race-${crypto.randomUUID()}`;
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        h.request("/api/v1/hooks/receive", {
          method: "POST",
          headers: { "idempotency-key": key },
          json: sampleHook({ resource_id: key }),
        }),
      ),
    );
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as {
      event_id: string;
      status: string;
    }[];
    expect(responses.filter((r) => r.status === 202)).toHaveLength(1);
    expect(new Set(bodies.map((b) => b.event_id)).size).toBe(1);
    await waitUntil(() => events.values().some((v) => v.resource_id === key));
    await Bun.sleep(150);
    expect(events.values().filter((v) => v.resource_id === key)).toHaveLength(1);
  });

  test("events of one resource reach one partition in the order they were answered", async () => {
    const resource = `ordered-${crypto.randomUUID()}`;
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await h.request("/api/v1/hooks/receive", {
        method: "POST",
        json: sampleHook({ resource_id: resource, payload: { seq: i } }),
      });
      ids.push(((await res.json()) as { event_id: string }).event_id);
    }
    await waitUntil(
      () => events.messages.filter((m) => m.key === `github:${resource}`).length === ids.length,
    );
    const mine = events.messages.filter((m) => m.key === `github:${resource}`);
    expect(new Set(mine.map((m) => m.partition)).size).toBe(1);
    expect(mine.map((m) => JSON.parse(m.value).event_id)).toEqual(ids);
  });

  test("hooks received and dedupe hits are visible on /metrics", async () => {
    const text = await (await h.service.app.request("/metrics")).text();
    expect(text).toMatch(/hooks_received_total\{source="github",action="push",outcome="accepted"\} \d+/);
    expect(text).toMatch(/hook_dedupe_hits_total\{source="github"\} [1-9]/);
    expect(text).toMatch(/hook_publish_duration_seconds_count\{route="kafka",outcome="ok"\} [1-9]/);
    expect(text).toContain("hook_queue_depth");
    expect(text).toContain("hook_outbox_depth 0");
  });

  test("unknown routes and wrong methods get the JSON error body with 404 and 405", async () => {
    const missing = await h.request("/api/v1/nothing-here");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
    const wrongMethod = await h.request("/api/v1/hooks/receive", { method: "DELETE" });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toContain("POST");
  });

  test("the OpenAPI document describes the intake body from its validation schema", async () => {
    const doc = (await (await h.request("/openapi.json")).json()) as {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: { required: string[] } }> } }>
      >;
    };
    const schema = doc.paths["/api/v1/hooks/receive"]?.post?.requestBody?.content["application/json"]?.schema;
    expect(schema?.required).toEqual(expect.arrayContaining(["source", "action", "resource", "resource_id"]));
    expect(doc.paths["/api/v1/hooks/{event_id}"]).toBeDefined();
  });
});
