import { runServices } from "../../../shared/run.ts";
import { hookReceiverEntry } from "./entry.ts";

await runServices([hookReceiverEntry]);
