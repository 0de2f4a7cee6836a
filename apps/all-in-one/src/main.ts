import { runServices } from "../../../shared/run.ts";
import { hookReceiverEntry } from "../../hook-receiver/src/entry.ts";
import { modelMetricsEntry } from "../../model-metrics/src/entry.ts";
import { workflowCoordinatorEntry } from "../../workflow-coordinator/src/entry.ts";

// All three services in one process on one platform: with no infrastructure configured this is the
// embedded default (PGlite, in-process bus, in-memory cache); with it, a compact single-node deployment.
await runServices([hookReceiverEntry, modelMetricsEntry, workflowCoordinatorEntry]);
