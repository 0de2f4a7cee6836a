import type { OutgoingMessage } from "../../../../shared/bus/interface.ts";

export class QueueFullError extends Error {
  override name = "QueueFullError";
}

export interface BatcherOptions {
  /** Flush when a batch holds this many messages. */
  maxBatchCount: number;
  /** Flush when a batch holds this many bytes of keys and values. */
  maxBatchBytes: number;
  /** Longest a message waits for company before its batch is sent. */
  lingerMs: number;
  /** Messages accepted but not yet acknowledged; past this, enqueue fails with QueueFullError. */
  maxQueued: number;
}

interface Pending {
  message: OutgoingMessage;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Batch {
  items: Pending[];
  bytes: number;
}

export type SendBatch = (topic: string, messages: OutgoingMessage[]) => Promise<void>;

/**
 * Micro-batches single messages into bus sends. Each caller's promise settles with the send of the
 * batch that carried it, so a request is answered only after its own message is durable.
 */
export class PublishBatcher {
  private readonly open = new Map<string, Batch>();
  private timer: Timer | undefined;
  private queued = 0;
  private readonly inFlight = new Set<Promise<void>>();

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
    let batch = this.open.get(topic);
    if (!batch) {
      batch = { items: [], bytes: 0 };
      this.open.set(topic, batch);
    }
    const promise = new Promise<void>((resolve, reject) => {
      batch.items.push({ message, resolve, reject });
    });
    batch.bytes += message.value.length + (message.key?.length ?? 0);
    if (batch.items.length >= this.options.maxBatchCount || batch.bytes >= this.options.maxBatchBytes) {
      this.flushTopic(topic);
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.options.lingerMs);
    }
    return promise;
  }

  /** Sends every open batch now. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    for (const topic of [...this.open.keys()]) this.flushTopic(topic);
  }

  /** Flushes and waits until every batch sent so far has settled. */
  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private flushTopic(topic: string): void {
    const batch = this.open.get(topic);
    if (!batch || batch.items.length === 0) return;
    this.open.delete(topic);
    const { items } = batch;
    const sending = this.send(
      topic,
      items.map((i) => i.message),
    ).then(
      () => {
        for (const item of items) item.resolve();
      },
      (err) => {
        for (const item of items) item.reject(err);
      },
    );
    const tracked = sending.finally(() => {
      this.queued -= items.length;
      this.inFlight.delete(tracked);
    });
    this.inFlight.add(tracked);
  }
}
