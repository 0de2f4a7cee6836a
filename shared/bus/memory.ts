import { type Logger, silentLogger } from "../logger.ts";
import type { Registry } from "../metrics.ts";
import { PublishMetrics, registerLagSource } from "./bus-metrics.ts";
import type {
  BatchHandler,
  EventBus,
  IncomingMessage,
  OutgoingMessage,
  PartitionLag,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from "./interface.ts";

/*
 * Publishing to an unknown topic creates it with one partition, as a Kafka broker with the stock
 * num.partitions=1 does: a caller that never declared a topic gets total order rather than a guess.
 */
const AUTO_CREATED_PARTITIONS = 1;

export interface MemoryBusOptions {
  /** Prepended to every topic and consumer group inside the broker; callers never see it. */
  topicPrefix?: string;
  registry?: Registry;
  logger?: Logger;
  /** Buses sharing one broker see each other's topics and groups, like services on one Kafka cluster. */
  broker?: MemoryBroker;
  /** Most messages handed to one handler call. Default 500. */
  maxBatchSize?: number;
  /** First wait before a failed batch is delivered again; doubles per failure up to 2 s. Default 100 ms. */
  retryBackoffMs?: number;
}

interface StoredMessage {
  key: string | null;
  value: string;
  headers: Record<string, string>;
  timestamp: number;
}

type Wake = () => void;

function wakeAll(waiters: Set<Wake>): void {
  for (const wake of [...waiters]) wake();
}

class Partition {
  /** Offset of log[0]; rises when old messages are dropped to bound memory. */
  low = 0;
  readonly log: StoredMessage[] = [];
  readonly waiters = new Set<Wake>();

  constructor(private readonly retain: number) {}

  get high(): number {
    return this.low + this.log.length;
  }

  append(message: StoredMessage): void {
    this.log.push(message);
    // Trimming in chunks keeps appends amortised O(1).
    if (this.log.length >= this.retain + Math.ceil(this.retain / 4)) {
      const drop = this.log.length - this.retain;
      this.log.splice(0, drop);
      this.low += drop;
    }
  }

  read(from: number, max: number): StoredMessage[] {
    const start = Math.max(from, this.low) - this.low;
    return this.log.slice(start, start + max);
  }
}

class Topic {
  readonly partitions: Partition[];
  private nextRoundRobin = 0;

  constructor(count: number, retain: number) {
    this.partitions = Array.from({ length: count }, () => new Partition(retain));
  }

  partitionFor(key: string | null): number {
    if (key === null) return this.nextRoundRobin++ % this.partitions.length;
    return fnv1a(key) % this.partitions.length;
  }
}

interface Member {
  readonly topics: ReadonlySet<string>;
  readonly handler: BatchHandler;
  readonly fromBeginning: boolean;
  readonly inFlight: Set<Promise<void>>;
  stopping: boolean;
}

class Group {
  readonly members: Member[] = [];
  readonly waiters = new Set<Wake>();
  readonly workers = new Set<string>();
  private readonly committed = new Map<string, Map<number, number>>();

  constructor(readonly id: string) {}

  /** Partitions are dealt round-robin over the members subscribed to the topic, in join order. */
  ownerOf(topic: string, partition: number): Member | undefined {
    const eligible = this.members.filter((m) => !m.stopping && m.topics.has(topic));
    return eligible[partition % eligible.length];
  }

  position(topic: string, partition: number): number | undefined {
    return this.committed.get(topic)?.get(partition);
  }

  commit(topic: string, partition: number, next: number): void {
    let partitions = this.committed.get(topic);
    if (!partitions) {
      partitions = new Map();
      this.committed.set(topic, partitions);
    }
    partitions.set(partition, next);
  }

  changed(): void {
    wakeAll(this.waiters);
  }
}

/** The shared in-process log: topics, partitions and consumer groups. */
export class MemoryBroker {
  readonly topics = new Map<string, Topic>();
  readonly groups = new Map<string, Group>();
  private readonly topicWaiters = new Set<Wake>();

  constructor(readonly retainPerPartition = 100_000) {}

  createTopic(name: string, partitions: number): Topic {
    const existing = this.topics.get(name);
    if (existing) return existing;
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw new Error(`topic ${name} needs at least one partition, got ${partitions}`);
    }
    const topic = new Topic(partitions, this.retainPerPartition);
    this.topics.set(name, topic);
    wakeAll(this.topicWaiters);
    return topic;
  }

  group(id: string): Group {
    let group = this.groups.get(id);
    if (!group) {
      group = new Group(id);
      this.groups.set(id, group);
    }
    return group;
  }

  onTopicCreated(wake: Wake): () => void {
    this.topicWaiters.add(wake);
    return () => this.topicWaiters.delete(wake);
  }
}

interface GroupRecord {
  topics: Set<string>;
  fromBeginning: boolean;
}

export class MemoryBus implements EventBus {
  readonly kind = "memory" as const;

  readonly broker: MemoryBroker;
  private readonly prefix: string;
  private readonly logger: Logger;
  private readonly maxBatchSize: number;
  private readonly retryBackoffMs: number;
  private readonly groups = new Map<string, GroupRecord>();
  private readonly subscriptions = new Set<Subscription>();
  private readonly publishMetrics: PublishMetrics | undefined;
  private closing: Promise<void> | undefined;
  private readonly unregisterLag: () => void;

  constructor(options: MemoryBusOptions = {}) {
    this.broker = options.broker ?? new MemoryBroker();
    this.prefix = options.topicPrefix ?? "";
    this.logger = options.logger ?? silentLogger;
    this.maxBatchSize = options.maxBatchSize ?? 500;
    this.retryBackoffMs = options.retryBackoffMs ?? 100;
    const registry = options.registry;
    this.publishMetrics = registry ? new PublishMetrics(registry) : undefined;
    this.unregisterLag = registry ? registerLagSource(registry, () => this.lag()) : () => {};
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    this.assertOpen();
    for (const spec of topics) this.broker.createTopic(this.wire(spec.topic), spec.partitions);
  }

  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    const started = performance.now();
    try {
      this.assertOpen();
      if (messages.length === 0) return;
      const target =
        this.broker.topics.get(this.wire(topic)) ??
        this.broker.createTopic(this.wire(topic), AUTO_CREATED_PARTITIONS);
      const touched = new Set<Partition>();
      const timestamp = Date.now();
      for (const message of messages) {
        const partition = target.partitions[target.partitionFor(message.key)]!;
        partition.append({
          key: message.key,
          value: message.value,
          headers: { ...message.headers },
          timestamp,
        });
        touched.add(partition);
      }
      for (const partition of touched) wakeAll(partition.waiters);
      this.publishMetrics?.observe(topic, messages, started, "ok");
    } catch (error) {
      this.publishMetrics?.observe(topic, messages, started, "error");
      throw error;
    }
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.assertOpen();
    const fromBeginning = options.fromBeginning ?? true;
    const group = this.broker.group(this.wire(options.groupId));
    const member: Member = {
      topics: new Set(options.topics.map((t) => this.wire(t))),
      handler: options.handler,
      fromBeginning,
      inFlight: new Set(),
      stopping: false,
    };
    group.members.push(member);
    group.changed();
    const stopWatching = this.broker.onTopicCreated(() => this.spawnWorkers(group, member));
    this.spawnWorkers(group, member);

    const record = this.groups.get(options.groupId) ?? { topics: new Set<string>(), fromBeginning };
    for (const topic of options.topics) record.topics.add(topic);
    this.groups.set(options.groupId, record);

    let stopping: Promise<void> | undefined;
    const subscription: Subscription = {
      stop: () => {
        stopping ??= (async () => {
          member.stopping = true;
          stopWatching();
          group.changed();
          await Promise.allSettled([...member.inFlight]);
          group.members.splice(group.members.indexOf(member), 1);
          group.changed();
          this.subscriptions.delete(subscription);
        })();
        return stopping;
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  async check(): Promise<void> {
    this.assertOpen();
  }

  async lag(): Promise<PartitionLag[]> {
    const rows: PartitionLag[] = [];
    for (const [groupId, record] of this.groups) {
      const group = this.broker.groups.get(this.wire(groupId));
      for (const topic of record.topics) {
        const partitions = this.broker.topics.get(this.wire(topic))?.partitions ?? [];
        partitions.forEach((partition, index) => {
          const position = group?.position(this.wire(topic), index);
          const lag =
            position === undefined
              ? record.fromBeginning
                ? partition.high - partition.low
                : 0
              : partition.high - Math.max(position, partition.low);
          rows.push({ topic, partition: index, groupId, lag });
        });
      }
    }
    return rows.sort(
      (a, b) =>
        a.groupId.localeCompare(b.groupId) || a.topic.localeCompare(b.topic) || a.partition - b.partition,
    );
  }

  close(): Promise<void> {
    this.closing ??= Promise.allSettled([...this.subscriptions].map((s) => s.stop())).then(() => {
      this.unregisterLag();
    });
    return this.closing;
  }

  private spawnWorkers(group: Group, member: Member): void {
    if (member.stopping) return;
    for (const topicName of member.topics) {
      const topic = this.broker.topics.get(topicName);
      if (!topic) continue;
      topic.partitions.forEach((partition, index) => {
        const key = `${topicName}\u0000${index}`;
        if (group.workers.has(key)) return;
        group.workers.add(key);
        this.runWorker(group, key, topicName, index, partition).catch((error) => {
          this.logger.error(
            { err: error, topic: this.unwire(topicName), partition: index },
            "partition worker died",
          );
        });
      });
    }
  }

  /** One worker per group and partition delivers that partition's batches in order, one at a time. */
  private async runWorker(
    group: Group,
    key: string,
    topic: string,
    index: number,
    partition: Partition,
  ): Promise<void> {
    try {
      await this.deliverPartition(group, topic, index, partition);
    } finally {
      // Synchronous with the worker's last ownership check, so a member joining right after starts a new one.
      group.workers.delete(key);
    }
  }

  private async deliverPartition(
    group: Group,
    topic: string,
    index: number,
    partition: Partition,
  ): Promise<void> {
    let failures = 0;
    for (;;) {
      const owner = group.ownerOf(topic, index);
      if (!owner) return;
      let next = group.position(topic, index);
      if (next === undefined) {
        next = owner.fromBeginning ? partition.low : partition.high;
        group.commit(topic, index, next);
      }
      const stored = partition.read(next, this.maxBatchSize);
      if (stored.length === 0) {
        await waitForChange([partition.waiters, group.waiters]);
        continue;
      }
      const first = Math.max(next, partition.low);
      const batch = stored.map(
        (m, i): IncomingMessage => ({
          topic: this.unwire(topic),
          partition: index,
          offset: String(first + i),
          key: m.key,
          value: m.value,
          headers: { ...m.headers },
          timestamp: m.timestamp,
        }),
      );
      const delivery = (async () => {
        await owner.handler(batch);
        group.commit(topic, index, first + stored.length);
      })();
      owner.inFlight.add(delivery);
      try {
        await delivery;
        failures = 0;
      } catch (error) {
        failures++;
        this.logger.warn(
          { err: error, topic: this.unwire(topic), partition: index, offset: first, attempt: failures },
          "batch handler failed, delivering the batch again",
        );
        const backoff = Math.min(this.retryBackoffMs * 2 ** (failures - 1), 2_000);
        await waitForChange([group.waiters], backoff);
      } finally {
        owner.inFlight.delete(delivery);
      }
    }
  }

  private assertOpen(): void {
    if (this.closing) throw new Error("the in-process bus is closed");
  }

  private wire(name: string): string {
    return this.prefix + name;
  }

  private unwire(name: string): string {
    return this.prefix && name.startsWith(this.prefix) ? name.slice(this.prefix.length) : name;
  }
}

/** Resolves on the first wake from any of the sets, or after `timeoutMs`; leaves nothing registered behind. */
function waitForChange(sets: Set<Wake>[], timeoutMs?: number): Promise<void> {
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const wake: Wake = () => {
      for (const set of sets) set.delete(wake);
      clearTimeout(timer);
      resolve();
    };
    for (const set of sets) set.add(wake);
    if (timeoutMs !== undefined) timer = setTimeout(wake, timeoutMs);
  });
}

/** 32-bit FNV-1a over UTF-16 code units: stable across processes and runs. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
