import { readBody } from "./http.ts";
import type { TaskPorts, TaskRunner } from "./types.ts";

export function modelInferTask(ports: TaskPorts): TaskRunner {
  const endpoint = new URL("/api/v1/model-metrics/infer", ports.modelMetricsUrl).toString();
  return async (params, context) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (ports.modelMetricsApiKey) headers["x-api-key"] = ports.modelMetricsApiKey;
    const request = {
      task_type: params.task_type,
      prompt: params.prompt,
      input: params.input,
      model: params.model,
    };
    const response = await fetch(endpoint, {
      method: "POST",
      headers,
      body: JSON.stringify(request),
      signal: context.signal,
    });
    const body = await readBody(response);
    if (!response.ok) {
      const text = typeof body === "string" ? body : JSON.stringify(body);
      throw new Error(`model-metrics answered ${response.status}: ${text.slice(0, 500)}`);
    }
    return body;
  };
}
