/**
 * The scenarios of perf/scenarios.json (shared with the runner, so the two cannot drift) and their
 * translation into k6 options: open-model executors, and thresholds from the SLA so that k6 exits
 * non-zero on a breach.
 */
import type { Scenario as K6Scenario, Options, Threshold } from "k6/options";

export type ServiceName = "hook-receiver" | "model-metrics" | "workflow-coordinator";

export type RequestKind =
  | "hook"
  | "hook-variable"
  | "hook-5kb"
  | "infer"
  | "infer-batch"
  | "workflow-simple"
  | "workflow-complex"
  | "workflow-status"
  | "mixed";

export interface ServiceSla {
  p95_ms: number;
  p99_ms: number;
  error_rate: number;
}

export interface StressCriteria {
  p95_ms?: number;
  error_rate?: number;
  shed_with_retry_after?: boolean;
  no_timeouts?: boolean;
  all_complete?: boolean;
  mean_execution_s?: number;
  [other: string]: number | boolean | undefined;
}

export interface ScenarioDef {
  name: string;
  service: ServiceName | "all";
  kind: "load" | "batch" | "workflow" | "stress";
  request: RequestKind;
  rate?: number;
  ramp?: { from: number; to: number };
  concurrent?: number;
  duration_s?: number;
  items?: number;
  batches?: number;
  tasks?: number;
  parallel?: number;
  payload_bytes?: { min: number; max: number };
  sla?: { batch_s?: number; execution_s?: number };
  criteria?: StressCriteria;
  document?: Record<string, number>;
}

export interface ScenarioFile {
  services: Record<ServiceName, { port: number; sla: ServiceSla }>;
  scenarios: ScenarioDef[];
}

// open() resolves a relative path against the entry script, not this module; import.meta.resolve
// makes the path relative to this file whichever script imports it.
export const SCENARIO_FILE = JSON.parse(open(import.meta.resolve("../../scenarios.json"))) as ScenarioFile;

/** Thresholds read by the scripts; stress criteria replace the service's SLA where they name a figure. */
export interface Limits {
  p95_ms: number;
  p99_ms?: number;
  error_rate: number;
}

export function serviceOf(scenario: ScenarioDef): ServiceName {
  if (scenario.service === "all") {
    throw new Error(`scenario ${scenario.name} spans every service; it needs the runner (bun run perf)`);
  }
  return scenario.service;
}

export function limitsOf(scenario: ScenarioDef): Limits {
  const sla = SCENARIO_FILE.services[serviceOf(scenario)].sla;
  const criteria = scenario.criteria ?? {};
  if (criteria.p95_ms !== undefined) {
    // A stress p95 is looser than the service p99, so the service p99 would fail every flood run.
    return { p95_ms: criteria.p95_ms, error_rate: criteria.error_rate ?? sla.error_rate };
  }
  return { p95_ms: sla.p95_ms, p99_ms: sla.p99_ms, error_rate: criteria.error_rate ?? sla.error_rate };
}

/**
 * The scenario named by `-e SCENARIO=` (else `fallback`), checked to belong to `service` so that a
 * hook scenario is not run against the coordinator by mistake.
 */
export function selectScenario(service: ServiceName, fallback: string): ScenarioDef {
  const name = __ENV.SCENARIO || fallback;
  const own = SCENARIO_FILE.scenarios.filter((s) => s.service === service);
  const found = own.find((s) => s.name === name);
  if (!found) {
    const names = own.map((s) => s.name).join(", ");
    throw new Error(`unknown scenario "${name}" for ${service}; choose one of: ${names}`);
  }
  return scaled(found);
}

const positive = (name: string): number | undefined => {
  const raw = __ENV[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return value;
};

/** `-e RATE_FACTOR=` and `-e DURATION_S=` shrink a scenario for a smoke run without editing the file. */
function scaled(scenario: ScenarioDef): ScenarioDef {
  const factor = positive("RATE_FACTOR") ?? 1;
  const duration = positive("DURATION_S");
  // k6 takes whole iterations per time unit.
  const rate = (r: number) => Math.max(1, Math.round(r * factor));
  return {
    ...scenario,
    rate: scenario.rate === undefined ? undefined : rate(scenario.rate),
    ramp: scenario.ramp && { from: rate(scenario.ramp.from), to: rate(scenario.ramp.to) },
    concurrent: scenario.concurrent === undefined ? undefined : rate(scenario.concurrent),
    duration_s: duration ?? scenario.duration_s,
  };
}

/** How long one iteration holds its VU: usually, and at worst before the SLA is already broken. */
export interface IterationTime {
  typical_s: number;
  worst_s: number;
}

/** One request per iteration: its SLA latency bounds the iteration. */
export function requestIterationTime(scenario: ScenarioDef): IterationTime {
  const limits = limitsOf(scenario);
  return { typical_s: limits.p95_ms / 1000, worst_s: (limits.p99_ms ?? 2 * limits.p95_ms) / 1000 };
}

const MIN_VUS = 2;

/**
 * VUs by Little's law: in-flight iterations = arrival rate × time each takes. Pre-allocated for the
 * typical time; the cap allows twice the worst time so that a slow server shows up as a latency
 * breach before k6 runs out of VUs and drops iterations. `-e PRE_ALLOCATED_VUS=` / `-e MAX_VUS=`
 * override both for a load generator with less memory.
 */
function vus(rate: number, time: IterationTime): { preAllocatedVUs: number; maxVUs: number } {
  const preAllocatedVUs =
    positive("PRE_ALLOCATED_VUS") ?? Math.max(MIN_VUS, Math.ceil(rate * time.typical_s));
  const maxVUs = positive("MAX_VUS") ?? Math.max(preAllocatedVUs, Math.ceil(rate * time.worst_s * 2));
  return { preAllocatedVUs, maxVUs };
}

function required<T>(value: T | undefined, field: string, scenario: ScenarioDef): T {
  if (value === undefined) throw new Error(`scenario ${scenario.name} has no ${field}`);
  return value;
}

/** Iterations k6 should start over the whole run, for the dropped_iterations budget. */
export function expectedIterations(scenario: ScenarioDef): number {
  const duration = scenario.duration_s ?? 0;
  if (scenario.ramp) return ((scenario.ramp.from + scenario.ramp.to) / 2) * duration; // linear ramp
  if (scenario.rate !== undefined) return scenario.rate * duration;
  return scenario.batches ?? 0;
}

export function executorOf(scenario: ScenarioDef, time: IterationTime): K6Scenario {
  // Iterations still running at the end may finish (never less than k6's own 30 s): a request or a
  // workflow cut off there would be lost from the figures.
  const gracefulStop = `${Math.max(30, Math.ceil(time.worst_s * 2))}s`;
  if (scenario.ramp) {
    const duration = required(scenario.duration_s, "duration_s", scenario);
    return {
      executor: "ramping-arrival-rate",
      startRate: scenario.ramp.from,
      timeUnit: "1s",
      stages: [{ duration: `${duration}s`, target: scenario.ramp.to }],
      ...vus(scenario.ramp.to, time),
      gracefulStop,
    };
  }
  if (scenario.rate !== undefined) {
    return {
      executor: "constant-arrival-rate",
      rate: scenario.rate,
      timeUnit: "1s",
      duration: `${required(scenario.duration_s, "duration_s", scenario)}s`,
      ...vus(scenario.rate, time),
      gracefulStop,
    };
  }
  if (scenario.concurrent !== undefined) {
    // The storm is defined by how many workflows are in flight, not by an arrival rate: a closed
    // model holds exactly that many, whatever the coordinator's pace.
    return {
      executor: "constant-vus",
      vus: scenario.concurrent,
      duration: `${required(scenario.duration_s, "duration_s", scenario)}s`,
      gracefulStop,
    };
  }
  if (scenario.batches !== undefined) {
    // Batches run one after another: the SLA is per batch, and overlapping them would time the queue.
    return {
      executor: "shared-iterations",
      vus: 1,
      iterations: scenario.batches,
      maxDuration: `${Math.ceil(scenario.batches * time.worst_s * 2)}s`,
      gracefulStop,
    };
  }
  throw new Error(`scenario ${scenario.name} has neither rate, ramp, concurrent nor batches`);
}

/** Custom metrics every script declares (lib/outcome.ts), so any threshold on them is valid. */
export const METRICS = {
  shedWithoutRetryAfter: "shed_without_retry_after",
  timeouts: "request_timeouts",
  workflowExecution: "workflow_execution_ms",
  workflowFailed: "workflow_failed",
  batchItemFailed: "batch_item_failed",
} as const;

export function thresholdsOf(scenario: ScenarioDef): Record<string, Threshold[]> {
  const tag = `{scenario:${scenario.name}}`;
  const limits = limitsOf(scenario);
  const criteria = scenario.criteria ?? {};
  const thresholds: Record<string, Threshold[]> = {
    [`http_req_failed${tag}`]: [`rate<${limits.error_rate}`],
    // A 503/429 without Retry-After breaks the contract in any scenario, not only under stress.
    [`${METRICS.shedWithoutRetryAfter}${tag}`]: ["rate==0"],
  };

  if (scenario.kind === "batch") {
    const batchS = required(scenario.sla?.batch_s, "sla.batch_s", scenario);
    // The SLA bounds every batch, and five samples make a percentile meaningless.
    thresholds[`http_req_duration${tag}`] = [`max<${batchS * 1000}`];
    thresholds[`${METRICS.batchItemFailed}${tag}`] = [`rate<${limits.error_rate}`];
  } else {
    const latency = [`p(95)<${limits.p95_ms}`];
    if (limits.p99_ms !== undefined) latency.push(`p(99)<${limits.p99_ms}`);
    thresholds[`http_req_duration${tag}`] = latency;
  }

  const executionS = scenario.sla?.execution_s;
  if (executionS !== undefined) {
    // "Workflow execution < N s" read as: 99 of 100 runs, end to end as the client sees it.
    thresholds[`${METRICS.workflowExecution}${tag}`] = [`p(99)<${executionS * 1000}`];
  }
  if (criteria.mean_execution_s !== undefined) {
    thresholds[`${METRICS.workflowExecution}${tag}`] = [`avg<${criteria.mean_execution_s * 1000}`];
  }
  if (scenario.kind === "workflow" || criteria.all_complete !== undefined) {
    const budget = criteria.all_complete ? 0 : limits.error_rate;
    thresholds[`${METRICS.workflowFailed}${tag}`] = [budget === 0 ? "rate==0" : `rate<${budget}`];
  }
  if (criteria.no_timeouts) thresholds[`${METRICS.timeouts}${tag}`] = ["rate==0"];

  const expected = expectedIterations(scenario);
  if (expected > 0 && scenario.concurrent === undefined) {
    // Dropped iterations mean the load was not offered at all; report it, but let the run finish so
    // that the latency figures of what was sent still come out.
    const budget = Math.max(1, Math.ceil(expected * 0.01));
    thresholds[`dropped_iterations${tag}`] = [{ threshold: `count<${budget}`, abortOnFail: false }];
  }
  return thresholds;
}

export function optionsFor(scenario: ScenarioDef, time: IterationTime): Options {
  return {
    scenarios: { [scenario.name]: executorOf(scenario, time) },
    thresholds: thresholdsOf(scenario),
    summaryTrendStats: ["avg", "min", "med", "p(90)", "p(95)", "p(99)", "max", "count"],
    // Setup may create many workflows before the status scenarios can read them.
    setupTimeout: "120s",
  };
}
