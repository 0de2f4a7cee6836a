import {
  bigserial,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
} from "drizzle-orm/pg-core";

export const models = pgTable("models", {
  id: text("id").primaryKey(),
  provider: text("provider", { enum: ["ollama", "openai", "builtin"] }).notNull(),
  baseUrl: text("base_url"),
  model: text("model").notNull(),
  tier: text("tier").notNull(),
  taskTypes: jsonb("task_types").$type<string[]>().notNull(),
  maxConcurrency: integer("max_concurrency").notNull(),
  timeoutMs: integer("timeout_ms").notNull(),
  apiKeyEnv: text("api_key_env"),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});

/** One row per inference, written in batches; the performance API aggregates over it in SQL. */
export const modelExecutions = pgTable(
  "model_executions",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    modelId: text("model_id").notNull(),
    taskType: text("task_type").notNull(),
    status: text("status", { enum: ["success", "error", "timeout", "rejected"] }).notNull(),
    latencyMs: doublePrecision("latency_ms").notNull(),
    tokensIn: integer("tokens_in").notNull().default(0),
    tokensOut: integer("tokens_out").notNull().default(0),
    tokensPerSecond: doublePrecision("tokens_per_second"),
    qualityScore: doublePrecision("quality_score"),
    error: text("error"),
    escalatedFrom: text("escalated_from"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [index("model_executions_model_task_created_idx").on(t.modelId, t.taskType, t.createdAt)],
);
