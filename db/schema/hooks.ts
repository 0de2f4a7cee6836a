import { sql } from "drizzle-orm";
import { bigserial, index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";

/** Every accepted hook, written by the persister from `workflow.events`; idempotent on event_id. */
export const hookEvents = pgTable(
  "hook_events",
  {
    eventId: uuid("event_id").primaryKey(),
    source: text("source").notNull(),
    action: text("action").notNull(),
    resource: text("resource").notNull(),
    resourceId: text("resource_id").notNull(),
    correlationId: text("correlation_id"),
    deliveryId: text("delivery_id"),
    receivedAt: timestamp("received_at", { withTimezone: true, mode: "date" }).notNull(),
    payload: jsonb("payload").notNull(),
    replayOf: uuid("replay_of"),
    storedAt: timestamp("stored_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    index("hook_events_received_at_idx").on(t.receivedAt),
    index("hook_events_source_received_at_idx").on(t.source, t.receivedAt),
  ],
);

/**
 * Events accepted while Kafka was unreachable. The serial id keeps arrival order, so the relay
 * re-publishes each resource's events in the order they were answered.
 */
export const hookOutbox = pgTable("hook_outbox", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  eventId: uuid("event_id").notNull().unique(),
  topic: text("topic").notNull(),
  key: text("key"),
  value: text("value").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});

/** Service lifecycle sessions, opened by startup/ready/registration hooks and closed by shutdown hooks. */
export const serviceSessions = pgTable(
  "service_sessions",
  {
    id: uuid("id").primaryKey(),
    serviceName: text("service_name").notNull(),
    instanceId: text("instance_id").notNull(),
    status: text("status", { enum: ["active", "ended"] }).notNull(),
    startedAt: timestamp("started_at", { withTimezone: true, mode: "date" }).notNull(),
    lastSeenAt: timestamp("last_seen_at", { withTimezone: true, mode: "date" }).notNull(),
    endedAt: timestamp("ended_at", { withTimezone: true, mode: "date" }),
    endReason: text("end_reason"),
    openedBy: uuid("opened_by").notNull(),
    metadata: jsonb("metadata").notNull().default({}),
  },
  (t) => [
    uniqueIndex("service_sessions_one_active_idx")
      .on(t.serviceName, t.instanceId)
      .where(sql`${t.status} = 'active'`),
    index("service_sessions_started_at_idx").on(t.startedAt),
  ],
);
