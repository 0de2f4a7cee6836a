import {
  type Admin,
  CompressionTypes,
  type EachBatchPayload,
  type IHeaders,
  Kafka,
  type KafkaMessage,
  type LogEntry,
  logLevel,
  Partitioners,
  type Producer,
} from "kafkajs";
import { type Logger, silentLogger } from "../logger.ts";
import type { Registry } from "../metrics.ts";
import { PublishMetrics, registerLagSource } from "./bus-metrics.ts";
import type {
  EventBus,
  IncomingMessage,
  OutgoingMessage,
  PartitionLag,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from "./interface.ts";

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  idempotent: boolean;
  /** Prepended to every topic and consumer group on the wire; callers never see it. */
  topicPrefix?: string;
  compression?: "none" | "gzip";
  registry?: Registry;
  logger?: Logger;
  /** Per protocol request. Default 10 s. */
  requestTimeoutMs?: number;
  /** Upper bound for one publish, connecting and retries included. Default 5 s. */
  publishTimeoutMs?: number;
  /** Upper bound for check(). Default 1.5 s. */
  checkTimeoutMs?: number;
  /** Consumer group session timeout. Default 30 s. */
  sessionTimeoutMs?: number;
  /** Default 3 s. */
  heartbeatIntervalMs?: number;
  /** Longest a fetch waits on the broker for new records. Default 5 s. */
  maxWaitTimeMs?: number;
}

interface GroupRecord {
  topics: Set<string>;
  fromBeginning: boolean;
}

const LAG_COLLECT_TIMEOUT_MS = 1500;

export class KafkaBus implements EventBus {
  readonly kind = "kafka" as const;

  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly adminClient: Admin;
  private readonly prefix: string;
  private readonly logger: Logger;
  private readonly compression: CompressionTypes;
  private readonly requestTimeoutMs: number;
  private readonly publishTimeoutMs: number;
  private readonly checkTimeoutMs: number;
  private readonly sessionTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly maxWaitTimeMs: number;
  private readonly groups = new Map<string, GroupRecord>();
  private readonly subscriptions = new Set<Subscription>();
  private readonly publishMetrics: PublishMetrics | undefined;
  private readonly unregisterLag: () => void;
  private producerReady: Promise<Producer> | undefined;
  private adminReady: Promise<Admin> | undefined;
  private checking: Promise<void> | undefined;
  private lagInFlight: Promise<PartitionLag[]> | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: KafkaBusOptions) {
    this.prefix = options.topicPrefix ?? "";
    this.logger = options.logger ?? silentLogger;
    this.compression = options.compression === "gzip" ? CompressionTypes.GZIP : CompressionTypes.None;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 5_000;
    this.checkTimeoutMs = options.checkTimeoutMs ?? 1_500;
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 30_000;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 3_000;
    this.maxWaitTimeMs = options.maxWaitTimeMs ?? 5_000;

    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      connectionTimeout: Math.min(3_000, this.requestTimeoutMs),
      requestTimeout: this.requestTimeoutMs,
      // Short retries keep failures inside the caller's timeouts instead of running on in the background.
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
      logLevel: logLevel.WARN,
      logCreator: pinoLogCreator(this.logger),
    });
    this.producer = this.kafka.producer({
      idempotent: options.idempotent,
      maxInFlightRequests: options.idempotent ? 1 : undefined,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    this.adminClient = this.kafka.admin();

    const registry = options.registry;
    this.publishMetrics = registry ? new PublishMetrics(registry) : undefined;
    this.unregisterLag = registry ? registerLagSource(registry, () => this.guardedLag()) : () => {};
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    if (topics.length === 0) return;
    const admin = await this.admin();
    const missing = await this.missingTopics(admin, topics);
    if (missing.length === 0) return;
    try {
      await withTimeout(
        admin.createTopics({
          topics: missing.map((spec) => ({
            topic: this.wire(spec.topic),
            numPartitions: spec.partitions,
            replicationFactor: spec.replicationFactor ?? -1,
          })),
          timeout: this.requestTimeoutMs,
        }),
        this.requestTimeoutMs,
        "CreateTopics timed out",
      );
    } catch (error) {
      // Some brokers refuse CreateTopics (no controller, no ACL) although the topics are there already.
      const stillMissing = await this.missingTopics(admin, topics);
      if (stillMissing.length > 0) {
        throw new Error(
          `cannot create topics ${stillMissing.map((t) => t.topic).join(", ")}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      this.logger.warn({ err: error }, "CreateTopics failed but every topic exists");
    }
  }

  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.closing) throw new Error("the Kafka bus is closed");
    if (messages.length === 0) return;
    const started = performance.now();
    try {
      await withTimeout(
        this.send(topic, messages),
        this.publishTimeoutMs,
        `publish to ${topic} not acknowledged within ${this.publishTimeoutMs} ms`,
      );
      this.publishMetrics?.observe(topic, messages, started, "ok");
    } catch (error) {
      this.publishMetrics?.observe(topic, messages, started, "error");
      throw error;
    }
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.closing) throw new Error("the Kafka bus is closed");
    const fromBeginning = options.fromBeginning ?? true;
    const consumer = this.kafka.consumer({
      groupId: this.wire(options.groupId),
      sessionTimeout: this.sessionTimeoutMs,
      heartbeatInterval: this.heartbeatIntervalMs,
      maxWaitTimeInMs: options.maxBatchWaitMs ?? this.maxWaitTimeMs,
      minBytes: options.minBatchBytes ?? 1,
      allowAutoTopicCreation: false,
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.logger.error(
        { err: payload.error, group: options.groupId, restart: payload.restart },
        "Kafka consumer crashed",
      );
    });

    try {
      await consumer.connect();
      await consumer.subscribe({ topics: options.topics.map((t) => this.wire(t)), fromBeginning });
      await consumer.run({
        eachBatchAutoResolve: false,
        // Any resolved offset is worth committing: commits follow every successful batch.
        autoCommitThreshold: 1,
        partitionsConsumedConcurrently: options.concurrency ?? 1,
        eachBatch: (payload) => this.handleBatch(payload, options),
      });
    } catch (error) {
      await consumer.disconnect().catch(() => {});
      throw error;
    }

    const group = this.groups.get(options.groupId) ?? { topics: new Set<string>(), fromBeginning };
    for (const topic of options.topics) group.topics.add(topic);
    this.groups.set(options.groupId, group);

    let stopping: Promise<void> | undefined;
    const subscription: Subscription = {
      stop: () => {
        stopping ??= consumer.disconnect().finally(() => this.subscriptions.delete(subscription));
        return stopping;
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  async check(): Promise<void> {
    const brokers = this.options.brokers.join(",");
    this.checking ??= withTimeout(
      this.admin().then((admin) => admin.describeCluster()),
      this.checkTimeoutMs,
      `timed out after ${this.checkTimeoutMs} ms`,
    )
      .then(
        () => {},
        (error: Error) => {
          throw new Error(`no Kafka broker answered (${brokers}): ${error.message}`, { cause: error });
        },
      )
      .finally(() => {
        this.checking = undefined;
      });
    return this.checking;
  }

  async lag(): Promise<PartitionLag[]> {
    if (this.groups.size === 0) return [];
    const admin = await this.admin();
    const watermarks = new Map<string, Map<number, { low: number; high: number }>>();
    const marksOf = async (wireTopic: string) => {
      let marks = watermarks.get(wireTopic);
      if (!marks) {
        const offsets = await admin.fetchTopicOffsets(wireTopic);
        marks = new Map(offsets.map((o) => [o.partition, { low: Number(o.low), high: Number(o.high) }]));
        watermarks.set(wireTopic, marks);
      }
      return marks;
    };

    const rows: PartitionLag[] = [];
    for (const [groupId, group] of this.groups) {
      const committed = await admin.fetchOffsets({
        groupId: this.wire(groupId),
        topics: [...group.topics].map((t) => this.wire(t)),
      });
      for (const { topic: wireTopic, partitions } of committed) {
        const marks = await marksOf(wireTopic);
        for (const { partition, offset } of partitions) {
          const mark = marks.get(partition);
          if (!mark) continue;
          const position = Number(offset);
          const lag =
            position < 0
              ? group.fromBeginning
                ? mark.high - mark.low
                : 0
              : mark.high - Math.max(position, mark.low);
          rows.push({ topic: this.unwire(wireTopic), partition, groupId, lag: Math.max(0, lag) });
        }
      }
    }
    return rows.sort(
      (a, b) =>
        a.groupId.localeCompare(b.groupId) || a.topic.localeCompare(b.topic) || a.partition - b.partition,
    );
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.unregisterLag();
      await Promise.allSettled([...this.subscriptions].map((s) => s.stop()));
      await Promise.allSettled([this.producer.disconnect(), this.adminClient.disconnect()]);
    })();
    return this.closing;
  }

  private async send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    const producer = await this.connectedProducer();
    await producer.send({
      topic: this.wire(topic),
      acks: -1,
      timeout: this.publishTimeoutMs,
      compression: this.compression,
      messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
    });
  }

  private async handleBatch(payload: EachBatchPayload, options: SubscribeOptions): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    if (batch.messages.length === 0 || !isRunning() || isStale()) return;
    const topic = this.unwire(batch.topic);
    const messages = batch.messages.map((m) => toIncoming(topic, batch.partition, m));
    // Keeps the group membership alive while a slow handler works through a large batch.
    const beat = setInterval(() => heartbeat().catch(() => {}), this.heartbeatIntervalMs);
    try {
      await options.handler(messages);
    } finally {
      clearInterval(beat);
    }
    const last = batch.messages[batch.messages.length - 1];
    if (last) resolveOffset(last.offset);
    await commitOffsetsIfNecessary();
  }

  private async missingTopics(admin: Admin, topics: TopicSpec[]): Promise<TopicSpec[]> {
    const existing = new Set(
      await withTimeout(admin.listTopics(), this.requestTimeoutMs, "listing topics timed out"),
    );
    return topics.filter((spec) => !existing.has(this.wire(spec.topic)));
  }

  private connectedProducer(): Promise<Producer> {
    this.producerReady ??= this.producer.connect().then(
      () => this.producer,
      (error) => {
        this.producerReady = undefined;
        throw error;
      },
    );
    return this.producerReady;
  }

  private admin(): Promise<Admin> {
    this.adminReady ??= this.adminClient.connect().then(
      () => this.adminClient,
      (error) => {
        this.adminReady = undefined;
        throw error;
      },
    );
    return this.adminReady;
  }

  /** A scrape must not wait on a dead cluster; one lag query at a time, dropped after a short wait. */
  private async guardedLag(): Promise<PartitionLag[]> {
    this.lagInFlight ??= this.lag().finally(() => {
      this.lagInFlight = undefined;
    });
    try {
      return await withTimeout(this.lagInFlight, LAG_COLLECT_TIMEOUT_MS, "consumer lag query timed out");
    } catch (error) {
      this.logger.debug({ err: error }, "skipping consumer lag in this scrape");
      return [];
    }
  }

  private wire(name: string): string {
    return this.prefix + name;
  }

  private unwire(name: string): string {
    return this.prefix && name.startsWith(this.prefix) ? name.slice(this.prefix.length) : name;
  }
}

function toIncoming(topic: string, partition: number, message: KafkaMessage): IncomingMessage {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ? message.key.toString("utf8") : null,
    value: message.value ? message.value.toString("utf8") : "",
    headers: flattenHeaders(message.headers),
    timestamp: Number(message.timestamp),
  };
}

function flattenHeaders(headers: IHeaders | undefined): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    // A repeated header keeps its last value, as most HTTP stacks do.
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value !== undefined) flat[name] = value.toString();
  }
  return flat;
}

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function pinoLogCreator(logger: Logger) {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, ...extra } = log;
      const fields = { ...extra, kafka: namespace };
      if (level === logLevel.ERROR) logger.error(fields, message);
      else if (level === logLevel.WARN) logger.warn(fields, message);
    };
}
