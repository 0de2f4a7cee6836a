import type { Database } from "../../../../db/client.ts";
import type { EventBus, IncomingMessage, Subscription } from "../../../../shared/bus/interface.ts";
import { dlqTopic, TOPICS } from "../../../../shared/bus/topics.ts";
import type { Logger } from "../../../../shared/logger.ts";
import { counter, type Registry } from "../../../../shared/metrics.ts";
import type { HookEvent } from "../intake/envelope.ts";
import type { EventStore } from "./event-store.ts";
import { CLOSING_ACTIONS, OPENING_ACTIONS, type SessionStore } from "./session-store.ts";

export const PERSISTER_GROUP = "hook-persister";
const REQUIRED = ["event_id", "source", "action", "resource", "resource_id", "received_at"] as const;

function parseEvent(message: IncomingMessage): HookEvent {
  const value = JSON.parse(message.value) as Record<string, unknown>;
  for (const field of REQUIRED) {
    if (typeof value[field] !== "string") throw new Error(`field ${field} is missing or not a string`);
  }
  if (Number.isNaN(Date.parse(value.received_at as string)))
    throw new Error("received_at is not a timestamp");
  return value as unknown as HookEvent;
}

/**
 * Writes `workflow.events` into hook_events in batches, idempotently on event_id, and applies
 * lifecycle hooks to service_sessions. A record that cannot be parsed, or that the database rejects
 * `maxAttempts` times while the database is otherwise healthy, goes to `workflow.events.dlq`.
 * While the database is down the batch is retried, never dead-lettered.
 */
export class HookPersister {
  private subscription: Subscription | undefined;
  private readonly failures = new Map<string, number>();
  private readonly dlqCount;

  constructor(
    private readonly bus: EventBus,
    private readonly database: Database,
    private readonly events: EventStore,
    private readonly sessions: SessionStore,
    private readonly logger: Logger,
    registry: Registry,
    private readonly maxAttempts = 3,
  ) {
    this.dlqCount = counter(registry, {
      name: "hook_persister_dead_letters_total",
      help: "Events sent to the dead-letter topic by the persister",
    });
  }

  async start(): Promise<void> {
    this.subscription = await this.bus.subscribe({
      groupId: PERSISTER_GROUP,
      topics: [TOPICS.events],
      // One insert per partition at a time: the three partitions' inserts overlap in Postgres. Fetches
      // wait up to 200 ms for 256 KiB, so a busy topic is written in hundreds of rows per statement.
      concurrency: 3,
      minBatchBytes: 256 * 1024,
      maxBatchWaitMs: 200,
      handler: (batch) => this.handle(batch),
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
  }

  private async handle(batch: IncomingMessage[]): Promise<void> {
    const parsed: { message: IncomingMessage; event: HookEvent }[] = [];
    const dead: { message: IncomingMessage; reason: string }[] = [];
    for (const message of batch) {
      try {
        parsed.push({ message, event: parseEvent(message) });
      } catch (err) {
        dead.push({ message, reason: `unparseable event: ${(err as Error).message}` });
      }
    }
    try {
      await this.events.insertMany(parsed.map((p) => p.message.value));
    } catch (err) {
      await this.database.check().catch(() => {
        throw err;
      });
      await this.insertOneByOne(parsed, dead);
    }
    for (const { message, event } of parsed) {
      if (OPENING_ACTIONS.has(event.action) || CLOSING_ACTIONS.has(event.action)) {
        await this.sessions.apply(event).catch(async (err) => {
          await this.database.check().catch(() => {
            throw err;
          });
          dead.push({ message, reason: `session update failed: ${(err as Error).message}` });
        });
      }
    }
    if (dead.length > 0) await this.deadLetter(dead);
  }

  private async insertOneByOne(
    parsed: { message: IncomingMessage; event: HookEvent }[],
    dead: { message: IncomingMessage; reason: string }[],
  ): Promise<void> {
    for (let i = parsed.length - 1; i >= 0; i--) {
      const item = parsed[i]!;
      const id = `${item.message.topic}/${item.message.partition}/${item.message.offset}`;
      try {
        await this.events.insertMany([item.message.value]);
        this.failures.delete(id);
      } catch (err) {
        const attempts = (this.failures.get(id) ?? 0) + 1;
        if (attempts < this.maxAttempts) {
          this.failures.set(id, attempts);
          throw err;
        }
        this.failures.delete(id);
        dead.push({ message: item.message, reason: `rejected by the database: ${(err as Error).message}` });
        parsed.splice(i, 1);
      }
    }
  }

  private async deadLetter(dead: { message: IncomingMessage; reason: string }[]): Promise<void> {
    await this.bus.publish(
      dlqTopic(TOPICS.events),
      dead.map(({ message, reason }) => ({
        key: message.key,
        value: JSON.stringify({
          reason,
          consumer: PERSISTER_GROUP,
          topic: message.topic,
          partition: message.partition,
          offset: message.offset,
          failed_at: new Date().toISOString(),
          value: message.value,
        }),
        headers: { reason: reason.slice(0, 200) },
      })),
    );
    this.dlqCount.inc(dead.length);
    this.logger.warn({ count: dead.length }, "events sent to the dead-letter topic");
  }
}
