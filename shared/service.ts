import type { Hono } from "hono";
import type { AppEnv } from "./http/context.ts";

/** What every app.ts builds: the HTTP app plus the background work it owns (consumers, relays). */
export interface Service {
  name: string;
  app: Hono<AppEnv>;
  /** Starts background work; resolves once it runs. */
  start(): Promise<void>;
  /** Stops background work, finishing what is in hand. */
  stop(): Promise<void>;
}
