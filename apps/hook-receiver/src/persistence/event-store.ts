import { and, asc, eq, gte, lt, type SQL } from "drizzle-orm";
import type { Database } from "../../../../db/client.ts";
import { hookEvents } from "../../../../db/schema/index.ts";
import type { HookEvent } from "../intake/envelope.ts";

export type StoredHook = typeof hookEvents.$inferSelect;

export interface ReplayFilter {
  from: Date;
  to: Date;
  source?: string | undefined;
  action?: string | undefined;
  resource?: string | undefined;
  resource_id?: string | undefined;
  limit: number;
}

export function toHookEvent(row: StoredHook): HookEvent & { stored_at: string } {
  return {
    event_id: row.eventId,
    source: row.source,
    action: row.action,
    resource: row.resource,
    resource_id: row.resourceId,
    correlation_id: row.correlationId,
    delivery_id: row.deliveryId,
    received_at: row.receivedAt.toISOString(),
    payload: row.payload,
    ...(row.replayOf ? { replay_of: row.replayOf } : {}),
    stored_at: row.storedAt.toISOString(),
  };
}

export class EventStore {
  constructor(private readonly database: Database) {}

  /** Inserts a batch; an event already stored (a redelivery) is left as it is. */
  async insertMany(events: HookEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.database.run("hook_events_insert", (db) =>
      db
        .insert(hookEvents)
        .values(
          events.map((e) => ({
            eventId: e.event_id,
            source: e.source,
            action: e.action,
            resource: e.resource,
            resourceId: e.resource_id,
            correlationId: e.correlation_id,
            deliveryId: e.delivery_id,
            receivedAt: new Date(e.received_at),
            payload: e.payload ?? null,
            replayOf: e.replay_of ?? null,
          })),
        )
        .onConflictDoNothing(),
    );
  }

  async get(eventId: string): Promise<StoredHook | undefined> {
    const [row] = await this.database.run("hook_events_get", (db) =>
      db.select().from(hookEvents).where(eq(hookEvents.eventId, eventId)).limit(1),
    );
    return row;
  }

  async window(filter: ReplayFilter): Promise<StoredHook[]> {
    const conditions: SQL[] = [gte(hookEvents.receivedAt, filter.from), lt(hookEvents.receivedAt, filter.to)];
    if (filter.source) conditions.push(eq(hookEvents.source, filter.source));
    if (filter.action) conditions.push(eq(hookEvents.action, filter.action));
    if (filter.resource) conditions.push(eq(hookEvents.resource, filter.resource));
    if (filter.resource_id) conditions.push(eq(hookEvents.resourceId, filter.resource_id));
    return this.database.run("hook_events_window", (db) =>
      db
        .select()
        .from(hookEvents)
        .where(and(...conditions))
        .orderBy(asc(hookEvents.receivedAt), asc(hookEvents.eventId))
        .limit(filter.limit),
    );
  }
}
