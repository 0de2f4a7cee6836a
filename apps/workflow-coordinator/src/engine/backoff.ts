import type { TaskDefinition } from "../definition/schema.ts";

/** Wait before attempt `failedAttempt + 1`: backoff_ms × factor^(failedAttempt − 1), capped. */
export function retryDelayMs(retry: TaskDefinition["retry"], failedAttempt: number): number {
  const raw = retry.backoff_ms * retry.backoff_factor ** Math.max(0, failedAttempt - 1);
  return Math.min(raw, retry.max_backoff_ms);
}
