import type { OutgoingMessage } from "../../../../shared/bus/interface.ts";

export class QueueFullError extends Error {
  override name = "QueueFullError";
}

export interface BatcherOptions {
  /** Most messages in one send. */
  maxBatchCount: number;
  /** Most key and value bytes in one send. */
  maxBatchBytes: number;
  /** Longest a message waits for company before its batch is sent. */
  lingerMs: number;
  /** Messages accepted but not yet acknowledged; past this, enqueue fails with QueueFullError. */
  maxQueued: number;
}

interface Pending {
  message: OutgoingMessage;
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface TopicQueue {
  waiting: Pending[];
  bytes: number;
  sending: boolean;
}

export type SendBatch = (topic: string, messages: OutgoingMessage[]) => Promise<void>;

/**
 * Micro-batches single messages into bus sends. Each caller's promise settles with the send that
 * carried its message, so a request is answered only after its own message is durable.
 *
 * One send per topic is in flight at a time: a later batch can never be acknowledged before an
 * earlier one fails, so the order of each key survives a partial failure, and what arrives while a
 * send is in flight joins the next one, so batches grow with the broker's latency.
 */
export class PublishBatcher {
  private readonly topics = new Map<string, TopicQueue>();
  private timer: Timer | undefined;
  private queued = 0;
  private paused = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly send: SendBatch,
    private readonly options: BatcherOptions,
  ) {}

  /** Accepted but not yet acknowledged messages. */
  get depth(): number {
    return this.queued;
  }

  enqueue(topic: string, message: OutgoingMessage): Promise<void> {
    if (this.queued >= this.options.maxQueued) {
      return Promise.reject(
        new QueueFullError(`publish queue is full (${this.options.maxQueued} in flight)`),
      );
    }
    this.queued++;
    let queue = this.topics.get(topic);
    if (!queue) {
      queue = { waiting: [], bytes: 0, sending: false };
      this.topics.set(topic, queue);
    }
    const bytes = message.value.length + (message.key?.length ?? 0);
    const promise = new Promise<void>((resolve, reject) => {
      queue.waiting.push({ message, bytes, resolve, reject });
    });
    queue.bytes += bytes;
    if (queue.waiting.length >= this.options.maxBatchCount || queue.bytes >= this.options.maxBatchBytes) {
      this.pump(topic, queue);
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.options.lingerMs);
    }
    return promise;
  }

  /** Sends what waits now (one send per topic at a time). */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    for (const [topic, queue] of this.topics) this.pump(topic, queue);
  }

  /** Holds every send until resume(); messages keep queueing, within maxQueued. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.flush();
  }

  /** Resolves once nothing waits or is in flight. */
  async drain(): Promise<void> {
    this.paused = false;
    this.flush();
    if (this.queued === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private pump(topic: string, queue: TopicQueue): void {
    if (this.paused || queue.sending || queue.waiting.length === 0) return;
    let count = 0;
    let bytes = 0;
    while (
      count < queue.waiting.length &&
      count < this.options.maxBatchCount &&
      (count === 0 || bytes + queue.waiting[count]!.bytes <= this.options.maxBatchBytes)
    ) {
      bytes += queue.waiting[count]!.bytes;
      count++;
    }
    const batch = queue.waiting.splice(0, count);
    queue.bytes -= bytes;
    queue.sending = true;
    this.send(
      topic,
      batch.map((p) => p.message),
    )
      .then(
        () => {
          for (const p of batch) p.resolve();
        },
        (err) => {
          // Everything behind a failed send fails with it, so none of it can reach the broker ahead
          // of the failed messages once those are re-routed.
          for (const p of batch) p.reject(err);
          const behind = queue.waiting.splice(0);
          queue.bytes = 0;
          this.queued -= behind.length;
          for (const p of behind) p.reject(err);
        },
      )
      .finally(() => {
        queue.sending = false;
        this.queued -= batch.length;
        if (this.queued === 0) for (const resolve of this.idle.splice(0)) resolve();
        // What arrived during the send goes next, without waiting for another linger.
        this.pump(topic, queue);
      });
  }
}
