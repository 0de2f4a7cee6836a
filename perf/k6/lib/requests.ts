/**
 * One builder per `request` kind of perf/scenarios.json, following the HTTP contracts of
 * ARCHITECTURE.md. Builders only describe a call; `send` makes it.
 */
import http, { type Params, type RefinedResponse, type ResponseType } from "k6/http";
import type { ScenarioDef, ServiceName } from "./scenarios.ts";

// 127.0.0.1 rather than localhost: the services listen on IPv4, and a resolver that tries ::1 first
// would add a refused connection to every new socket.
export const BASE_URL: Record<ServiceName, string> = {
  "hook-receiver": __ENV.HOOK_RECEIVER_URL || "http://127.0.0.1:8001",
  "model-metrics": __ENV.MODEL_METRICS_URL || "http://127.0.0.1:8002",
  "workflow-coordinator": __ENV.WORKFLOW_COORDINATOR_URL || "http://127.0.0.1:8003",
};

export const API_KEY = __ENV.API_KEY || "";

export interface Call {
  method: "GET" | "POST";
  url: string;
  body: string | null;
  params: Params;
}

export function send(call: Call): RefinedResponse<ResponseType | undefined> {
  return http.request(call.method, call.url, call.body, call.params);
}

function jsonHeaders(): Record<string, string> {
  return { "Content-Type": "application/json", "X-API-Key": API_KEY };
}

/** Seconds from the environment, for the timeouts a user may want to match to their own senders. */
function seconds(name: string, fallback: number): string {
  const raw = __ENV[name];
  const value = raw ? Number(raw) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return `${value}s`;
}

// ---- hook receiver ----------------------------------------------------------------------------

// Built once per VU: slicing it is cheaper than generating random text on every iteration, and its
// alphabet needs no JSON escaping, so string length equals byte count.
const FILLER = (() => {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  let text = "";
  for (let i = 0; i < 10240; i++) text += alphabet.charAt(Math.floor(Math.random() * alphabet.length));
  return text;
})();

const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

// Senders such as GitHub give up on a delivery after 10 s; a hook slower than that is lost to them.
const HOOK_TIMEOUT = seconds("HOOK_TIMEOUT_S", 10);

/**
 * `hook`: the generic intake body. `hook-variable` / `hook-5kb`: the same, padded so that the whole
 * body is `payload_bytes` long. The source is "k6" so no trigger a user registered for real
 * providers starts a workflow from load traffic.
 */
export function hookCall(scenario: ScenarioDef, seq: number, runId: string): Call {
  const envelope = {
    source: "k6",
    action: "push",
    resource: "repository",
    // A bounded set of ids spreads events over every Kafka partition while keeping per-key order.
    resource_id: `repo-${seq % 1000}`,
    correlation_id: `${runId}-${seq}`,
  };
  let body: string;
  if (scenario.request === "hook") {
    body = JSON.stringify({ ...envelope, payload: { ref: "refs/heads/main", commits: 1, seq } });
  } else {
    const size = scenario.payload_bytes ?? { min: 1024, max: 10240 };
    const target = randomInt(size.min, size.max);
    const bare = JSON.stringify({ ...envelope, payload: { seq, blob: "" } }).length;
    const blob = FILLER.slice(0, Math.max(0, target - bare));
    body = JSON.stringify({ ...envelope, payload: { seq, blob } });
  }
  return {
    method: "POST",
    url: `${BASE_URL["hook-receiver"]}/api/v1/hooks/receive`,
    body,
    // The 202 body is not used; not keeping it saves the load generator's memory at high rates.
    params: { headers: jsonHeaders(), timeout: HOOK_TIMEOUT, responseType: "none" },
  };
}

// ---- model metrics ----------------------------------------------------------------------------

// A builtin task type: served in-process, so the run measures the service and not a model host.
const TASK_TYPE = __ENV.TASK_TYPE || "sentiment";

const TEXTS = [
  "The delivery was fast and the support team answered every question.",
  "The update broke the export and nobody replied to my ticket for a week.",
  "Setup took ten minutes; the dashboard is clear but the alerts are noisy.",
  "Great value for the price, though the documentation could be better.",
  "The service went down twice during our launch and we lost orders.",
];

function inferItem(seq: number): { task_type: string; input: string } {
  return { task_type: TASK_TYPE, input: TEXTS[seq % TEXTS.length] ?? "" };
}

export function inferCall(seq: number): Call {
  return {
    method: "POST",
    url: `${BASE_URL["model-metrics"]}/api/v1/model-metrics/infer`,
    body: JSON.stringify(inferItem(seq)),
    params: { headers: jsonHeaders() },
  };
}

export function inferBatchCall(scenario: ScenarioDef, seq: number): Call {
  const items = Array.from({ length: scenario.items ?? 100 }, (_, i) => inferItem(seq + i));
  // Four times the per-batch SLA, the document's alert level: beyond it the batch is a failure anyway.
  const timeout = `${4 * (scenario.sla?.batch_s ?? 30)}s`;
  return {
    method: "POST",
    url: `${BASE_URL["model-metrics"]}/api/v1/model-metrics/infer/batch`,
    body: JSON.stringify({ items }),
    params: { headers: jsonHeaders(), timeout },
  };
}

// ---- workflow coordinator ---------------------------------------------------------------------

interface TaskDef {
  id: string;
  type: "delay" | "transform";
  depends_on: string[];
  params: Record<string, unknown>;
}

const delay = (id: string, ms: number, after: string[]): TaskDef => ({
  id,
  type: "delay",
  depends_on: after,
  params: { ms },
});
const transform = (id: string, expression: string, after: string[]): TaskDef => ({
  id,
  type: "transform",
  depends_on: after,
  params: { expression },
});

/** Three tasks in a chain. Delay and transform keep the timing on the engine, not on a model or a URL. */
export function simpleDefinition() {
  return {
    name: "k6-simple",
    max_parallel_tasks: 1,
    timeout_ms: 120_000,
    tasks: [
      delay("wait", 50, []),
      transform("price", '{"order": input.order_id, "total": input.amount * 1.2}', ["wait"]),
      transform("route", 'tasks.price.output.total > 100 ? "review" : "auto"', ["price"]),
    ],
  };
}

/** Ten tasks: a fan-out into three parallel branches of two, a join, then two more in a chain. */
export function complexDefinition() {
  return {
    name: "k6-complex",
    max_parallel_tasks: 3,
    timeout_ms: 900_000,
    tasks: [
      transform("intake", '{"order": input.order_id, "amount": input.amount}', []),
      delay("a_wait", 100, ["intake"]),
      transform("a_score", "tasks.intake.output.amount * 2", ["a_wait"]),
      delay("b_wait", 200, ["intake"]),
      transform("b_tax", "tasks.intake.output.amount * 0.2", ["b_wait"]),
      delay("c_wait", 50, ["intake"]),
      transform("c_label", '"order-" & $string(tasks.intake.output.order)', ["c_wait"]),
      transform(
        "join",
        '{"score": tasks.a_score.output, "tax": tasks.b_tax.output, "label": tasks.c_label.output}',
        ["a_score", "b_tax", "c_label"],
      ),
      delay("settle", 50, ["join"]),
      transform("report", '$merge([tasks.join.output, {"settled": true}])', ["settle"]),
    ],
  };
}

/**
 * Typical end-to-end seconds of each definition as a client sees it: the delays on its critical
 * path, engine overhead per task, and the first status polls. Used only to size k6's VU pool.
 */
export const TYPICAL_EXECUTION_S = { "workflow-simple": 1, "workflow-complex": 2 } as const;

export function workflowExecuteCall(kind: "workflow-simple" | "workflow-complex", seq: number): Call {
  const workflow_definition = kind === "workflow-simple" ? simpleDefinition() : complexDefinition();
  return {
    method: "POST",
    url: `${BASE_URL["workflow-coordinator"]}/api/v1/workflows/execute`,
    body: JSON.stringify({ workflow_definition, input: { order_id: seq, amount: 50 + (seq % 100) } }),
    params: { headers: jsonHeaders(), tags: { name: "POST /api/v1/workflows/execute" } },
  };
}

export function workflowStatusCall(id: string): Call {
  return {
    method: "GET",
    url: `${BASE_URL["workflow-coordinator"]}/api/v1/workflows/${encodeURIComponent(id)}/status`,
    body: null,
    // One name for every id: a URL per workflow would make a time series per workflow.
    params: { headers: { "X-API-Key": API_KEY }, tags: { name: "GET /api/v1/workflows/{id}/status" } },
  };
}

export function healthCall(service: ServiceName): Call {
  return { method: "GET", url: `${BASE_URL[service]}/health`, body: null, params: {} };
}
