import { runServices } from "../../../shared/run.ts";
import { workflowCoordinatorEntry } from "./entry.ts";

await runServices([workflowCoordinatorEntry]);
