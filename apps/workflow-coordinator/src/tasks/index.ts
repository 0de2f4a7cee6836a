import type { TaskType } from "../definition/schema.ts";
import { delayTask } from "./delay.ts";
import { emitTask } from "./emit.ts";
import { httpTask } from "./http.ts";
import { modelInferTask } from "./model-infer.ts";
import { transformTask } from "./transform.ts";
import type { TaskPorts, TaskRunner } from "./types.ts";

export function createTaskRunners(ports: TaskPorts): Record<TaskType, TaskRunner> {
  return {
    http: httpTask(ports),
    delay: delayTask,
    model_infer: modelInferTask(ports),
    emit: emitTask(ports),
    transform: transformTask,
  };
}
