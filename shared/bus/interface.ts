/** A record to publish. `key` decides the partition, so records with one key stay in order. */
export interface OutgoingMessage {
  key: string | null;
  value: string;
  headers?: Record<string, string>;
}

/** A record as a consumer sees it. */
export interface IncomingMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string;
  headers: Record<string, string>;
  timestamp: number;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor?: number;
}

/**
 * Handles one batch from one partition. Resolving commits the batch's offsets; throwing leaves them
 * uncommitted so the same records are delivered again (at-least-once).
 */
export type BatchHandler = (messages: IncomingMessage[]) => Promise<void>;

export interface SubscribeOptions {
  groupId: string;
  topics: string[];
  handler: BatchHandler;
  /** Where a group with no committed offset starts. Default: earliest. */
  fromBeginning?: boolean;
  /** Partitions whose batches may be handled at the same time; order within a partition is kept. Default 1. */
  concurrency?: number;
  /**
   * Let batches fill: the broker answers a fetch once it has this many bytes or `maxBatchWaitMs` passed.
   * A throughput consumer trades that wait for far fewer, larger batches. Default: answer at once.
   */
  minBatchBytes?: number;
  maxBatchWaitMs?: number;
}

export interface Subscription {
  /** Stops fetching, waits for the batch in hand, commits and leaves the group. */
  stop(): Promise<void>;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  groupId: string;
  lag: number;
}

export interface EventBus {
  readonly kind: "kafka" | "memory";
  /** Creates missing topics; topics that already exist are left as they are. */
  ensureTopics(topics: TopicSpec[]): Promise<void>;
  /** Resolves once every message is durable (acks=all on Kafka); rejects if any is not. */
  publish(topic: string, messages: OutgoingMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Throws when the bus cannot serve (no broker reachable). Used by /ready. */
  check(): Promise<void>;
  /** Consumer lag for every partition of the groups this process has subscribed. */
  lag(): Promise<PartitionLag[]>;
  /** Flushes what is in flight, stops subscriptions and disconnects. */
  close(): Promise<void>;
}
