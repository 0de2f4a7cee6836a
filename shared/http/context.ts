import type { Context } from "hono";
import type { Logger } from "../logger.ts";

export interface AppVariables {
  requestId: string;
  rootLogger: Logger;
  requestLogger: Logger | undefined;
  apiKey: string | undefined;
}

export type AppEnv = { Variables: AppVariables };

/** The request's logger, made on first use so requests that log nothing allocate no child. */
export function requestLog(c: Context<AppEnv>): Logger {
  let log = c.var.requestLogger;
  if (!log) {
    log = c.var.rootLogger.child({ request_id: c.var.requestId });
    c.set("requestLogger", log);
  }
  return log;
}
