import { z } from "zod";

export const TASK_TYPES = ["http", "delay", "model_infer", "emit", "transform"] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export const WORKFLOW_STATUSES = [
  "pending",
  "running",
  "paused",
  "completed",
  "failed",
  "cancelled",
] as const;
export type WorkflowStatus = (typeof WORKFLOW_STATUSES)[number];
export const TERMINAL_WORKFLOW_STATUSES: readonly WorkflowStatus[] = ["completed", "failed", "cancelled"];

export const TASK_STATUSES = ["pending", "running", "completed", "failed", "skipped", "cancelled"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

const json = z.json();

export const retrySchema = z.object({
  max_attempts: z.number().int().min(1).max(100).default(1),
  backoff_ms: z.number().int().min(0).max(3_600_000).default(1000),
  backoff_factor: z.number().min(1).max(10).default(2),
  max_backoff_ms: z.number().int().min(0).max(86_400_000).default(60_000),
});

const taskCommon = {
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "task ids are 1-64 letters, digits, '_' or '-'"),
  depends_on: z.array(z.string()).max(500).default([]),
  timeout_ms: z.number().int().min(1).max(86_400_000).default(30_000),
  retry: retrySchema.default({
    max_attempts: 1,
    backoff_ms: 1000,
    backoff_factor: 2,
    max_backoff_ms: 60_000,
  }),
  /** A JSONata expression over `{input, tasks}`; a falsy result skips the task. */
  when: z.string().min(1).optional(),
  /** A failure of this task does not fail the workflow; its dependents are skipped. */
  continue_on_failure: z.boolean().default(false),
};

const httpParams = z.object({
  method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]).default("GET"),
  url: z.string().min(1),
  headers: z.record(z.string(), z.string()).optional(),
  body: json.optional(),
});
const delayParams = z.object({ ms: z.union([z.number().int().min(0).max(86_400_000), z.string()]) });
const modelInferParams = z.object({
  task_type: z.string().min(1),
  prompt: z.string().optional(),
  input: json.optional(),
  model: z.string().optional(),
});
const emitParams = z.object({
  topic: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, "topic names are letters, digits, '.', '_' or '-'"),
  key: z.string().optional(),
  value: json,
});
const transformParams = z.object({ expression: z.string().min(1) });

export const taskSchema = z.discriminatedUnion(
  "type",
  [
    z.object({ ...taskCommon, type: z.literal("http"), params: httpParams }),
    z.object({ ...taskCommon, type: z.literal("delay"), params: delayParams }),
    z.object({ ...taskCommon, type: z.literal("model_infer"), params: modelInferParams }),
    z.object({ ...taskCommon, type: z.literal("emit"), params: emitParams }),
    z.object({ ...taskCommon, type: z.literal("transform"), params: transformParams }),
  ],
  {
    error: (issue) =>
      issue.code === "invalid_union"
        ? `unknown task type; expected one of ${TASK_TYPES.join(", ")}`
        : undefined,
  },
);

export const triggerSchema = z
  .object({
    source: z.string().min(1).optional(),
    action: z.string().min(1).optional(),
    resource: z.string().min(1).optional(),
  })
  .refine((t) => t.source !== undefined || t.action !== undefined || t.resource !== undefined, {
    message: "a trigger names at least one of source, action, resource",
  });

export const definitionSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, "names are 1-128 letters, digits, '.', '_' or '-'"),
  max_parallel_tasks: z.number().int().min(1).max(1000).default(10),
  timeout_ms: z
    .number()
    .int()
    .min(1)
    .max(7 * 86_400_000)
    .default(3_600_000),
  triggers: z.array(triggerSchema).max(50).optional(),
  tasks: z.array(taskSchema).min(1).max(500),
});

export type TaskDefinition = z.infer<typeof taskSchema>;
export type Trigger = z.infer<typeof triggerSchema>;
export type WorkflowDefinition = z.infer<typeof definitionSchema>;
