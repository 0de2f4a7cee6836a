import type { TaskDefinition, TaskStatus, WorkflowDefinition } from "../definition/schema.ts";
import type { RunRow, TaskRow } from "../store/runs.ts";
import type { TemplateScope } from "./templating.ts";

const FINISHED: ReadonlySet<TaskStatus> = new Set(["completed", "failed", "skipped", "cancelled"]);

/** A run this instance owns: its rows mirrored in memory, plus the timers and attempts in flight. */
export class ActiveRun {
  readonly definition: WorkflowDefinition;
  readonly taskDefs = new Map<string, TaskDefinition>();
  readonly order: string[];
  readonly dependents = new Map<string, string[]>();
  readonly tasks = new Map<string, TaskRow>();
  readonly controllers = new Map<string, AbortController>();
  readonly readyAt = new Map<string, number>();
  readonly retryTimers = new Map<string, Timer>();
  deadlineTimer: Timer | undefined;
  /** Set once the run is finished or given up here; queued work for it then does nothing. */
  dropped = false;
  /** Tail of the run's serialised state changes. */
  queue: Promise<void> = Promise.resolve();

  constructor(
    public row: RunRow,
    tasks: TaskRow[],
  ) {
    this.definition = row.definition as WorkflowDefinition;
    this.order = this.definition.tasks.map((t) => t.id);
    for (const task of this.definition.tasks) {
      this.taskDefs.set(task.id, task);
      for (const dep of task.depends_on) {
        const list = this.dependents.get(dep) ?? [];
        list.push(task.id);
        this.dependents.set(dep, list);
      }
    }
    for (const task of tasks) this.tasks.set(task.taskId, task);
  }

  get id(): string {
    return this.row.id;
  }

  runningCount(): number {
    let count = 0;
    for (const task of this.tasks.values()) if (task.status === "running") count++;
    return count;
  }

  allFinished(): boolean {
    for (const task of this.tasks.values()) if (!FINISHED.has(task.status)) return false;
    return true;
  }

  scope(): TemplateScope {
    const tasks: TemplateScope["tasks"] = {};
    for (const task of this.tasks.values()) {
      if (task.status === "completed") tasks[task.taskId] = { output: task.output };
    }
    return { input: this.row.input, tasks };
  }

  /** The workflow's output: each completed leaf task's output by task id. */
  leafOutputs(): Record<string, unknown> {
    const output: Record<string, unknown> = {};
    for (const id of this.order) {
      if (this.dependents.has(id)) continue;
      const task = this.tasks.get(id);
      if (task?.status === "completed") output[id] = task.output;
    }
    return output;
  }

  clearTimers(): void {
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    clearTimeout(this.deadlineTimer);
  }
}
