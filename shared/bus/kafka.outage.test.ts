import { afterAll, beforeAll, expect, test } from "bun:test";
import { silentLogger } from "../logger.ts";
import { Registry } from "../metrics.ts";
import { type KafkaMock, startKafkaMock } from "../testing/kafka-mock.ts";
import type { IncomingMessage, Subscription } from "./interface.ts";
import { KafkaBus } from "./kafka.ts";

const PREFIX = `outage${Date.now().toString(36)}.`;

let mock: KafkaMock;
let bus: KafkaBus;
let subscription: Subscription | undefined;
const registry = new Registry();

beforeAll(async () => {
  mock = await startKafkaMock({ brokers: 3, topics: [{ topic: `${PREFIX}events`, partitions: 3 }] });
  bus = new KafkaBus({
    brokers: mock.brokers,
    clientId: "bus-outage",
    idempotent: false,
    topicPrefix: PREFIX,
    registry,
    logger: silentLogger,
    sessionTimeoutMs: 3_000,
    heartbeatIntervalMs: 500,
    maxWaitTimeMs: 200,
  });
});

afterAll(async () => {
  await subscription?.stop().catch(() => {});
  await bus?.close();
  mock?.stop();
}, 20_000);

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; error?: Error }> {
  const started = performance.now();
  try {
    await work();
    return { ms: performance.now() - started };
  } catch (error) {
    return { ms: performance.now() - started, error: error as Error };
  }
}

test("with every broker down publish and check fail fast, and both recover when brokers return", async () => {
  const received: IncomingMessage[] = [];
  subscription = await bus.subscribe({
    groupId: "outage-watcher",
    topics: ["events"],
    handler: async (batch) => {
      received.push(...batch);
    },
  });
  await bus.publish("events", [{ key: "before", value: "before" }]);
  await bus.check();

  mock.allDown();
  try {
    const publish = await timed(() => bus.publish("events", [{ key: "during", value: "during" }]));
    expect(publish.error).toBeInstanceOf(Error);
    expect(publish.ms).toBeLessThan(8_000);

    const check = await timed(() => bus.check());
    expect(check.error?.message).toContain("no Kafka broker answered");
    expect(check.ms).toBeLessThan(3_000);

    const scrape = await timed(() => registry.metrics());
    expect(scrape.error).toBeUndefined();
    expect(scrape.ms).toBeLessThan(3_000);
  } finally {
    mock.allUp();
  }

  await bus.publish("events", [{ key: "after", value: "after" }]);
  await bus.check();
  // "before" may not have been fetched when the brokers went down; either way it must arrive now.
  const deadline = Date.now() + 20_000;
  const values = () => new Set(received.map((m) => m.value));
  while (!(values().has("before") && values().has("after")) && Date.now() < deadline) await Bun.sleep(50);
  expect([...values()].sort()).toEqual(["after", "before"]);
}, 45_000);

test("a broker that accepts connections but stalls cannot hold a publish past its timeout", async () => {
  // A cluster of its own: the stall delays every connection to it, other tests' included.
  const stalled = await startKafkaMock({ brokers: 1, topics: [{ topic: "stalled", partitions: 1 }] });
  const stalledBus = new KafkaBus({
    brokers: stalled.brokers,
    clientId: "bus-stalled",
    idempotent: false,
    logger: silentLogger,
    publishTimeoutMs: 2_000,
  });
  try {
    await stalledBus.publish("stalled", [{ key: "k", value: "warm-up" }]);
    stalled.setRtt(1, 30_000);
    const publish = await timed(() => stalledBus.publish("stalled", [{ key: "k", value: "stalled" }]));
    expect(publish.error?.message).toContain("not acknowledged within 2000 ms");
    expect(publish.ms).toBeGreaterThanOrEqual(1_900);
    expect(publish.ms).toBeLessThan(4_000);
  } finally {
    stalled.setRtt(1, 0);
    const close = await timed(() => stalledBus.close());
    stalled.stop();
    expect(close.ms).toBeLessThan(5_000);
  }
}, 30_000);

test("produce errors are retried, and a publish fails once they outlast the retry budget", async () => {
  const PRODUCE = 0;
  const NOT_LEADER_OR_FOLLOWER = 6;
  await bus.publish("events", [{ key: "k", value: "warm-up" }]);

  mock.pushRequestErrors(PRODUCE, [NOT_LEADER_OR_FOLLOWER, NOT_LEADER_OR_FOLLOWER]);
  await bus.publish("events", [{ key: "k", value: "after two refusals" }]);

  mock.pushRequestErrors(PRODUCE, Array(10).fill(NOT_LEADER_OR_FOLLOWER));
  try {
    const publish = await timed(() => bus.publish("events", [{ key: "k", value: "refused" }]));
    expect(publish.error?.message).toContain("not the leader");
    expect(publish.ms).toBeLessThan(5_000);
  } finally {
    mock.clearRequestErrors(PRODUCE);
  }
  await bus.publish("events", [{ key: "k", value: "accepted again" }]);
});

test("ensureTopics accepts existing topics from a broker that refuses CreateTopics, and names what it cannot create", async () => {
  await bus.ensureTopics([{ topic: "events", partitions: 3, replicationFactor: 2 }]);
  const missing = await timed(() =>
    bus.ensureTopics([
      { topic: "events", partitions: 3 },
      { topic: "never-created", partitions: 1 },
    ]),
  );
  expect(missing.error?.message).toContain("cannot create topics never-created");
  expect(missing.ms).toBeLessThan(5_000);
});
