import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { silentLogger } from "../logger.ts";
import { Registry } from "../metrics.ts";
import { type KafkaMock, startKafkaMock } from "../testing/kafka-mock.ts";
import type {
  EventBus,
  IncomingMessage,
  OutgoingMessage,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from "./interface.ts";
import { KafkaBus } from "./kafka.ts";
import { MemoryBroker, MemoryBus } from "./memory.ts";

/** What the suite needs from an adapter: buses on one shared backend, and topics provisioned on it. */
interface Backend {
  bus(prefix: string, registry?: Registry): EventBus;
  createTopics(prefix: string, topics: TopicSpec[]): Promise<void>;
}

interface Adapter {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  backend(): Backend;
}

const memoryAdapter: Adapter = {
  name: "memory",
  async start() {},
  async stop() {},
  backend() {
    const broker = new MemoryBroker();
    return {
      bus: (prefix, registry) =>
        new MemoryBus({ broker, topicPrefix: prefix, registry, logger: silentLogger, retryBackoffMs: 20 }),
      createTopics: (prefix, topics) => new MemoryBus({ broker, topicPrefix: prefix }).ensureTopics(topics),
    };
  },
};

function kafkaAdapter(): Adapter {
  let mock: KafkaMock | undefined;
  return {
    name: "kafka",
    async start() {
      mock = await startKafkaMock({ brokers: 3 });
    },
    async stop() {
      mock?.stop();
    },
    backend() {
      if (!mock) throw new Error("the Kafka mock cluster did not start");
      const cluster = mock;
      return {
        bus: (prefix, registry) =>
          new KafkaBus({
            brokers: cluster.brokers,
            clientId: "bus-contract",
            // The 2.0.2 mock reports controller 0, which kafkajs' idempotent producer cannot work with.
            idempotent: false,
            topicPrefix: prefix,
            registry,
            logger: silentLogger,
            // A short session lets a group that just emptied accept a new member quickly.
            sessionTimeoutMs: 3_000,
            heartbeatIntervalMs: 500,
            maxWaitTimeMs: 200,
          }),
        // The mock refuses CreateTopics, so topics are provisioned the way an operator would.
        createTopics: async (prefix, topics) => {
          for (const spec of topics) cluster.createTopic(prefix + spec.topic, spec.partitions);
        },
      };
    },
  };
}

let prefixCounter = 0;
function uniquePrefix(): string {
  prefixCounter++;
  return `c${Date.now().toString(36)}${prefixCounter}.`;
}

async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(20);
  }
}

function messages(count: number, key: (i: number) => string | null, from = 0): OutgoingMessage[] {
  return Array.from({ length: count }, (_, i) => ({
    key: key(from + i),
    value: JSON.stringify({ seq: from + i }),
    headers: { seq: String(from + i) },
  }));
}

const seqOf = (m: IncomingMessage): number => (JSON.parse(m.value) as { seq: number }).seq;
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** One test's world: a fresh topic prefix, and every bus and subscription it opens, closed at the end. */
class Scenario {
  readonly prefix = uniquePrefix();
  private readonly buses: EventBus[] = [];
  private readonly subscriptions: Subscription[] = [];

  constructor(readonly backend: Backend) {}

  async open(topics: TopicSpec[], options: { prefix?: string; registry?: Registry } = {}): Promise<EventBus> {
    const prefix = options.prefix ?? this.prefix;
    await this.backend.createTopics(prefix, topics);
    const bus = this.backend.bus(prefix, options.registry);
    this.buses.push(bus);
    return bus;
  }

  async subscribe(bus: EventBus, options: SubscribeOptions): Promise<Subscription> {
    const subscription = await bus.subscribe(options);
    this.subscriptions.push(subscription);
    return subscription;
  }

  collect(bus: EventBus, groupId: string, sink: IncomingMessage[]): Promise<Subscription> {
    return this.subscribe(bus, {
      groupId,
      topics: ["events"],
      handler: async (batch) => {
        sink.push(...batch);
      },
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.subscriptions.map((s) => s.stop()));
    await Promise.allSettled(this.buses.map((b) => b.close()));
  }
}

function contractSuite(adapter: Adapter) {
  // Tests own their prefixes and groups, so they can share one backend concurrently; each fresh
  // consumer group costs about 3 s on the mock cluster, which concurrency hides.
  describe.concurrent(`EventBus contract: ${adapter.name}`, () => {
    beforeAll(async () => {
      await adapter.start();
    });

    afterAll(async () => {
      await adapter.stop();
    });

    function scenario(name: string, body: (s: Scenario) => Promise<void>): void {
      test(name, async () => {
        const s = new Scenario(adapter.backend());
        try {
          await body(s);
        } finally {
          await s.close();
        }
      }, 30_000);
    }

    scenario("delivers every message once, in publish order per key, with un-prefixed names", async (s) => {
      const registry = new Registry();
      const bus = await s.open([{ topic: "events", partitions: 3 }], { registry });
      await bus.ensureTopics([{ topic: "events", partitions: 3 }]);

      const received: IncomingMessage[] = [];
      await s.collect(bus, "orders", received);
      await bus.publish(
        "events",
        messages(30, (i) => `k${i % 5}`),
      );
      await eventually(() => received.length >= 30, 10_000, "30 messages");

      expect(received.map(seqOf).sort((a, b) => a - b)).toEqual(range(0, 30));
      for (const key of ["k0", "k1", "k2", "k3", "k4"]) {
        const ofKey = received.filter((m) => m.key === key);
        expect(ofKey.map(seqOf)).toEqual(ofKey.map(seqOf).sort((a, b) => a - b));
        expect(new Set(ofKey.map((m) => m.partition)).size).toBe(1);
      }
      const first = received[0]!;
      expect(first.topic).toBe("events");
      expect(first.headers.seq).toBe(String(seqOf(first)));
      expect(first.timestamp).toBeGreaterThan(0);

      const text = await registry.metrics();
      expect(text).toContain('bus_publish_duration_seconds_count{topic="events",outcome="ok"} 1');
      expect(text).toContain('bus_publish_batch_size_sum{topic="events"} 30');
    });

    scenario("a group resumes from its committed offset after a restart", async (s) => {
      const bus = await s.open([{ topic: "events", partitions: 2 }]);
      const before: IncomingMessage[] = [];
      const first = await s.collect(bus, "resumer", before);
      await bus.publish(
        "events",
        messages(10, (i) => `k${i}`),
      );
      await eventually(() => before.length >= 10, 10_000, "the first 10 messages");
      await first.stop();

      await bus.publish(
        "events",
        messages(5, (i) => `k${i}`, 10),
      );
      const after: IncomingMessage[] = [];
      await s.collect(bus, "resumer", after);
      await eventually(() => after.length >= 5, 15_000, "the 5 new messages");
      await Bun.sleep(300);
      expect(after.map(seqOf).sort((a, b) => a - b)).toEqual(range(10, 15));
    });

    scenario("a failing handler gets the same messages again and later ones are not skipped", async (s) => {
      const bus = await s.open([{ topic: "events", partitions: 1 }]);
      const deliveries: number[][] = [];
      const processed: number[] = [];
      let failuresLeft = 2;
      await s.subscribe(bus, {
        groupId: "flaky",
        topics: ["events"],
        handler: async (batch) => {
          deliveries.push(batch.map(seqOf));
          if (failuresLeft > 0) {
            failuresLeft--;
            throw new Error("handler failed on purpose");
          }
          processed.push(...batch.map(seqOf));
        },
      });

      await bus.publish(
        "events",
        messages(5, () => "same"),
      );
      await eventually(() => processed.length >= 5, 15_000, "the first 5 messages after two failures");
      await bus.publish(
        "events",
        messages(5, () => "same", 5),
      );
      await eventually(() => processed.length >= 10, 10_000, "all 10 messages");

      const failed = deliveries[0]!;
      expect(failed[0]).toBe(0);
      expect(deliveries[1]!.slice(0, failed.length)).toEqual(failed);
      expect(deliveries[2]!.slice(0, failed.length)).toEqual(failed);
      expect(processed).toEqual(range(0, 10));
    });

    scenario("two groups each receive every message", async (s) => {
      const bus = await s.open([{ topic: "events", partitions: 3 }]);
      const a: IncomingMessage[] = [];
      const b: IncomingMessage[] = [];
      await Promise.all([s.collect(bus, "group-a", a), s.collect(bus, "group-b", b)]);
      await bus.publish(
        "events",
        messages(20, (i) => (i % 2 === 0 ? null : `k${i}`)),
      );
      await eventually(() => a.length >= 20 && b.length >= 20, 10_000, "20 messages in each group");

      expect(a.map(seqOf).sort((x, y) => x - y)).toEqual(range(0, 20));
      expect(b.map(seqOf).sort((x, y) => x - y)).toEqual(range(0, 20));
    });

    scenario("lag counts what a group has not consumed", async (s) => {
      const bus = await s.open([{ topic: "events", partitions: 3 }]);
      const seen: IncomingMessage[] = [];
      const subscription = await s.collect(bus, "laggard", seen);
      await bus.publish(
        "events",
        messages(6, (i) => `k${i}`),
      );
      await eventually(() => seen.length >= 6, 10_000, "6 messages");
      const total = async () => (await bus.lag()).reduce((sum, row) => sum + row.lag, 0);
      await eventually(async () => (await total()) === 0, 5_000, "zero lag after consuming");
      await subscription.stop();

      await bus.publish(
        "events",
        messages(4, (i) => `k${i}`, 6),
      );
      const rows = await bus.lag();
      expect(rows.reduce((sum, row) => sum + row.lag, 0)).toBe(4);
      expect(rows.map((r) => r.partition).sort()).toEqual([0, 1, 2]);
      for (const row of rows) {
        expect(row.groupId).toBe("laggard");
        expect(row.topic).toBe("events");
      }
    });

    scenario("a topic prefix isolates buses on the same backend", async (s) => {
      const left = await s.open([{ topic: "events", partitions: 1 }]);
      const right = await s.open([{ topic: "events", partitions: 1 }], { prefix: uniquePrefix() });
      const onLeft: IncomingMessage[] = [];
      const onRight: IncomingMessage[] = [];
      await Promise.all([s.collect(left, "shared-group", onLeft), s.collect(right, "shared-group", onRight)]);

      await left.publish(
        "events",
        messages(3, () => "l"),
      );
      await eventually(() => onLeft.length >= 3, 10_000, "the left bus's messages");
      await right.publish(
        "events",
        messages(2, () => "r", 100),
      );
      await eventually(() => onRight.length >= 2, 10_000, "the right bus's messages");
      await Bun.sleep(300);

      expect(onLeft.map(seqOf)).toEqual([0, 1, 2]);
      expect(onRight.map(seqOf)).toEqual([100, 101]);
      expect(onRight.every((m) => m.topic === "events")).toBe(true);
    });
  });
}

contractSuite(memoryAdapter);
contractSuite(kafkaAdapter());
