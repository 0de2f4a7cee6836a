import { counter, gauge, histogram, LATENCY_BUCKETS, type Registry } from "../../../shared/metrics.ts";

const RUN_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

export function createCoordinatorMetrics(registry: Registry) {
  return {
    runsStarted: counter(registry, {
      name: "workflow_runs_started_total",
      help: "Workflow runs created, by definition name",
      labelNames: ["definition"],
    }),
    runsFinished: counter(registry, {
      name: "workflow_runs_finished_total",
      help: "Workflow runs that reached a terminal state, by definition name and status",
      labelNames: ["definition", "status"],
    }),
    activeRuns: gauge(registry, {
      name: "workflow_runs_active",
      help: "Active workflow runs owned by this instance",
      labelNames: [],
    }),
    runDuration: histogram(registry, {
      name: "workflow_run_duration_seconds",
      help: "Run duration from start to terminal state, by definition name and status",
      labelNames: ["definition", "status"],
      buckets: RUN_BUCKETS,
    }),
    taskDuration: histogram(registry, {
      name: "workflow_task_duration_seconds",
      help: "Task attempt duration by task type and outcome",
      labelNames: ["type", "status"],
      buckets: RUN_BUCKETS,
    }),
    schedulerLag: histogram(registry, {
      name: "workflow_scheduler_lag_seconds",
      help: "Time from a task becoming ready to its attempt starting",
      labelNames: [],
      buckets: LATENCY_BUCKETS,
    }),
    leaseClaims: counter(registry, {
      name: "workflow_lease_claims_total",
      help: "Runs this instance claimed after their lease was released or expired",
      labelNames: [],
    }),
    recoveries: counter(registry, {
      name: "workflow_attempt_recoveries_total",
      help: "Task attempts found running under a lost owner and scheduled again",
      labelNames: [],
    }),
    leasesLost: counter(registry, {
      name: "workflow_leases_lost_total",
      help: "Runs this instance dropped because it could no longer prove its lease",
      labelNames: [],
    }),
    completionsPublished: counter(registry, {
      name: "workflow_completions_published_total",
      help: "Messages published to workflow.completions",
      labelNames: [],
    }),
  };
}

export type CoordinatorMetrics = ReturnType<typeof createCoordinatorMetrics>;
