/** Rebuilds perf/RESULTS.md and perf/charts from the results already in perf/out. */
import { writeReport } from "./lib/report.ts";

console.log(await writeReport());
