import type { TaskStatus, WorkflowDefinition, WorkflowStatus } from "../definition/schema.ts";
import type { RunRow, TaskRow } from "./runs.ts";

export interface TaskStatusView {
  id: string;
  type: string;
  status: TaskStatus;
  attempts: number;
  started_at: string | null;
  completed_at: string | null;
  output: unknown;
  error: string | null;
}

export interface WorkflowStatusView {
  workflow_id: string;
  name: string;
  version: number | null;
  status: WorkflowStatus;
  /** Finished tasks over all tasks, 0 to 1. */
  progress: number;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  duration_ms: number | null;
  output: unknown;
  error: string | null;
  tasks: TaskStatusView[];
}

const FINISHED: ReadonlySet<TaskStatus> = new Set(["completed", "failed", "skipped", "cancelled"]);
const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** The status body, from memory or from Postgres rows alike; tasks in definition order. */
export function toStatusView(run: RunRow, tasks: Iterable<TaskRow>): WorkflowStatusView {
  const byId = new Map<string, TaskRow>();
  for (const task of tasks) byId.set(task.taskId, task);
  const order = (run.definition as WorkflowDefinition).tasks.map((t) => t.id);
  let finished = 0;
  const views: TaskStatusView[] = [];
  for (const id of order) {
    const task = byId.get(id);
    if (!task) continue;
    if (FINISHED.has(task.status)) finished++;
    views.push({
      id,
      type: task.type,
      status: task.status,
      attempts: task.attempts,
      started_at: iso(task.startedAt),
      completed_at: iso(task.completedAt),
      output: task.output ?? null,
      error: task.error,
    });
  }
  return {
    workflow_id: run.id,
    name: run.name,
    version: run.version,
    status: run.status,
    progress: views.length === 0 ? 0 : Math.round((finished / views.length) * 1000) / 1000,
    created_at: run.createdAt.toISOString(),
    started_at: iso(run.startedAt),
    completed_at: iso(run.completedAt),
    duration_ms:
      run.startedAt && run.completedAt ? run.completedAt.getTime() - run.startedAt.getTime() : null,
    output: run.output ?? null,
    error: run.error,
    tasks: views,
  };
}
