import CircuitBreaker from "opossum";
import type { EventBus, OutgoingMessage } from "../../../../shared/bus/interface.ts";
import type { Logger } from "../../../../shared/logger.ts";
import { counter, gauge, histogram, LATENCY_BUCKETS, type Registry } from "../../../../shared/metrics.ts";
import type { OutboxRow, OutboxStore } from "../persistence/outbox-store.ts";
import { type BatcherOptions, PublishBatcher, QueueFullError } from "./publish-batcher.ts";

export { QueueFullError };

export class NotDurableError extends Error {
  override name = "NotDurableError";
}

export interface DurablePublisherOptions {
  batch: BatcherOptions;
  /** A Kafka send slower than this counts as a failure and the batch goes to the outbox. */
  kafkaTimeoutMs: number;
  /** Upper bound for the outbox insert, so a request with both stores down is answered promptly. */
  outboxTimeoutMs: number;
  /** How long the breaker stays open before it lets one trial send through. */
  breakerResetMs: number;
  relayIntervalMs: number;
  relayBatchSize: number;
}

export const DEFAULT_PUBLISHER_OPTIONS: DurablePublisherOptions = {
  batch: { maxBatchCount: 500, maxBatchBytes: 900_000, lingerMs: 2, maxQueued: 20_000 },
  kafkaTimeoutMs: 800,
  outboxTimeoutMs: 800,
  breakerResetMs: 1000,
  relayIntervalMs: 200,
  relayBatchSize: 500,
};

type Route = "kafka" | "outbox";
/** `draining`: the outbox is empty again; new events wait in the Kafka batcher until its last rows are relayed. */
type Mode = Route | "draining";

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: Timer | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Makes each event durable before its request is answered: on Kafka through a circuit breaker, or,
 * while Kafka fails, in the Postgres outbox that a relay drains back to Kafka in arrival order.
 * While the outbox holds anything, new events queue behind it so per-resource order is kept.
 */
export class DurablePublisher {
  private readonly breaker: CircuitBreaker<[string, OutgoingMessage[]], void>;
  private readonly kafkaBatcher: PublishBatcher;
  private readonly outboxBatcher: PublishBatcher;
  private mode: Mode = "kafka";
  private outboxDepth = 0;
  private relayTimer: Timer | undefined;
  private relaying: Promise<void> | undefined;
  private stopped = false;
  private readonly metrics;

  constructor(
    bus: EventBus,
    private readonly outbox: OutboxStore,
    private readonly logger: Logger,
    registry: Registry,
    private readonly options: DurablePublisherOptions = DEFAULT_PUBLISHER_OPTIONS,
  ) {
    this.breaker = new CircuitBreaker(
      (topic: string, messages: OutgoingMessage[]) => bus.publish(topic, messages),
      {
        timeout: options.kafkaTimeoutMs,
        resetTimeout: options.breakerResetMs,
        errorThresholdPercentage: 50,
        volumeThreshold: 3,
        rollingCountTimeout: 5000,
        rollingCountBuckets: 5,
      },
    );
    this.breaker.on("open", () => {
      this.logger.warn("kafka circuit open: accepting into the outbox");
      this.enterOutboxMode();
    });
    this.breaker.on("close", () => this.logger.info("kafka circuit closed"));
    this.kafkaBatcher = new PublishBatcher(
      (topic, messages) => this.breaker.fire(topic, messages),
      options.batch,
    );
    this.outboxBatcher = new PublishBatcher((topic, messages) => this.insertOutbox(topic, messages), {
      ...options.batch,
      maxQueued: options.batch.maxQueued,
    });

    gauge(registry, {
      name: "hook_publish_route",
      help: "Where new hooks are made durable: 0 Kafka directly, 1 the Postgres outbox",
      collect() {
        this.set(self.mode === "kafka" ? 0 : 1);
      },
    });
    const circuit = gauge(registry, {
      name: "hook_kafka_circuit_state",
      help: "Kafka circuit breaker state: 0 closed, 1 half-open, 2 open",
    });
    const self = this;
    this.metrics = {
      publishDuration: histogram(registry, {
        name: "hook_publish_duration_seconds",
        help: "Time from accepting a hook to its durable acknowledgement, by route (kafka or outbox)",
        labelNames: ["route", "outcome"],
        buckets: LATENCY_BUCKETS,
      }),
      relayed: counter(registry, {
        name: "hook_outbox_relayed_total",
        help: "Outbox events re-published to Kafka",
      }),
    };
    gauge(registry, {
      name: "hook_queue_depth",
      help: "Hooks accepted and waiting for their durable acknowledgement",
      collect() {
        this.set(self.kafkaBatcher.depth + self.outboxBatcher.depth);
      },
    });
    gauge(registry, {
      name: "hook_outbox_depth",
      help: "Events in the Postgres outbox waiting for Kafka",
      collect() {
        this.set(self.outboxDepth);
      },
    });
    circuit.set(0);
    this.breaker.on("open", () => circuit.set(2));
    this.breaker.on("halfOpen", () => circuit.set(1));
    this.breaker.on("close", () => circuit.set(0));
  }

  get route(): Mode {
    return this.mode;
  }

  get kafkaHealthy(): boolean {
    return !this.breaker.opened;
  }

  /** Picks up events a previous process left in the outbox. */
  async start(): Promise<void> {
    this.outboxDepth = await this.outbox.depth();
    if (this.outboxDepth > 0) this.enterOutboxMode();
  }

  /** Resolves once the message is durable, on Kafka or in the outbox; rejects with NotDurableError otherwise. */
  async publish(topic: string, message: OutgoingMessage): Promise<Route> {
    const start = performance.now();
    if (this.mode !== "outbox" && !this.breaker.opened) {
      try {
        await this.kafkaBatcher.enqueue(topic, message);
        this.metrics.publishDuration.observe(
          { route: "kafka", outcome: "ok" },
          (performance.now() - start) / 1000,
        );
        return "kafka";
      } catch (err) {
        if (err instanceof QueueFullError) throw err;
        this.enterOutboxMode();
      }
    }
    try {
      await this.outboxBatcher.enqueue(topic, message);
      this.metrics.publishDuration.observe(
        { route: "outbox", outcome: "ok" },
        (performance.now() - start) / 1000,
      );
      return "outbox";
    } catch (err) {
      this.metrics.publishDuration.observe(
        { route: "outbox", outcome: "error" },
        (performance.now() - start) / 1000,
      );
      if (err instanceof QueueFullError) throw err;
      throw new NotDurableError("neither Kafka nor the Postgres outbox accepted the event", { cause: err });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.relayTimer) clearInterval(this.relayTimer);
    await Promise.all([this.kafkaBatcher.drain(), this.outboxBatcher.drain()]);
    await this.relaying;
    this.breaker.shutdown();
  }

  private enterOutboxMode(): void {
    this.mode = "outbox";
    if (this.relayTimer || this.stopped) return;
    this.relayTimer = setInterval(() => {
      this.relaying ??= this.relayOnce().finally(() => {
        this.relaying = undefined;
      });
    }, this.options.relayIntervalMs);
  }

  private async insertOutbox(topic: string, messages: OutgoingMessage[]): Promise<void> {
    {
      const rows: Omit<OutboxRow, "id">[] = messages.map((m) => ({
        eventId: m.headers?.event_id ?? crypto.randomUUID(),
        topic,
        key: m.key,
        value: m.value,
      }));
      await withTimeout(this.outbox.insert(rows), this.options.outboxTimeoutMs, "outbox insert");
      this.outboxDepth += rows.length;
      // Rows may land after a drain flipped back to Kafka; the relay must come back for them.
      if (this.mode === "kafka") this.enterOutboxMode();
    }
  }

  private async relayOnce(): Promise<void> {
    if (this.stopped) return;
    try {
      if ((await this.relayAll()) !== 0 || this.stopped) return;
      // The outbox looked empty: hold new events in the Kafka batcher, let the outbox batcher's last
      // inserts land and relay them, and only then let Kafka traffic flow, so nothing overtakes them.
      this.mode = "draining";
      this.kafkaBatcher.pause();
      try {
        await withTimeout(this.outboxBatcher.drain(), 5000, "draining the outbox batcher");
        if ((await this.relayAll()) !== 0) {
          this.mode = "outbox";
          return;
        }
        this.outboxDepth = 0;
        this.mode = "kafka";
        if (this.relayTimer) clearInterval(this.relayTimer);
        this.relayTimer = undefined;
        this.logger.info("outbox drained: publishing to kafka directly");
      } finally {
        if (this.mode !== "kafka") this.mode = "outbox";
        this.kafkaBatcher.resume();
      }
    } catch (err) {
      this.mode = "outbox";
      this.logger.debug({ err }, "outbox relay attempt failed");
    }
  }

  /** Relays until the outbox is empty; 0 when it is, null when another instance holds the relay. */
  private async relayAll(): Promise<number | null> {
    let relayed: number | null;
    do {
      relayed = await this.outbox.relayBatch(this.options.relayBatchSize, (rows) => this.sendRows(rows));
      if (relayed) {
        this.metrics.relayed.inc(relayed);
        this.outboxDepth = Math.max(0, this.outboxDepth - relayed);
      }
    } while (relayed && !this.stopped);
    return relayed;
  }

  private async sendRows(rows: OutboxRow[]): Promise<void> {
    // Consecutive rows of one topic go together, so the arrival order survives the relay.
    let i = 0;
    while (i < rows.length) {
      const topic = rows[i]!.topic;
      const group: OutgoingMessage[] = [];
      while (i < rows.length && rows[i]!.topic === topic) {
        const row = rows[i++]!;
        group.push({ key: row.key, value: row.value, headers: { event_id: row.eventId } });
      }
      await this.breaker.fire(topic, group);
    }
  }
}
