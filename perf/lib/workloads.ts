/** Request bodies shared by the benchmarks and the scenario runner. */

export function hookBody(i: number, payloadBytes = 0): string {
  const padding = payloadBytes > 0 ? "x".repeat(Math.max(0, payloadBytes - 200)) : undefined;
  return JSON.stringify({
    source: "github",
    action: "push",
    resource: "repository",
    resource_id: `acme/repo-${i % 997}`,
    correlation_id: `perf-${i}`,
    payload: { ref: "refs/heads/main", after: "9f3c1a7e2b", commits: [{ id: i, message: "perf" }], padding },
  });
}

const SENTENCES = [
  "The release went smoothly and the team is delighted with the new dashboard.",
  "Checkout latency doubled after the deploy and customers are complaining loudly.",
  "Alice from Acme Corp met Bob in Berlin on Tuesday to review the Kafka migration.",
  "Webhook retries, idempotency keys and durable outboxes keep deliveries safe.",
];

export function inferBody(i: number): string {
  const task = (["sentiment", "entities", "keywords"] as const)[i % 3];
  return JSON.stringify({ task_type: task, input: SENTENCES[i % SENTENCES.length] });
}

export function inferBatchBody(items: number, concurrency = 10): string {
  return JSON.stringify({
    items: Array.from({ length: items }, (_, i) => JSON.parse(inferBody(i))),
    concurrency,
  });
}

/**
 * Workflows timed with `delay` and `transform` tasks, so the engine is what gets measured. A simple
 * one is a 3-task chain; a complex one is 10 tasks: 3 parallel branches of 3, then a join.
 */
export function simpleWorkflow(delayMs = 50) {
  return {
    name: "perf-simple",
    max_parallel_tasks: 3,
    timeout_ms: 60_000,
    tasks: [
      { id: "fetch", type: "delay", depends_on: [], params: { ms: delayMs } },
      {
        id: "shape",
        type: "transform",
        depends_on: ["fetch"],
        params: { expression: "{'n': $count(input.items)}" },
      },
      { id: "settle", type: "delay", depends_on: ["shape"], params: { ms: delayMs } },
    ],
  };
}

export function complexWorkflow(delayMs = 50) {
  const tasks: { id: string; type: string; depends_on: string[]; params: Record<string, unknown> }[] = [];
  for (const branch of ["a", "b", "c"]) {
    tasks.push({ id: `${branch}1`, type: "delay", depends_on: [], params: { ms: delayMs } });
    tasks.push({
      id: `${branch}2`,
      type: "transform",
      depends_on: [`${branch}1`],
      params: { expression: "{'branch': true}" },
    });
    tasks.push({ id: `${branch}3`, type: "delay", depends_on: [`${branch}2`], params: { ms: delayMs } });
  }
  return {
    name: "perf-complex",
    max_parallel_tasks: 3,
    timeout_ms: 120_000,
    tasks: [
      ...tasks,
      {
        id: "join",
        type: "transform",
        depends_on: ["a3", "b3", "c3"],
        params: { expression: "{'done': true}" },
      },
    ],
  };
}

export function executeBody(definition: unknown): string {
  return JSON.stringify({ workflow_definition: definition, input: { items: [1, 2, 3] } });
}
