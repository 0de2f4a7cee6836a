import { runStep } from "./lib/open-loop.ts";
import { reconcileHooks } from "./lib/reconcile.ts";
import { startStack } from "./lib/stack.ts";
import { hookBody } from "./lib/workloads.ts";

const stack = await startStack(process.env.SPLIT ? ["hook-receiver", "hook-persister"] : ["hook-receiver"]);
const url = stack.urls["hook-receiver"]!;
const rate = Number(process.env.PROBE_RATE ?? 8000);
const t0 = performance.now();
const r = await runStep({
  rate,
  durationS: Number(process.env.PROBE_SECONDS ?? 10),
  makeRequest: (i) =>
    new Request(`${url}/api/v1/hooks/receive`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": stack.apiKey },
      body: hookBody(i),
    }),
});
console.log(
  rate,
  "p50",
  r.p50.toFixed(2),
  "p99",
  r.p99.toFixed(2),
  "achieved",
  r.achievedRps.toFixed(0),
  JSON.stringify(r.statuses),
);
const c = await reconcileHooks(stack, r.statuses[202] ?? 0);
console.log(c.text, "after", ((performance.now() - t0) / 1000).toFixed(1), "s");
await stack.stop();
