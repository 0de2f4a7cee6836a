import type { TaskPorts, TaskRunner } from "./types.ts";

export function emitTask(ports: TaskPorts): TaskRunner {
  return async (params, context) => {
    const topic = String(params.topic);
    const key = params.key === undefined ? `${context.runId}:${context.taskId}` : String(params.key);
    await ports.bus.publish(topic, [
      {
        key,
        value: JSON.stringify(params.value ?? null),
        headers: { "workflow-id": context.runId, "task-id": context.taskId },
      },
    ]);
    return { topic, key };
  };
}
