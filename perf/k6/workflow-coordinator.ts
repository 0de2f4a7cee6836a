/**
 * Workflow coordinator scenarios: simple and complex workflows timed end to end, status reads, and
 * the complex workflow storm.
 *
 *   k6 run -e SCENARIO=workflows-simple-medium -e API_KEY=... perf/k6/workflow-coordinator.ts
 */

import { sleep } from "k6";
import exec from "k6/execution";
import http from "k6/http";
import {
  preflight,
  recordResponse,
  type SummaryData,
  summaryFiles,
  workflowExecution,
  workflowFailed,
} from "./lib/outcome.ts";
import {
  API_KEY,
  healthCall,
  send,
  TYPICAL_EXECUTION_S,
  workflowExecuteCall,
  workflowStatusCall,
} from "./lib/requests.ts";
import {
  type IterationTime,
  optionsFor,
  type RequestKind,
  requestIterationTime,
  selectScenario,
} from "./lib/scenarios.ts";

const scenario = selectScenario("workflow-coordinator", "workflows-simple-light");

function workflowRequest(kind: RequestKind): "workflow-simple" | "workflow-complex" | "workflow-status" {
  if (kind === "workflow-simple" || kind === "workflow-complex" || kind === "workflow-status") return kind;
  throw new Error(`scenario ${scenario.name}: request ${kind} is not a workflow request`);
}
const request = workflowRequest(scenario.request);

/** A run not terminal by twice its SLA bound is counted as failed rather than waited for. */
const executionBoundS = scenario.sla?.execution_s ?? scenario.criteria?.mean_execution_s ?? 300;
const WAIT_LIMIT_MS = 2 * executionBoundS * 1000;

function iterationTime(): IterationTime {
  if (request === "workflow-status") return requestIterationTime(scenario);
  return { typical_s: TYPICAL_EXECUTION_S[request], worst_s: executionBoundS };
}

export const options = optionsFor(scenario, iterationTime());

http.setResponseCallback(http.expectedStatuses(200, 202));

const TERMINAL = ["completed", "failed", "cancelled"];
/** Runs created in setup for the status scenarios to read. */
const STATUS_RUNS = Number(__ENV.STATUS_RUNS || 200);

interface SetupData {
  ids: string[];
}

export function setup(): SetupData {
  preflight(send(healthCall("workflow-coordinator")).status, "workflow-coordinator", API_KEY);
  if (request !== "workflow-status") return { ids: [] };
  const ids: string[] = [];
  for (let i = 0; i < STATUS_RUNS; i++) {
    const res = send(workflowExecuteCall("workflow-simple", i));
    if (res.status !== 202 && res.status !== 200) {
      exec.test.abort(`setup could not start a workflow: ${res.status} ${String(res.body)}`);
    }
    ids.push(String(res.json("workflow_id")));
  }
  return { ids };
}

/** Polls until the run is terminal; starts fast for short runs and backs off for long ones. */
function waitTerminal(id: string, startedAt: number): string | null {
  let pause = 0.1;
  while (Date.now() - startedAt < WAIT_LIMIT_MS) {
    sleep(pause);
    pause = Math.min(1, pause * 1.5);
    const res = send(workflowStatusCall(id));
    if (!recordResponse(res, [200])) continue;
    const status = String(res.json("status"));
    if (TERMINAL.includes(status)) return status;
  }
  return null;
}

export default function (data: SetupData): void {
  const seq = exec.scenario.iterationInTest;
  if (request === "workflow-status") {
    const id = data.ids[seq % data.ids.length] ?? "";
    recordResponse(send(workflowStatusCall(id)), [200]);
    return;
  }
  const startedAt = Date.now();
  const started = send(workflowExecuteCall(request, seq));
  if (!recordResponse(started, [202])) {
    workflowFailed.add(true);
    return;
  }
  const status = waitTerminal(String(started.json("workflow_id")), startedAt);
  // Timed from just before the execute call to the poll that saw the end: what a caller waits,
  // overstated by at most one poll interval (1 s).
  if (status !== null) workflowExecution.add(Date.now() - startedAt);
  workflowFailed.add(status !== "completed");
}

export function handleSummary(data: SummaryData): Record<string, string> {
  return summaryFiles(scenario, data);
}
