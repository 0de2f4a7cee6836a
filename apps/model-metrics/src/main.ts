import { runServices } from "../../../shared/run.ts";
import { modelMetricsEntry } from "./entry.ts";

await runServices([modelMetricsEntry]);
