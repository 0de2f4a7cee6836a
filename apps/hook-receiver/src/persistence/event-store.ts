import { and, asc, eq, gte, lt, type SQL, sql } from "drizzle-orm";
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

  /**
   * Inserts a batch; an event already stored (a redelivery) is left as it is. The batch travels as one
   * JSON parameter expanded by jsonb_to_recordset, which costs far less than a VALUES list of 10 params
   * per row. `rawValues` are the records' JSON texts, so nothing is serialised again.
   */
  async insertMany(rawValues: string[]): Promise<void> {
    if (rawValues.length === 0) return;
    const batch = `[${rawValues.join(",")}]`;
    await this.database.run("hook_events_insert", (db) =>
      db.execute(sql`
        insert into hook_events
          (event_id, source, action, resource, resource_id, correlation_id, delivery_id, received_at, payload, replay_of)
        select event_id, source, action, resource, resource_id, correlation_id, delivery_id, received_at,
               coalesce(payload, 'null'::jsonb), replay_of
        from jsonb_to_recordset(${batch}::jsonb) as e(
          event_id uuid, source text, action text, resource text, resource_id text, correlation_id text,
          delivery_id text, received_at timestamptz, payload jsonb, replay_of uuid)
        on conflict (event_id) do nothing`),
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
