/**
 * Hook receiver scenarios: load at fixed rates, the webhook flood ramp and Kafka saturation.
 *
 *   k6 run -e SCENARIO=hooks-heavy -e API_KEY=... perf/k6/hook-receiver.ts
 */
import exec from "k6/execution";
import http from "k6/http";
import { preflight, recordResponse, type SummaryData, summaryFiles } from "./lib/outcome.ts";
import { API_KEY, healthCall, hookCall, send } from "./lib/requests.ts";
import { optionsFor, requestIterationTime, selectScenario } from "./lib/scenarios.ts";

const scenario = selectScenario("hook-receiver", "hooks-light");

export const options = optionsFor(scenario, requestIterationTime(scenario));

// 202 is an accepted event; 200 a duplicate (none are sent, but it is still a success to a sender).
http.setResponseCallback(http.expectedStatuses(200, 202));

interface SetupData {
  runId: string;
}

export function setup(): SetupData {
  preflight(send(healthCall("hook-receiver")).status, "hook-receiver", API_KEY);
  // Tags this run's events (correlation_id) so they can be found in Kafka and Postgres afterwards.
  return { runId: `k6-${scenario.name}-${Date.now().toString(36)}` };
}

export default function (data: SetupData): void {
  const res = send(hookCall(scenario, exec.scenario.iterationInTest, data.runId));
  recordResponse(res, [202, 200]);
}

export function handleSummary(data: SummaryData): Record<string, string> {
  return summaryFiles(scenario, data);
}
