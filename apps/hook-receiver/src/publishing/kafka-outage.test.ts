import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { KafkaBus } from "../../../../shared/bus/kafka.ts";
import { TOPIC_SPECS, TOPICS } from "../../../../shared/bus/topics.ts";
import { silentLogger } from "../../../../shared/logger.ts";
import { type KafkaMock, startKafkaMock } from "../../../../shared/testing/kafka-mock.ts";
import { uniquePrefix } from "../../../../shared/testing/services.ts";
import { collect, type ReceiverHarness, sampleHook, startReceiver, waitUntil } from "../test-support.ts";

describe("the receiver through a Kafka outage (librdkafka mock cluster)", () => {
  let mock: KafkaMock;
  let h: ReceiverHarness;
  let prefix: string;
  beforeAll(async () => {
    prefix = uniquePrefix("outage");
    mock = await startKafkaMock({
      brokers: 3,
      topics: TOPIC_SPECS.map((t) => ({ topic: prefix + t.topic, partitions: t.partitions })),
    });
    const bus = new KafkaBus({
      brokers: mock.brokers,
      clientId: "receiver-outage",
      idempotent: false,
      topicPrefix: prefix,
      logger: silentLogger,
      publishTimeoutMs: 3000,
    });
    h = await startReceiver({ bus, postgresProxy: true, overrides: { persist: false } });
  });
  afterAll(async () => {
    await h.close();
    mock.stop();
  });

  const send = async (resource: string, seq: number) => {
    const started = performance.now();
    const res = await h.request("/api/v1/hooks/receive", {
      method: "POST",
      json: sampleHook({ resource_id: resource, payload: { seq } }),
    });
    const body = (await res.json()) as { event_id?: string };
    return {
      status: res.status,
      eventId: body.event_id,
      ms: performance.now() - started,
      retryAfter: res.headers.get("retry-after"),
    };
  };

  test("every 202 reaches workflow.events exactly once per event id, in order per resource, across an outage", async () => {
    const events = await collect(h.bus, TOPICS.events);
    await waitUntil(async () => (await send("warm-up", 0)).status === 202, 10_000, "kafka warm");
    const resources = ["r-a", "r-b", "r-c"];
    const accepted = new Map<string, string[]>(resources.map((r) => [r, []]));
    const statuses: number[] = [];
    let seq = 0;
    const sendRound = async () => {
      seq++;
      const results = await Promise.all(resources.map((r) => send(r, seq)));
      results.forEach((r, i) => {
        statuses.push(r.status);
        if (r.status === 202) accepted.get(resources[i]!)!.push(r.eventId!);
      });
      return results;
    };

    for (let i = 0; i < 5; i++) await sendRound();
    mock.allDown();
    const downAt = performance.now();
    let firstOutboxMs: number | undefined;
    let slowest = 0;
    while (performance.now() - downAt < 3000) {
      const results = await sendRound();
      slowest = Math.max(slowest, ...results.map((r) => r.ms));
      if (firstOutboxMs === undefined && h.service.publisher.route === "outbox")
        firstOutboxMs = performance.now() - downAt;
    }
    // The breaker notices within a second, and no request waited on a dead broker much past that.
    expect(firstOutboxMs).toBeDefined();
    expect(firstOutboxMs!).toBeLessThan(1000);
    expect(slowest).toBeLessThan(1500);
    expect(statuses.every((s) => s === 202)).toBe(true);

    const ready = await h.request("/ready");
    expect(ready.status).toBe(503);
    const readyBody = (await ready.json()) as { error: { message: string }; checks: Record<string, string> };
    expect(readyBody.error.message).toContain("kafka");
    expect(readyBody.checks.database).toBe("ok");

    const metrics = await (await h.request("/metrics")).text();
    expect(metrics).toMatch(/hook_outbox_depth [1-9]/);
    expect(metrics).toMatch(/hook_publish_route 1/);

    mock.allUp();
    // Traffic keeps flowing while the outbox drains: the switch back to Kafka must happen under load,
    // and nothing sent meanwhile may overtake what is still in the outbox.
    const upAt = Date.now();
    while (h.service.publisher.route !== "kafka" && Date.now() - upAt < 30_000) await sendRound();
    expect(h.service.publisher.route).toBe("kafka");
    for (let i = 0; i < 5; i++) await sendRound();
    const total = [...accepted.values()].reduce((n, ids) => n + ids.length, 0);

    const arrived = () => new Set(events.values().map((v) => v.event_id as string));
    await waitUntil(
      () => [...accepted.values()].flat().every((id) => arrived().has(id)),
      30_000,
      "all accepted events consumed",
    );
    const values = events.values();
    const acceptedIds = new Set([...accepted.values()].flat());
    const distinctArrived = new Set(values.filter((v) => v.resource_id !== "warm-up").map((v) => v.event_id));
    expect(acceptedIds.size).toBe(total);
    expect(distinctArrived.size).toBe(acceptedIds.size);

    for (const resource of resources) {
      const firstSeen: number[] = [];
      const seen = new Set<string>();
      for (const v of values) {
        if (v.resource_id !== resource || seen.has(v.event_id as string)) continue;
        seen.add(v.event_id as string);
        firstSeen.push((v.payload as { seq: number }).seq);
      }
      expect(firstSeen).toEqual([...firstSeen].sort((a, b) => a - b));
    }
    await events.stop();
  }, 90_000);

  test("with Kafka and Postgres both down a hook is refused with 503 and Retry-After within a second", async () => {
    mock.allDown();
    try {
      await waitUntil(
        async () => {
          await send("both-down", 0);
          return h.service.publisher.route === "outbox";
        },
        10_000,
        "breaker open",
      );
      h.pgProxy!.down();
      const result = await send("both-down", 1);
      expect(result.status).toBe(503);
      expect(result.retryAfter).toBeTruthy();
      expect(result.ms).toBeLessThan(1000);
      const refused = await h.request("/api/v1/hooks/receive", {
        method: "POST",
        headers: { "idempotency-key": "retry-after-outage" },
        json: sampleHook({ resource_id: "retried" }),
      });
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("SERVICE_UNAVAILABLE");

      const ready = (await (await h.request("/ready")).json()) as { checks: Record<string, string> };
      expect(ready.checks.kafka).not.toBe("ok");
      expect(ready.checks.database).not.toBe("ok");
      expect(ready.checks.cache).toBe("ok");
    } finally {
      h.pgProxy!.up();
      mock.allUp();
    }
    await waitUntil(async () => (await send("both-back", 2)).status === 202, 20_000, "recovery");
    // The refused delivery was not remembered, so the sender's retry is accepted rather than called a duplicate.
    const retried = await h.request("/api/v1/hooks/receive", {
      method: "POST",
      headers: { "idempotency-key": "retry-after-outage" },
      json: sampleHook({ resource_id: "retried" }),
    });
    expect(retried.status).toBe(202);
  }, 60_000);
});
