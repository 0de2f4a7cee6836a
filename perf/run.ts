/**
 * Runs the SLA document's scenarios against real Postgres and Redis and the Kafka mock cluster.
 *
 *   bun run perf list                 # the scenarios
 *   bun run perf hooks-heavy          # one (or several) by name
 *   bun run perf all                  # every scenario, then the report (perf/RESULTS.md)
 *
 * PERF_SCALE (default 0.25) scales the document's 60 s fixed-rate runs; PERF_STRESS_SECONDS (default 60)
 * is how long each stress scenario runs instead of its 15 to 60 minutes. Results go to perf/out/.
 */
import { writeReport } from "./lib/report.ts";
import { type ScenarioResult, saveResult } from "./lib/result.ts";
import { type Scenario, scenario, scenarioFile } from "./lib/scenarios.ts";
import { runBatch } from "./scenarios/batch.ts";
import { runLoad } from "./scenarios/load.ts";
import {
  runConnectionExhaustion,
  runFlood,
  runMemoryPressure,
  runSaturation,
  runStorm,
} from "./scenarios/stress.ts";
import { runWorkflows } from "./scenarios/workflow.ts";

const scale = Number(process.env.PERF_SCALE ?? 0.25);
const stressSeconds = Number(process.env.PERF_STRESS_SECONDS ?? 60);

const STRESS: Record<string, (s: Scenario) => Promise<ScenarioResult>> = {
  "stress-webhook-flood": (s) => runFlood(s, { seconds: stressSeconds }),
  "stress-workflow-storm": (s) => runStorm(s, { seconds: stressSeconds }),
  "stress-kafka-saturation": (s) => runSaturation(s, { seconds: stressSeconds }),
  "stress-memory-pressure": (s) => runMemoryPressure(s, { seconds: stressSeconds }),
  "stress-connection-exhaustion": (s) => runConnectionExhaustion(s, { seconds: stressSeconds }),
};

async function run(s: Scenario): Promise<ScenarioResult | undefined> {
  switch (s.kind) {
    case "load":
      return runLoad(s, { scale });
    case "workflow":
      return runWorkflows(s, { scale });
    case "batch":
      return runBatch(s);
    case "stress":
      return STRESS[s.name]?.(s);
  }
}

const args = process.argv.slice(2);
if (args.length === 0 || args[0] === "list") {
  for (const s of scenarioFile.scenarios)
    console.log(`${s.name.padEnd(32)} ${s.kind.padEnd(9)} ${s.service}`);
  process.exit(0);
}
const selected = args[0] === "all" ? scenarioFile.scenarios : args.map(scenario);
let failed = 0;
for (const s of selected) {
  const started = performance.now();
  console.log(`\n== ${s.name}`);
  const result = await run(s);
  if (!result) {
    console.log(`   not run: no runner for ${s.name} on this machine (see perf/RESULTS.md)`);
    continue;
  }
  await saveResult(result);
  for (const row of result.rows) {
    const verdict = row.pass === undefined ? "" : row.pass ? " ok" : " FAIL";
    console.log(
      `   ${row.metric.padEnd(40)} ${String(row.ours).padStart(14)}  doc ${String(row.document ?? "-").padStart(8)}  ${row.threshold ?? ""}${verdict}`,
    );
  }
  if (result.reconciliation)
    console.log(
      `   reconciliation: ${result.reconciliation}${result.reconciled ? "" : "  (VOID: counts do not match)"}`,
    );
  console.log(
    `   ${result.passed ? "PASS" : "FAIL"} in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  if (!result.passed) failed++;
}
if (args[0] === "all") {
  const path = await writeReport();
  console.log(`\nreport: ${path}`);
}
process.exit(failed > 0 ? 1 : 0);
