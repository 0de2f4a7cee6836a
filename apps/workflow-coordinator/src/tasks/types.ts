import type { EventBus } from "../../../../shared/bus/interface.ts";
import type { TemplateScope } from "../engine/templating.ts";

export interface TaskContext {
  runId: string;
  taskId: string;
  attempt: number;
  /** Aborts on the task's timeout, on cancel, and when this instance loses the run's lease. */
  signal: AbortSignal;
  /** The run's input and finished tasks' outputs, for tasks that compute over them. */
  scope: TemplateScope;
}

/** What the task types need from the outside world, injected by app.ts. */
export interface TaskPorts {
  bus: EventBus;
  modelMetricsUrl: string;
  modelMetricsApiKey: string | undefined;
  allowPrivateHttp: boolean;
}

/** Runs one attempt with params already templated; resolves with the task's output. */
export type TaskRunner = (params: Record<string, unknown>, context: TaskContext) => Promise<unknown>;

/** A failure that another attempt cannot fix (a refused address, a bad parameter). */
export class PermanentTaskError extends Error {
  override name = "PermanentTaskError";
}
