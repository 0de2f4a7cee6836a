import { sql } from "drizzle-orm";
import {
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

/** Registered definitions; every PUT adds a version and runs keep the version they started with. */
export const workflowDefinitions = pgTable(
  "workflow_definitions",
  {
    name: text("name").notNull(),
    version: integer("version").notNull(),
    definition: jsonb("definition").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.name, t.version] })],
);

export const workflowRuns = pgTable(
  "workflow_runs",
  {
    id: uuid("id").primaryKey(),
    name: text("name").notNull(),
    version: integer("version"),
    definition: jsonb("definition").notNull(),
    status: text("status", {
      enum: ["pending", "running", "paused", "completed", "failed", "cancelled"],
    }).notNull(),
    input: jsonb("input").notNull().default({}),
    output: jsonb("output"),
    error: text("error"),
    priority: integer("priority").notNull().default(0),
    idempotencyKey: text("idempotency_key"),
    triggerEventId: uuid("trigger_event_id"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    startedAt: timestamp("started_at", { withTimezone: true, mode: "date" }),
    completedAt: timestamp("completed_at", { withTimezone: true, mode: "date" }),
    deadlineAt: timestamp("deadline_at", { withTimezone: true, mode: "date" }),
    owner: text("owner"),
    leaseExpiresAt: timestamp("lease_expires_at", { withTimezone: true, mode: "date" }),
    completionPublished: boolean("completion_published").notNull().default(false),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("workflow_runs_idempotency_key_idx").on(t.idempotencyKey),
    index("workflow_runs_status_created_idx").on(t.status, t.createdAt),
    index("workflow_runs_name_created_idx").on(t.name, t.createdAt),
    index("workflow_runs_lease_idx")
      .on(t.leaseExpiresAt)
      .where(sql`${t.status} in ('pending', 'running', 'paused')`),
    index("workflow_runs_unpublished_idx")
      .on(t.completedAt)
      .where(sql`${t.completionPublished} = false and ${t.completedAt} is not null`),
  ],
);

export const workflowTasks = pgTable(
  "workflow_tasks",
  {
    runId: uuid("run_id")
      .notNull()
      .references(() => workflowRuns.id, { onDelete: "cascade" }),
    taskId: text("task_id").notNull(),
    type: text("type").notNull(),
    status: text("status", {
      enum: ["pending", "running", "completed", "failed", "skipped", "cancelled"],
    }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    readyAt: timestamp("ready_at", { withTimezone: true, mode: "date" }),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true, mode: "date" }),
    startedAt: timestamp("started_at", { withTimezone: true, mode: "date" }),
    completedAt: timestamp("completed_at", { withTimezone: true, mode: "date" }),
    output: jsonb("output"),
    error: text("error"),
    attemptOwner: text("attempt_owner"),
  },
  (t) => [primaryKey({ columns: [t.runId, t.taskId] })],
);
